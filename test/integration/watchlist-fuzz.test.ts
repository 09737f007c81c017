// 1,000 mutations of a valid bundle: none may import, none may crash (every failure is one of
// the expected error types), and the current watchlist stays as it was.
import test from 'ava';
import { existsSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import Database from 'better-sqlite3';
import { openWatchlist } from '../../src/watchlist/service.js';
import { StoreError } from '../../src/watchlist/store.js';
import { sha256Hex } from '../../src/crypto/hash.js';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { bufferSource } from '../../src/watchlist/bundle-read.js';
import { VanRecord } from '../../src/watchlist/van-record.js';
import { importBundle, ImportError } from '../../src/watchlist/importer.js';
import { BundleError } from '../../src/watchlist/bundle-format.js';
import { CsvError } from '../../src/watchlist/csv.js';
import { silentLogger } from '../../src/log.js';
import { trustOf, bundleBuffer, fakeEngine, makeKeys, okFiles, LIMITS, GATES, CSV_OK } from '../helpers/watchlist-fake.js';

function rng(seed: number) {
  let s = seed >>> 0;
  return (n: number) => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return Math.floor((s / 4294967296) * n);
  };
}

test('1,000 mutated bundles: none imports, none crashes', async (t) => {
  const keys = makeKeys();
  const dir = mkdtempSync(path.join(tmpdir(), 'lfr-fuzz-'));
  // The van's import record in a folder of its own (the test checks the store's folder holds
  // nothing but the store); a record shared between tests or runs, MACed under another test's
  // van key, reads as damaged and refuses every bundle built before it (van-record.ts).
  const recordFile = path.join(mkdtempSync(path.join(tmpdir(), 'lfr-fuzz-record-')), 'imports.json');
  const storeFile = path.join(dir, 'watchlist.db');
  const good = await bundleBuffer(keys, CSV_OK, await okFiles(), { chunkBytes: 1024 });
  const engine = fakeEngine();
  const run = (buf: Buffer) =>
    importBundle({ bundle: bufferSource(buf), trusted: keys.trusted, van: keys.van, gates: GATES, limits: LIMITS, storeFile, maxAgeHours: 24, maxBundleAgeHours: 48, record: new VanRecord(recordFile, keys.van, { clock: Date.now }) }, { engine, clock: Date.now, log: silentLogger() });
  await run(good); // the current watchlist the mutations must not disturb
  const before = readFileSync(storeFile);
  const detectedBefore = engine.detected;
  const rand = rng(20261123);
  const kinds = new Map<string, number>();
  const envEnd = 12 + good.readUInt32BE(8) + 66;
  for (let i = 0; i < 1000; i++) {
    const m = Buffer.from(good);
    let buf: Buffer;
    switch (i % 6) {
      case 0: // one random byte anywhere
        m[rand(m.length)] = rand(256);
        buf = m;
        break;
      case 1: // one bit in the envelope/signature region (the part a parser sees)
        {
          const at = rand(envEnd);
          m[at] = m[at]! ^ (1 << rand(8));
        }
        buf = m;
        break;
      case 2: // truncate
        buf = m.subarray(0, rand(m.length));
        break;
      case 3: // insert random bytes
        {
          const at = rand(m.length);
          buf = Buffer.concat([m.subarray(0, at), Buffer.from(Array.from({ length: 1 + rand(32) }, () => rand(256))), m.subarray(at)]);
        }
        break;
      case 4: // delete a span
        {
          const at = rand(m.length);
          buf = Buffer.concat([m.subarray(0, at), m.subarray(Math.min(m.length, at + 1 + rand(64)))]);
        }
        break;
      default: // overwrite a span with zeros (a damaged USB sector)
        {
          const at = rand(m.length);
          m.fill(0, at, Math.min(m.length, at + 1 + rand(512)));
          buf = m;
        }
    }
    if (buf.equals(good)) continue;
    try {
      await run(buf);
      t.fail(`mutation ${i} (kind ${i % 6}) was imported`);
      return;
    } catch (err) {
      const ok = err instanceof BundleError || err instanceof CsvError || err instanceof ImportError;
      if (!ok) {
        t.fail(`mutation ${i} (kind ${i % 6}) crashed: ${(err as Error).stack}`);
        return;
      }
      const k = err instanceof BundleError ? err.code : err.name;
      kinds.set(k, (kinds.get(k) ?? 0) + 1);
    }
  }
  t.true(readFileSync(storeFile).equals(before), 'current watchlist untouched');
  t.deepEqual(readdirSync(dir), ['watchlist.db'], 'no temp files left');
  t.is(engine.detected, detectedBefore, 'no image of a mutated bundle reached the face detector');
  t.log(Object.fromEntries(kinds));
  t.true(kinds.size >= 4);
});

