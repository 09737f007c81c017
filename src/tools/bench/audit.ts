// `lfr bench audit`: what the health loop pays for the audit check on the main thread, full walk
// (AuditLog.verify, what `lfr audit verify` does) against the incremental check the daemon's
// health loop now runs (verifyIncremental: new entries + a rolling window of 2,000 old ones),
// side by side on one trail of N entries (default 50,000, the size the issue measured).
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { AuditLog, entryHash } from '../../audit/log.js';
import type { Bench } from './types.js';

/**
 * A valid chain of `entries` alert.raised entries written in one transaction (AuditLog.record
 * fsyncs each entry: minutes for thousands). Open it with AuditLog and record() once to write the
 * head file. Also used by test/unit/audit-incremental.test.ts.
 */
export function writeSyntheticTrail(file: string, entries: number): void {
  new AuditLog(file, Date.now).open().close();
  const db = new Database(file);
  const ins = db.prepare('INSERT INTO audit (seq, at, type, actor, fields, prev, hash) VALUES (?, ?, ?, ?, ?, ?, ?)');
  let prev = '0'.repeat(64);
  db.transaction(() => {
    for (let i = 1; i <= entries; i++) {
      const e = { seq: i, at: new Date(1_700_000_000_000 + i * 1000).toISOString(), type: 'alert.raised', actor: null, fields: { alertId: `a${i}`, camera: 'north-1', score: 0.61, threshold: 0.56, category: 'wanted' }, prev };
      const hash = entryHash(e);
      ins.run(i, e.at, e.type, null, JSON.stringify(e.fields), prev, hash);
      prev = hash;
    }
  })();
  db.close();
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

export const auditBench: Bench = {
  name: 'audit',
  description: 'audit chain check on the main thread: full walk vs the health loop\'s incremental check, 50,000 entries (median ms; LFR_BENCH_AUDIT_ENTRIES to change)',
  async run(_config, opts) {
    const n = Number(process.env.LFR_BENCH_AUDIT_ENTRIES ?? 50_000);
    const dir = mkdtempSync(path.join(os.tmpdir(), 'lfr-bench-audit-'));
    try {
      const file = path.join(dir, 'audit.db');
      writeSyntheticTrail(file, n - 1);
      const log = new AuditLog(file, Date.now).open();
      log.record('daemon.start', {});
      const full: number[] = [];
      const inc: number[] = [];
      log.verifyIncremental(); // first call walks everything once (start-up)
      const passes = Math.max(3, opts.iterations);
      for (let i = 0; i < passes; i++) {
        // Alternate, so both see the same machine load; one new entry per pass, as in a live van.
        log.record('alert.published', { alertId: `p${i}` });
        let t0 = performance.now();
        if (!log.verify().ok) throw new Error('chain broken');
        full.push(performance.now() - t0);
        t0 = performance.now();
        if (!log.verifyIncremental().ok) throw new Error('chain broken');
        inc.push(performance.now() - t0);
      }
      log.close();
      const f = median(full);
      const g = median(inc);
      return {
        human: `audit: ${n} entries, ${passes} passes: full walk ${f.toFixed(1)} ms, incremental ${g.toFixed(1)} ms (${(f / g).toFixed(1)}x less main-thread time per health tick)`,
        json: { entries: n, passes, fullMs: f, incrementalMs: g, ratio: f / g },
      };
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  },
};
