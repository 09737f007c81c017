import test from 'ava';
import { CLOCK_STEP_TOLERANCE_MS, guardedClock, stampAhead } from '../../src/util/clock-guard.js';
import { shouldPurgeWatchlist } from '../../src/watchlist/lifetime.js';
import { RETENTION_CEILING_MS, expiresAt, nextRunDelay, policyFromHours, purgeCutoff, shouldPurge } from '../../src/retention/policy.js';

const H = 3600_000;
const T0 = Date.UTC(2026, 10, 23, 12);

test('a record is kept until exactly its age limit, then purged', (t) => {
  const p = policyFromHours(24);
  t.false(shouldPurge({ capturedAt: T0 }, p, T0));
  t.false(shouldPurge({ capturedAt: T0 }, p, T0 + 24 * H - 1));
  t.true(shouldPurge({ capturedAt: T0 }, p, T0 + 24 * H));
  t.is(expiresAt({ capturedAt: T0 }, p), T0 + 24 * H);
});

test('a shorter configured period applies', (t) => {
  const p = policyFromHours(2);
  t.false(shouldPurge({ capturedAt: T0 }, p, T0 + 2 * H - 1));
  t.true(shouldPurge({ capturedAt: T0 }, p, T0 + 2 * H));
});

test('the 24 h ceiling holds even if a policy object asks for longer', (t) => {
  t.is(policyFromHours(48).maxAgeMs, RETENTION_CEILING_MS);
  const p = { maxAgeMs: 72 * H };
  t.true(shouldPurge({ capturedAt: T0 }, p, T0 + 24 * H));
  t.is(purgeCutoff(p, T0 + 30 * H), T0 + 6 * H);
});

test('non-positive or NaN retention is refused', (t) => {
  t.throws(() => policyFromHours(0));
  t.throws(() => policyFromHours(Number.NaN));
});

test('a capture time ahead of the clock beyond the shared 1-minute guard cannot keep a record alive', (t) => {
  const p = policyFromHours(24);
  t.false(shouldPurge({ capturedAt: T0 + 59_000 }, p, T0)); // NTP slew: kept
  t.true(shouldPurge({ capturedAt: T0 + 61_000 }, p, T0)); // the clock went back: purged
  t.true(shouldPurge({ capturedAt: T0 + 23 * H }, p, T0)); // was tolerated before (up to 24 h each step)
  t.true(shouldPurge({ capturedAt: Number.NaN }, p, T0));
});

test('repeated backwards steps of 23 h keep nothing: the guarded clock never runs behind, and the record expires on time', (t) => {
  const p = policyFromHours(24);
  let wall = T0;
  let mono = 0;
  const clock = guardedClock(() => wall, () => mono);
  const rec = { capturedAt: clock() };
  for (let i = 0; i < 5; i++) {
    mono += 6 * H; // six hours really pass
    wall += 6 * H - 23 * H; // and the wall clock is stepped back 23 h
    t.is(clock(), T0 + mono, 'the guarded clock follows real elapsed time');
  }
  t.true(shouldPurge(rec, p, clock()), '30 h after capture it is gone, whatever the wall clock says');
  // A forward step is followed (data goes earlier, the safe direction).
  wall = T0 + 100 * H;
  t.is(clock(), T0 + 100 * H);
});

test('watchlist and retention share the guard: the same stamp ahead is due in both', (t) => {
  const ahead = T0 + CLOCK_STEP_TOLERANCE_MS + 1;
  t.true(stampAhead(ahead, T0));
  t.true(shouldPurge({ capturedAt: ahead }, policyFromHours(24), T0));
  t.true(shouldPurgeWatchlist({ importedAt: new Date(ahead).toISOString(), expiresAt: new Date(ahead + H).toISOString() }, T0, 24));
  t.false(shouldPurgeWatchlist({ importedAt: new Date(T0 + 1000).toISOString(), expiresAt: new Date(T0 + H).toISOString() }, T0, 24));
});

test('the scheduler wakes for the next expiry when it is sooner than the interval', (t) => {
  t.is(nextRunDelay(60_000, null, T0), 60_000);
  t.is(nextRunDelay(60_000, T0 + 5_000, T0), 5_000);
  t.is(nextRunDelay(60_000, T0 - 5_000, T0), 0);
  t.is(nextRunDelay(60_000, T0 + 600_000, T0), 60_000);
});
