// `lfr audit verify [--json]`: walk the hash chain and compare with the head file; exit 1 with
// every problem listed when the trail was edited, cut short, or entries deleted or reordered.
// `lfr audit show [--limit N] [--type T] [--json]`: the newest entries (no biometric data in them).
// `lfr audit buffers [--json]`: src/cli/audit-buffers.ts.
import { existsSync } from 'node:fs';
import type { Command } from 'commander';
import { loadConfig } from '../config/load.js';
import { AuditLog, auditFile, type AuditProblem } from '../audit/log.js';
import { anchorPublicKey, HeadValueError, parseHeadValue, verifyAnchorSignature } from '../audit/anchor.js';
import { KeyFileError } from '../crypto/keys.js';
import { systemClock } from '../lifecycle.js';
import { action, CliError, emit, EXIT } from './output.js';
import { registerBuffers } from './audit-buffers.js';

function openAudit(program: Command): AuditLog {
  const cfg = loadConfig(program.opts<{ config?: string }>().config);
  return openAuditOf(cfg);
}

function openAuditOf(cfg: ReturnType<typeof loadConfig>): AuditLog {
  const file = auditFile(cfg);
  if (!existsSync(file)) throw new CliError(`no audit trail at ${file} (the daemon has not run with this configuration)`, EXIT.notReady);
  return new AuditLog(file, systemClock, true).open();
}

export function register(program: Command): void {
  const audit = program.command('audit').description('the tamper-evident audit trail, and the wiping of face buffers');
  registerBuffers(audit, program);
  audit
    .command('verify')
    .description('check the hash chain: detects edited, deleted, reordered or truncated entries; with --head, also against a head printed in a results report (a tail rewritten together with the head file)')
    .option('--head <value>', 'audit head from a results report: SEQ:HASH or SEQ:HASH:SIGNATURE')
    .option('--anchor-key <base64>', "the van's audit anchor public key (default: derived from the configured van key when readable)")
    .option('--json', 'machine-readable output')
    .action(
      action((opts: { json?: boolean; head?: string; anchorKey?: string }) => {
        const cfg = loadConfig(program.opts<{ config?: string }>().config);
        let pinned: ReturnType<typeof parseHeadValue> | null = null;
        try {
          pinned = opts.head ? parseHeadValue(opts.head) : null;
        } catch (err) {
          if (err instanceof HeadValueError) throw new CliError(err.message, EXIT.usage);
          throw err;
        }
        const log = openAuditOf(cfg);
        try {
          const r = log.verify() as ReturnType<AuditLog['verify']> & { pinned?: { seq: number; hashMatches: boolean; signature: 'valid' | 'invalid' | 'not checked' | 'absent' } };
          if (pinned) {
            const e = log.entry(pinned.seq);
            const hashMatches = e !== null && e.hash === pinned.hash;
            let signature: 'valid' | 'invalid' | 'not checked' | 'absent' = 'absent';
            if (pinned.signature) {
              let pub = opts.anchorKey ?? null;
              if (!pub) {
                try {
                  pub = anchorPublicKey(cfg.watchlist.vanKeyFile).publicKey;
                } catch (err) {
                  if (!(err instanceof KeyFileError)) throw err;
                }
              }
              signature = pub === null ? 'not checked' : verifyAnchorSignature(pinned.seq, pinned.hash, pinned.signature, pub) ? 'valid' : 'invalid';
            }
            const extra: AuditProblem[] = [];
            if (!e) extra.push({ seq: pinned.seq, problem: `the report pinned entry ${pinned.seq}, which is no longer in the log: entries were deleted` });
            else if (!hashMatches) extra.push({ seq: pinned.seq, problem: `entry ${pinned.seq} does not have the hash the report pinned: the log up to it was rewritten` });
            if (signature === 'invalid') extra.push({ seq: pinned.seq, problem: 'the head value\'s signature is not the van\'s: the head in hand was not issued by this van' });
            // A head that matches nothing while the chain itself verifies, and whose signature is
            // not the van's (or absent), is most likely mistyped: say that, not "BROKEN". A head
            // with the van's valid signature that the log no longer matches IS a rewrite.
            if (r.ok && extra.length && signature !== 'valid') {
              r.pinned = { seq: pinned.seq, hashMatches, signature };
              const what = signature === 'absent' ? 'it carries no signature to tell a typo from a rewrite: give the full value from the report (SEQ:HASH:SIGNATURE)' : "its signature is not this van's";
              emit(
                opts,
                () => `audit chain verifies (${r.entries} entries), but the head given was not found in it and ${what}: check the value copied from the report (mistyped, or a head from another van)`,
                () => ({ ...r, ok: false, headNotFound: true, problems: extra }),
              );
              return EXIT.failure;
            }
            r.problems.push(...extra);
            r.ok = r.ok && extra.length === 0;
            r.pinned = { seq: pinned.seq, hashMatches, signature };
          }
          emit(
            opts,
            () =>
              r.ok
                ? `audit trail intact: ${r.entries} entries, head ${r.head?.hash.slice(0, 16) ?? '(empty)'}${r.pinned ? `; matches the pinned head at entry ${r.pinned.seq} (signature ${r.pinned.signature})` : ''}`
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
    .command('anchor-key')
    .description("the van's audit anchor public key (derived from the van key): publish it once, so results reports can be checked without the van")
    .option('--json', 'machine-readable output')
    .action(
      action((opts: { json?: boolean }) => {
        const cfg = loadConfig(program.opts<{ config?: string }>().config);
        let k;
        try {
          k = anchorPublicKey(cfg.watchlist.vanKeyFile);
        } catch (err) {
          if (err instanceof KeyFileError) throw new CliError(err.message, EXIT.badInput);
          throw err;
        }
        emit(opts, () => `audit anchor key ${k.keyId}: ${k.publicKey}`, () => k);
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