test('300 validly signed bundles with mutated CSV and images: each imports or is refused cleanly', async (t) => {
  const keys = makeKeys();
  const dir = mkdtempSync(path.join(tmpdir(), 'lfr-fuzz-signed-'));
  const recordFile = path.join(mkdtempSync(path.join(tmpdir(), 'lfr-fuzz-record-')), 'imports.json');
  const storeFile = path.join(dir, 'watchlist.db');
  const engine = fakeEngine();
  const files = await okFiles();
  const rand = rng(7);
  const csv = Buffer.from(CSV_OK);
  let imported = 0;
  let refused = 0;
  for (let i = 0; i < 300; i++) {
    const c = Buffer.from(csv);
    const imgs = files.map(([n, d]) => [n, Buffer.from(d)] as [string, Buffer]);
    if (i % 2 === 0) {
      for (let j = 0; j < 1 + rand(3); j++) c[rand(c.length)] = [0x2c, 0x22, 0x0a, 0x3b, 0x3d, 0x2f, 0x2e, 0xff, 0x00, rand(256)][rand(10)]!;
    } else {
      const img = imgs[rand(imgs.length)]![1];
      for (let j = 0; j < 1 + rand(8); j++) img[rand(img.length)] = rand(256);
    }
    const buf = await bundleBuffer(keys, c, imgs);
    try {
      const rep = await importBundle(
        { bundle: bufferSource(buf), trusted: keys.trusted, van: keys.van, gates: GATES, limits: LIMITS, storeFile, maxAgeHours: 24, maxBundleAgeHours: 48, record: new VanRecord(recordFile, keys.van, { clock: Date.now }) },
        { engine, clock: Date.now, log: silentLogger() },
      );
      t.true(rep.composition.subjects >= 1);
      imported++;
    } catch (err) {
      if (!(err instanceof BundleError || err instanceof CsvError || err instanceof ImportError)) {
        t.fail(`signed mutation ${i} crashed: ${(err as Error).stack}`);
        return;
      }
      refused++;
    }
  }
  t.log({ imported, refused });
  t.true(imported > 0 && refused > 0);
});

