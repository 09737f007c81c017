// `lfr alerts list [--json] [--with-images]`: alerts held in the van (at most 24 h old), newest
// first; images only when asked (they are personal data on screen). `lfr alerts purge [--all]`:
// run the retention purge now (expired alerts), or delete every alert. Both the purge and an
// export with images are audited under the actor the KERNEL gives this process (its uid), never a
// name typed on the command line or an environment variable (cli/offline-audit.ts).
import { existsSync } from 'node:fs';
import type { Command } from 'commander';
import { loadConfig } from '../config/load.js';
import { AlertStore } from '../alerts/store.js';
import { alertKeyDir, alertStoreFile } from '../alerts/service.js';
import { AlertKeyStore } from '../crypto/alert-keys.js';
import { policyFromHours } from '../retention/policy.js';
import { systemClock } from '../lifecycle.js';
import { action, CliError, emit, EXIT } from './output.js';
import { kernelActor, openVanAudit } from './offline-audit.js';

export function register(program: Command): void {
  const alerts = program.command('alerts').description('alerts held in the van (encrypted, deleted within 24 h)');
  alerts
    .command('list')
    .description('alerts held now, newest first')
    .option('--json', 'machine-readable output')
    .option('--with-images', 'include the base64 JPEGs (face, context, reference) in --json output (audited: who, how many alerts)')
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
          // Faces and subject references leaving the store are personal data: audited BEFORE a
          // byte is printed, and refused when the audit cannot be written.
          if (opts.withImages) {
            const n = store.list(10_000).length;
            let audit;
            try {
              audit = openVanAudit(cfg);
              audit.record('alerts.exported', { alerts: n, withImages: true, json: opts.json === true }, kernelActor());
            } catch (err) {
              throw new CliError(`--with-images refused: the export cannot be audited (${(err as Error).message})`, EXIT.failure);
            } finally {
              audit?.close();
            }
          }
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
    .option('--operator <name>', 'no longer accepted: the audit records the account that runs the command (its uid), never a typed name')
    .option('--json', 'machine-readable output')
    .action(
      action((opts: { json?: boolean; all?: boolean; operator?: string }) => {
        if (opts.operator !== undefined) throw new CliError('--operator is not accepted: the audit trail records the account that runs this command (from the kernel), not a name given on the command line; run it under your own account', EXIT.usage);
        const cfg = loadConfig(program.opts<{ config?: string }>().config);
        const file = alertStoreFile(cfg);
        if (!existsSync(file)) {
          emit(opts, () => 'no alert store: nothing to purge', () => ({ purged: 0 }));
          return EXIT.ok;
        }
        const name = kernelActor();
        const store = new AlertStore(file, new AlertKeyStore(alertKeyDir(cfg))).open();
        const audit = openVanAudit(cfg);
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
