import test from 'ava';
import { shouldPurgeWatchlist, expiryMs, expiresAtFor } from '../../src/watchlist/lifetime.js';

const H = 3_600_000;
const t0 = Date.parse('2026-05-01T08:00:00Z');
const meta = (imported: number, expires: number) => ({ importedAt: new Date(imported).toISOString(), expiresAt: new Date(expires).toISOString() });

test('expires at the stored deadline', (t) => {
  const m = meta(t0, t0 + 12 * H);
  t.false(shouldPurgeWatchlist(m, t0 + 12 * H - 1, 24));
  t.true(shouldPurgeWatchlist(m, t0 + 12 * H, 24));
});

test('a shorter configured maximum wins over the stored deadline', (t) => {
  const m = meta(t0, t0 + 24 * H);
  t.is(expiryMs(m, 6), t0 + 6 * H);
  t.true(shouldPurgeWatchlist(m, t0 + 6 * H, 6));
});

test('a stored deadline past 24 h (tampered or a bug) is capped at 24 h', (t) => {
  const m = meta(t0, t0 + 100 * H);
  t.is(expiryMs(m, 24), t0 + 24 * H);
  t.is(expiryMs(m, 48), t0 + 24 * H);
  t.is(expiresAtFor(t0, 30), t0 + 24 * H);
});

test('van off at the deadline: the first check afterwards purges', (t) => {
  t.true(shouldPurgeWatchlist(meta(t0, t0 + 24 * H), t0 + 30 * 24 * H, 24));
});

test('an import time in the future (clock went back) or garbage purges', (t) => {
  t.true(shouldPurgeWatchlist(meta(t0 + 2 * H, t0 + 20 * H), t0, 24));
  t.true(shouldPurgeWatchlist({ importedAt: 'x', expiresAt: 'y' }, t0, 24));
});
