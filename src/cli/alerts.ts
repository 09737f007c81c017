// `lfr alerts list [--json] [--with-images]`: alerts held in the van (at most 24 h old), newest
// first; images only when asked (they are personal data on screen). `lfr alerts purge [--all]`:
// run the retention purge now (expired alerts), or delete every alert; audited with the
// operator's name.
import { existsSync } from 'node:fs';
import os from 'node:os';
import type { Command } from 'commander';
import { loadConfig } from '../config/load.js';
import { AlertStore } from '../alerts/store.js';
import { alertKeyDir, alertStoreFile } from '../alerts/service.js';
import { AlertKeyStore } from '../crypto/alert-keys.js';
import { AuditLog, auditFile } from '../audit/log.js';
import { policyFromHours } from '../retention/policy.js';
import { systemClock } from '../lifecycle.js';
import { action, CliError, emit, EXIT } from './output.js';

const operator = (o: { operator?: string }) => o.operator ?? process.env.SUDO_USER ?? os.userInfo().username;

export function register(program: Command): void {
  const alerts = program.command('alerts').description('alerts held in the van (encrypted, deleted within 24 h)');
  alerts
    .command('list')
    .description('alerts held now, newest first')
    .option('--json', 'machine-readable output')
    .option('--with-images', 'include the base64 JPEGs (face, context, reference) in --json output')
    .action(
      action((opts: { json?: boolean; withImages?: boolean }) => {
        const cfg = loadConfig(program.opts<{ config?: string }>().config);
        const file = alertStoreFile(cfg);
        if (!existsSync(file)) {
          emit(opts, () => '(no alerts)', () => ({ alerts: [] }));
          return EXIT.ok;
        }
        const store = new AlertStore(file, new AlertKeyStore(alertKeyDir(cfg)), true).open();
        try {
          const rows = store.list(10_000).map((r) => {
            const p = store.content(r.id);
            const base = {
              id: r.id,
              deploymentId: r.deploymentId,
              camera: r.camera,
              capturedAt: new Date(r.capturedAt).toISOString(),
              expiresAt: new Date(r.expiresAt).toISOString(),
              likelihood: r.likelihood,
              threshold: r.threshold,
              published: r.publishedAt !== null,
              outcome: r.outcome,
              officerId: r.officerId,
              engagement: r.engagement,
              subjectRef: p?.subjectRef ?? null,
              category: r.category,
              readable: p !== null,
            };
            return opts.withImages && p ? { ...base, faceJpeg: p.faceJpeg, contextJpeg: p.contextJpeg, referenceJpeg: p.referenceJpeg } : base;
          });
          emit(
            opts,
            () =>
              rows.length
                ? rows.map((r) => `${r.id}  ${r.capturedAt}  ${r.camera}  score ${r.likelihood.toFixed(3)}/${r.threshold}  ${r.subjectRef ?? '(unreadable: key gone)'}  ${r.published ? 'sent' : 'queued'}  ${r.outcome ?? 'undecided'}${r.engagement ? ` (${r.engagement})` : ''}${r.officerId ? ` by ${r.officerId}` : ''}`).join('\n')
                : '(no alerts)',
            () => ({ alerts: rows }),
          );
          return EXIT.ok;
        } finally {
          store.close();
        }
      }),
    );
  alerts
    .command('purge')
    .description('delete expired alerts now (the daemon also does this every minute); --all deletes every alert')
    .option('--all', 'delete every alert, expired or not')
    .option('--operator <name>', 'who is doing this (recorded in the audit trail; default: the login name)')
    .option('--json', 'machine-readable output')
    .action(
      action((opts: { json?: boolean; all?: boolean; operator?: string }) => {
        const cfg = loadConfig(program.opts<{ config?: string }>().config);
        const file = alertStoreFile(cfg);
        if (!existsSync(file)) {
          emit(opts, () => 'no alert store: nothing to purge', () => ({ purged: 0 }));
          return EXIT.ok;
        }
        const name = operator(opts);
        if (!/^[A-Za-z0-9._-]{1,64}$/.test(name)) throw new CliError('--operator must be 1-64 letters, digits, dots, dashes or underscores', EXIT.usage);
        const store = new AlertStore(file, new AlertKeyStore(alertKeyDir(cfg))).open();
        const audit = new AuditLog(auditFile(cfg), systemClock).open();
        try {
          const { ids, orphanKeys } = store.purge(systemClock(), policyFromHours(cfg.alerts.retentionHours).maxAgeMs, opts.all ?? false);
          for (const id of ids) audit.record('alert.purged', { alertId: id, reason: opts.all ? 'purge all' : 'retention' }, name);
          audit.record('cli', { command: opts.all ? 'alerts purge --all' : 'alerts purge', alerts: ids.length, orphanKeys }, name);
          emit(opts, () => `purged ${ids.length} alert(s)${orphanKeys ? `, ${orphanKeys} stray key(s)` : ''}`, () => ({ purged: ids.length, orphanKeys }));
          return EXIT.ok;
        } finally {
          audit.close();
          store.close();
        }
      }),
    );
}
