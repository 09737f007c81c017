import test from 'ava';
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

test('a capture time far in the future (bad clock) cannot keep a record alive', (t) => {
  const p = policyFromHours(24);
  t.false(shouldPurge({ capturedAt: T0 + H }, p, T0)); // small skew: kept
  t.true(shouldPurge({ capturedAt: T0 + 25 * H }, p, T0)); // more than the period ahead: purged
  t.true(shouldPurge({ capturedAt: Number.NaN }, p, T0));
});

test('the scheduler wakes for the next expiry when it is sooner than the interval', (t) => {
  t.is(nextRunDelay(60_000, null, T0), 60_000);
  t.is(nextRunDelay(60_000, T0 + 5_000, T0), 5_000);
  t.is(nextRunDelay(60_000, T0 - 5_000, T0), 0);
  t.is(nextRunDelay(60_000, T0 + 600_000, T0), 60_000);
});
