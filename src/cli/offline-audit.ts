// The audit trail of a CLI command that changes the van while its daemon is stopped (a watchlist
// import or purge, an alerts purge): written to the van's own log (paths.stateDir), with the actor
// the KERNEL gives for this process (its real uid, as SO_PEERCRED gives the daemon), never a name
// the caller types or an environment variable (SUDO_USER is whatever the caller exports).
import { AuditLog, auditFile, type AuditFields } from '../audit/log.js';
import type { Config } from '../config/schema.js';
import { systemClock } from '../lifecycle.js';
import { userName } from '../control/peer.js';

/** This process's OS user, by uid (the kernel's word), e.g. "root", "alice" or "uid:1234". */
export function kernelActor(): string {
  return userName(process.getuid?.() ?? -1);
}

/** The van's audit log, open for appending (close it when done). */
export function openVanAudit(cfg: Config): AuditLog {
  return new AuditLog(auditFile(cfg), systemClock, false, cfg.watchlist.vanKeyFile).open();
}

/** Append one entry by this process's kernel actor; the log is opened and closed around it. */
export function auditOffline(cfg: Config, type: string, fields: AuditFields): void {
  const log = openVanAudit(cfg);
  try {
    log.record(type, fields, kernelActor());
  } finally {
    log.close();
  }
}
