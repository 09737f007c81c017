// Pure decisions behind issue 12 and 11.7 (no files, no daemon): bundle freshness and the import
// record, and when a face could reach a core file or swap. The running-van proofs are in
// test/integration/watchlist-integrity.test.ts.
import test from 'ava';
import { admitBundle, recordPrunable } from '../../src/watchlist/lifetime.js';
import { checkMemorySafety, memoryProblem, type MemorySafetyFacts } from '../../src/health/memory-safety.js';

const H = 3_600_000;
const now = Date.UTC(2026, 10, 27, 12);
const iso = (ms: number) => new Date(ms).toISOString();
const admit = (createdAgoH: number, record: Parameters<typeof admitBundle>[0]['record'] = null) => admitBundle({ bundleCreatedAt: iso(now - createdAgoH * H), now, maxBundleAgeHours: 48, maxAgeHours: 24, record });

test('freshness: the day before is fine, older or future-dated is refused', (t) => {
  t.like(admit(30), { ok: true, reimport: false, expiresAt: now + 24 * H });
  t.like(admit(49), { ok: false, code: 'bundle_too_old' });
  t.like(admit(-0.05), { ok: true }, 'a few minutes of clock skew');
  t.like(admit(-1), { ok: false, code: 'bundle_future' });
  t.like(admitBundle({ bundleCreatedAt: iso(now - 100 * H), now, maxBundleAgeHours: 500, maxAgeHours: 24, record: null }), { ok: false, code: 'bundle_too_old' }, 'ceiling 72 h whatever the config');
});

test('a re-import keeps the first import expiry; an ended or expired one is refused', (t) => {
  const rec = { bundleId: 'b', bundleCreatedAt: iso(now - 60 * H), firstImportedAt: iso(now - 5 * H), endedAt: null };
  t.like(admit(60, rec), { ok: true, reimport: true, expiresAt: now + 19 * H }, 'an old bundle already imported reloads with its original expiry');
  t.like(admit(60, { ...rec, firstImportedAt: iso(now - 24 * H) }), { ok: false, code: 'bundle_expired' });
  t.like(admit(10, { ...rec, endedAt: iso(now - H) }), { ok: false, code: 'bundle_ended' });
  t.false(recordPrunable(rec, now));
  t.true(recordPrunable({ ...rec, firstImportedAt: iso(now - 97 * H) }, now), 'kept 24 + 72 h');
});

const safe: MemorySafetyFacts = { dumpable: 0, coreLimit: 0, suidDumpable: 0, swapAreas: 0, cgroupSwapMax: null };

test('memory safety: each way a face could reach a core file or swap FAILs with its reason', (t) => {
  t.is(memoryProblem(safe), null);
  t.is(checkMemorySafety(safe).level, 'OK');
  t.regex(memoryProblem({ ...safe, dumpable: null, error: 'libc calls unavailable' })!, /could not turn off core dumps/);
  t.regex(memoryProblem({ ...safe, dumpable: 1 })!, /still dumpable/);
  t.regex(memoryProblem({ ...safe, coreLimit: Infinity })!, /unlimited and could not be lowered/);
  t.regex(memoryProblem({ ...safe, suidDumpable: 2 })!, /suid_dumpable is 2/);
  t.regex(memoryProblem({ ...safe, swapAreas: 1 })!, /swap is on/);
  t.is(memoryProblem({ ...safe, swapAreas: 1, cgroupSwapMax: 0 }), null, 'swap on, but this cgroup may not use it (MemorySwapMax=0)');
  const f = checkMemorySafety({ ...safe, swapAreas: 2, dumpable: null }, false);
  t.is(f.level, 'FAIL', 'from the CLI only swap is judged');
  t.regex(f.message, /swap is on \(2 areas\)/);
});
