// `lfr audit verify [--json]`: walk the hash chain and compare with the head file; exit 1 with
// every problem listed when the trail was edited, cut short, or entries deleted or reordered.
// `lfr audit show [--limit N] [--type T] [--json]`: the newest entries (no biometric data in them).
// `lfr audit buffers [--json]`: src/cli/audit-buffers.ts.
import { existsSync } from 'node:fs';
import type { Command } from 'commander';
import { loadConfig } from '../config/load.js';
import { AuditLog, auditFile } from '../audit/log.js';
import { systemClock } from '../lifecycle.js';
import { action, CliError, emit, EXIT } from './output.js';
import { registerBuffers } from './audit-buffers.js';

function openAudit(program: Command): AuditLog {
  const cfg = loadConfig(program.opts<{ config?: string }>().config);
  const file = auditFile(cfg);
  if (!existsSync(file)) throw new CliError(`no audit trail at ${file} (the daemon has not run with this configuration)`, EXIT.notReady);
  return new AuditLog(file, systemClock, true).open();
}

export function register(program: Command): void {
  const audit = program.command('audit').description('the tamper-evident audit trail, and the wiping of face buffers');
  registerBuffers(audit, program);
  audit
    .command('verify')
    .description('check the hash chain: detects edited, deleted, reordered or truncated entries')
    .option('--json', 'machine-readable output')
    .action(
      action((opts: { json?: boolean }) => {
        const log = openAudit(program);
        try {
          const r = log.verify();
          emit(
            opts,
            () =>
              r.ok
                ? `audit trail intact: ${r.entries} entries, head ${r.head?.hash.slice(0, 16) ?? '(empty)'}`
                : [`audit trail BROKEN: ${r.problems.length} problem(s) in ${r.entries} entries`, ...r.problems.map((p) => `  entry ${p.seq}: ${p.problem}`)].join('\n'),
            () => r,
          );
          return r.ok ? EXIT.ok : EXIT.failure;
        } finally {
          log.close();
        }
      }),
    );
  audit
    .command('show')
    .description('the newest audit entries')
    .option('--limit <n>', 'how many', '50')
    .option('--type <type>', 'only this event type (e.g. alert.raised)')
    .option('--json', 'machine-readable output')
    .action(
      action((opts: { json?: boolean; limit: string; type?: string }) => {
        const limit = Number(opts.limit);
        if (!Number.isInteger(limit) || limit < 1 || limit > 100_000) throw new CliError('--limit must be a whole number from 1 to 100000', EXIT.usage);
        const log = openAudit(program);
        try {
          const entries = log.list(limit, opts.type);
          emit(
            opts,
            () => entries.map((e) => `${e.seq}\t${e.at}\t${e.type}\t${e.actor ?? '-'}\t${Object.entries(e.fields).map(([k, v]) => `${k}=${String(v)}`).join(' ')}`).join('\n') || '(no entries)',
            () => ({ entries }),
          );
        } finally {
          log.close();
        }
      }),
    );
}
