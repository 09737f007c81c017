// The van's record of imports (src/watchlist/van-record.ts) and the store admission rule
// (lifetime.ts admitStore): MAC, loss, rollback, and the "built before the loss" refusal.
import test from 'ava';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { generateBoxKeyPair } from '../../src/crypto/box.js';
import { VanRecord, openRecord, sealRecord, type RecordEvent, type RecordBody } from '../../src/watchlist/van-record.js';
import { admitBundle, admitStore } from '../../src/watchlist/lifetime.js';

const H = 3_600_000;
const t0 = Date.parse('2026-05-01T08:00:00Z');

function setup() {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'lfr-rec-'));
  const van = generateBoxKeyPair();
  const events: RecordEvent[] = [];
  let now = t0;
  let audited: number | null = null;
  const rec = new VanRecord(path.join(dir, 'r.json'), van, {
    clock: () => now,
    lastAuditedGeneration: () => audited,
    onEvent: (e) => {
      events.push(e);
      if (e.type === 'watchlist.record_written') audited = e.generation;
    },
  });
  return { dir, van, rec, events, file: path.join(dir, 'r.json'), setNow: (n: number) => (now = n), cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

test('seal/open: a body round-trips; one changed byte, another van key or no tag is refused', (t) => {
  const van = generateBoxKeyPair();
  const body: RecordBody = { schema: 2, generation: 3, since: new Date(t0).toISOString(), bundles: [{ bundleId: 'b1', bundleCreatedAt: 'x', firstImportedAt: new Date(t0).toISOString(), endedAt: new Date(t0).toISOString() }] };
  const text = sealRecord(body, van);
  t.deepEqual(openRecord(text, van), { ok: true, body });
  const outer = JSON.parse(text) as { body: string; mac: string };
  const edited = JSON.stringify({ body: outer.body.replace(/"endedAt":"[^"]*"/, '"endedAt":null'), mac: outer.mac });
  t.like(openRecord(edited, van), { ok: false, reason: 'forged' });
  t.like(openRecord(text, generateBoxKeyPair()), { ok: false, reason: 'forged' });
  t.like(openRecord(JSON.stringify({ schema: 1, bundles: [] }), van), { ok: false, reason: 'forged' });
  t.like(openRecord('{not json', van), { ok: false, reason: 'damaged' });
});

test('first record refuses nothing for its age; each write is numbered and reported', (t) => {
  const s = setup();
  t.teardown(s.cleanup);
  const body = s.rec.load();
  t.is(body.since, new Date(0).toISOString());
  s.rec.noteImport({ bundleId: 'b1', bundleCreatedAt: new Date(t0 - H).toISOString(), firstImportedAt: new Date(t0).toISOString() }, t0);
  s.rec.markEnded('b1', t0 + H);
  t.deepEqual(s.events.map((e) => (e.type === 'watchlist.record_written' ? `${e.change}:${e.generation}` : e.type)), ['created:1', 'import:2', 'ended:3']);
  t.truthy(s.rec.get('b1')?.endedAt);
});

for (const [name, attack, reason] of [
  ['deleted', (s: ReturnType<typeof setup>) => rmSync(s.file), 'missing'],
  ['edited', (s: ReturnType<typeof setup>) => writeFileSync(s.file, readFileSync(s.file, 'utf8').replace(/"endedAt\\":\\"[^\\]*\\"/, '"endedAt\\":null')), 'forged'],
  ['garbage', (s: ReturnType<typeof setup>) => writeFileSync(s.file, 'x'), 'damaged'],
] as const) {
  test(`record ${name}: the loss is reported and every bundle built before it is refused; a newer one is admitted`, (t) => {
    const s = setup();
    t.teardown(s.cleanup);
    s.rec.noteImport({ bundleId: 'b1', bundleCreatedAt: new Date(t0 - H).toISOString(), firstImportedAt: new Date(t0).toISOString() }, t0);
    s.rec.markEnded('b1', t0 + H);
    attack(s);
    s.setNow(t0 + 2 * H);
    const body = s.rec.load();
    t.is(body.since, new Date(t0 + 2 * H).toISOString());
    t.is(body.bundles.length, 0);
    const lost = s.events.find((e) => e.type === 'watchlist.record_lost');
    t.is(lost?.type === 'watchlist.record_lost' ? lost.reason : null, reason);
    const old = admitBundle({ bundleCreatedAt: new Date(t0 - H).toISOString(), now: t0 + 2 * H, maxBundleAgeHours: 48, maxAgeHours: 24, record: null, recordSince: body.since });
    t.like(old, { ok: false, code: 'bundle_before_record' });
    const fresh = admitBundle({ bundleCreatedAt: new Date(t0 + 2 * H + 1000).toISOString(), now: t0 + 2 * H + 2000, maxBundleAgeHours: 48, maxAgeHours: 24, record: null, recordSince: body.since });
    t.like(fresh, { ok: true });
  });
}

test('an authentic but older copy put back (rollback) is recognised by the audited generation', (t) => {
  const s = setup();
  t.teardown(s.cleanup);
  s.rec.noteImport({ bundleId: 'b1', bundleCreatedAt: new Date(t0 - H).toISOString(), firstImportedAt: new Date(t0).toISOString() }, t0);
  const copy = readFileSync(s.file, 'utf8');
  s.rec.markEnded('b1', t0 + H);
  writeFileSync(s.file, copy);
  t.is(s.rec.get('b1'), null);
  const lost = s.events.find((e) => e.type === 'watchlist.record_lost');
  t.is(lost?.type === 'watchlist.record_lost' ? lost.reason : null, 'rolled_back');
});

test('admitStore: unknown bundle, ended bundle, and life counted from the RECORD first import', (t) => {
  const meta = { bundleId: 'b1', importedAt: new Date(t0 + 10 * H).toISOString(), expiresAt: new Date(t0 + 34 * H).toISOString() };
  t.like(admitStore(meta, null, t0 + 11 * H, 24), { ok: false, code: 'store_not_recorded' });
  t.like(admitStore(meta, { bundleId: 'b1', bundleCreatedAt: 'x', firstImportedAt: new Date(t0).toISOString(), endedAt: new Date(t0 + H).toISOString() }, t0 + 11 * H, 24), { ok: false, code: 'bundle_ended' });
  const rec = { bundleId: 'b1', bundleCreatedAt: 'x', firstImportedAt: new Date(t0).toISOString(), endedAt: null };
  t.deepEqual(admitStore(meta, rec, t0 + 11 * H, 24), { ok: true, expiresAtMs: t0 + 24 * H }, 'a store re-imported elsewhere with a later date does not outlive the record');
  t.like(admitStore(meta, rec, t0 + 25 * H, 24), { ok: false, code: 'bundle_expired' });
});