// The store files too (issue 12: "extend the bundle fuzz test to store files"). 600 mutations of a
// real store, written by a real import: a random byte, a bit in a row, a row swapped, deleted,
// duplicated or added, meta or the tag edited, a truncated file. Every one must be refused with
// a StoreError (and purged by openWatchlist) or, when SQLite's free space was hit and nothing the
// store holds changed, load exactly the original subjects: never a crash, never altered content.
test('600 mutated store files: each is refused and purged, or loads unchanged', async (t) => {
  const keys = makeKeys();
  const dir = mkdtempSync(path.join(tmpdir(), 'lfr-fuzz-store-'));
  const storeFile = path.join(dir, 'run', 'watchlist.db');
  const good = await bundleBuffer(keys, CSV_OK, await okFiles());
  await importBundle({ bundle: bufferSource(good), trusted: keys.trusted, van: keys.van, gates: GATES, limits: LIMITS, storeFile, maxAgeHours: 24, maxBundleAgeHours: 48, record: new VanRecord(path.join(dir, 'imports.json'), keys.van, { clock: Date.now }) }, { engine: fakeEngine(), clock: Date.now, log: silentLogger() });
  const pristine = readFileSync(storeFile);
  const open = () => openWatchlist({ storeFile, van: keys.van, trust: trustOf(keys), maxAgeHours: 24, clock: Date.now });
  const reference = open()!;
  const refSubjects = reference.subjects.map((s) => `${s.id}/${s.subjectRef}/${s.category}/${s.reason}/${sha256Hex(s.referenceJpeg)}`).sort();
  reference.close();
  const rand = rng(20261127);
  const outcome = new Map<string, number>();
  for (let i = 0; i < 600; i++) {
    writeFileSync(storeFile, pristine);
    const kind = ['byte', 'bit', 'truncate', 'swap-rows', 'delete-row', 'duplicate-row', 'edit-meta', 'edit-tag', 'add-row', 'rekey'][i % 10]!;
    if (kind === 'byte' || kind === 'bit' || kind === 'truncate') {
      const b = Buffer.from(pristine);
      const at = rand(b.length);
      if (kind === 'byte') b[at] = rand(256);
      else if (kind === 'bit') b[at] = b[at]! ^ (1 << rand(8));
      writeFileSync(storeFile, kind === 'truncate' ? b.subarray(0, at) : b);
    } else {
      const db = new Database(storeFile);
      const rows = db.prepare('SELECT id, rec FROM subjects ORDER BY id').all() as { id: string; rec: Buffer }[];
      const r = rows[rand(rows.length)]!;
      if (kind === 'swap-rows') db.prepare('UPDATE subjects SET rec = ? WHERE id = ?').run(rows[(rows.indexOf(r) + 1) % rows.length]!.rec, r.id);
      else if (kind === 'delete-row') db.prepare('DELETE FROM subjects WHERE id = ?').run(r.id);
      else if (kind === 'duplicate-row') db.prepare('INSERT INTO subjects (id, rec) VALUES (?, ?)').run('f'.repeat(32), r.rec);
      else if (kind === 'add-row') db.prepare('INSERT INTO subjects (id, rec) VALUES (?, ?)').run('e'.repeat(32), Buffer.from(Array.from({ length: 200 }, () => rand(256))));
      else if (kind === 'edit-meta') {
        const m = JSON.parse((db.prepare("SELECT v FROM meta WHERE k='meta'").get() as { v: string }).v) as Record<string, unknown>;
        const field = ['expiresAt', 'subjects', 'signerKeyId', 'bundleSha256', 'importedAt'][rand(5)]!;
        m[field] = field === 'subjects' ? 1 : field === 'expiresAt' || field === 'importedAt' ? new Date(Date.now() + 20 * 3_600_000).toISOString() : 'a'.repeat(16);
        db.prepare("UPDATE meta SET v = ? WHERE k='meta'").run(JSON.stringify(m));
      } else if (kind === 'edit-tag') db.prepare("UPDATE meta SET v = ? WHERE k='storeMac'").run(Buffer.from(Array.from({ length: 32 }, () => rand(256))).toString('hex'));
      else if (kind === 'rekey') db.prepare('UPDATE keyring SET sealed = ? WHERE id = 1').run(Buffer.from(Array.from({ length: 80 }, () => rand(256))));
      db.close();
    }
    let result: string;
    try {
      const wl = open();
      if (!wl) {
        // Metadata that says "expired" (an import time in the future) is purged before any key is used.
        t.false(existsSync(storeFile), `mutation ${i} (${kind}): a store that opens as nothing is purged`);
        result = 'refused';
      }
      else {
        const got = wl.subjects.map((s) => `${s.id}/${s.subjectRef}/${s.category}/${s.reason}/${sha256Hex(s.referenceJpeg)}`).sort();
        wl.close();
        t.deepEqual(got, refSubjects, `mutation ${i} (${kind}) loaded altered content`);
        result = 'unchanged';
      }
    } catch (err) {
      t.true(err instanceof StoreError, `mutation ${i} (${kind}): ${(err as Error).name}: ${(err as Error).message}`);
      t.false(existsSync(storeFile), `mutation ${i} (${kind}): a refused store is purged`);
      result = 'refused';
    }
    outcome.set(`${kind}:${result}`, (outcome.get(`${kind}:${result}`) ?? 0) + 1);
  }
  for (const k of ['swap-rows', 'delete-row', 'duplicate-row', 'add-row', 'edit-meta', 'edit-tag', 'rekey']) t.is(outcome.get(`${k}:refused`), 60, `every ${k} is refused`);
  t.log([...outcome].sort().map(([k, n]) => `${k} ${n}`).join(', '));
});
