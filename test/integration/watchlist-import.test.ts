// Import + encrypted store with real SQLite files and the fake engine (the real models are
// exercised in watchlist-cli.test.ts).
import test from 'ava';
import { mkdtempSync, existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { bufferSource } from '../../src/watchlist/bundle-read.js';
import { VanRecord } from '../../src/watchlist/van-record.js';
import { importBundle, ImportError } from '../../src/watchlist/importer.js';
import { openWatchlist, watchlistStatus, purgeWatchlist } from '../../src/watchlist/service.js';
import { StoreError, readStoreMeta } from '../../src/watchlist/store.js';
import { CsvError } from '../../src/watchlist/csv.js';
import { BundleError } from '../../src/watchlist/bundle-format.js';
import type { WatchlistEvent } from '../../src/watchlist/events.js';
import { silentLogger } from '../../src/log.js';
import { trustOf, bundleBuffer, fakeEngine, makeKeys, okFiles, colourImage, LIMITS, GATES, CSV_OK, DIM, type Keys } from '../helpers/watchlist-fake.js';

const H = 3_600_000;

function setup() {
  const dir = mkdtempSync(path.join(tmpdir(), 'lfr-wl-'));
  return { dir, storeFile: path.join(dir, 'run', 'watchlist.db') };
}

async function runImport(keys: Keys, buf: Buffer, storeFile: string, now = Date.now(), events: WatchlistEvent[] = [], referenceFusion?: 'mean' | 'each') {
  return importBundle(
    { bundle: bufferSource(buf), trusted: keys.trusted, van: keys.van, gates: GATES, ...(referenceFusion ? { referenceFusion } : {}), limits: LIMITS, storeFile, maxAgeHours: 24, maxBundleAgeHours: 48, record: new VanRecord(path.join(path.dirname(storeFile), '..', 'imports.json'), keys.van, { clock: Date.now }) },
    { engine: fakeEngine(), clock: () => now, log: silentLogger(), onEvent: (e) => events.push(e) },
  );
}

test('import enrols good images, reports each bad one, and the daemon opens the result', async (t) => {
  const keys = makeKeys();
  const { storeFile } = setup();
  const events: WatchlistEvent[] = [];
  const now = Date.now();
  const rep = await runImport(keys, await bundleBuffer(keys, CSV_OK, await okFiles()), storeFile, now, events);
  t.is(rep.composition.subjects, 2);
  t.deepEqual(rep.composition.categories, { wanted: 1, 'missing person': 1 });
  t.deepEqual(rep.rejected.map((r) => [r.subjectRef, r.image, r.code]), [['WL-2', 'c.png', 'several_faces'], ['WL-3', 'd.png', 'no_face']]);
  t.deepEqual(rep.notEnrolled, ['WL-3']);
  t.is(rep.composition.expiresAt, new Date(now + 24 * H).toISOString());
  t.is(events[0]?.type, 'watchlist.imported');
  t.is(rep.composition.templates, 2);
  t.is((statSync(storeFile).mode & 0o777).toString(8), '600');
  t.deepEqual(readdirSync(path.dirname(storeFile)), ['watchlist.db'], 'no temp file left');

  const wl = openWatchlist({ storeFile, van: keys.van, trust: trustOf(keys), maxAgeHours: 24, clock: () => now + H, onEvent: (e) => events.push(e) });
  t.truthy(wl);
  t.is(wl!.subjects.length, 2);
  const ref1 = wl!.subjects.find((s) => s.subjectRef === 'WL-1')!;
  t.is(ref1.category, 'wanted');
  t.is(ref1.reason, 'burglary');
  t.is(ref1.referenceJpeg[0], 0xff, 'reference image is a JPEG');
  const probe = new Float32Array(DIM);
  probe[220 % DIM] = 1; // the fake embedding of the red image (WL-1)
  const hits = wl!.gallery.search(probe, 3);
  t.is(hits[0]?.subjectId, ref1.id);
  t.true(Math.abs(hits[0]!.score - 1) < 1e-6);
  t.is(wl!.expiresAtMs, now + 24 * H);
  wl!.close();
  t.is(wl!.gallery.size, 0);
  t.true(events.some((e) => e.type === 'watchlist.opened'));
});

test('several usable references: ONE mean template by default, one per image with referenceFusion "each"', async (t) => {
  const keys = makeKeys();
  const csv = 'subject_ref,category,reason,images\nWL-1,wanted,burglary,a.png;e.png\n';
  const files: [string, Buffer][] = [['a.png', await colourImage('red')], ['e.png', await colourImage('orange')]];
  const now = Date.now();
  const probe = new Float32Array(DIM);
  probe[220 % DIM] = 1; // the fake embedding of the red image alone
  for (const [fusion, templates, score] of [[undefined, 1, Math.SQRT1_2], ['each', 2, 1]] as const) {
    const { storeFile } = setup();
    const rep = await runImport(keys, await bundleBuffer(keys, csv, files), storeFile, now, [], fusion);
    t.is(rep.composition.subjects, 1);
    t.is(rep.composition.templates, templates, String(fusion));
    const wl = openWatchlist({ storeFile, van: keys.van, trust: trustOf(keys), maxAgeHours: 24, clock: () => now + H })!;
    t.true(Math.abs(wl.gallery.search(probe, 1)[0]!.score - score) < 1e-6, `${fusion}: the red look scores ${score.toFixed(3)}`);
    wl.close();
  }
});

test('a small background face does not make a reference image ambiguous; a similar-size one does', async (t) => {
  const keys = makeKeys();
  const { storeFile } = setup();
  const csv = 'subject_ref,category,reason,images\nWL-1,wanted,r,m.png\nWL-2,wanted,r,b.png\n';
  const rep = await runImport(keys, await bundleBuffer(keys, csv, [['m.png', await colourImage('magenta')], ['b.png', await colourImage('blue')]]), storeFile);
  t.is(rep.composition.subjects, 1);
  t.deepEqual(rep.rejected.map((r) => [r.image, r.code]), [['b.png', 'several_faces']]);
});

test('nothing identifying is stored in clear', async (t) => {
  const keys = makeKeys();
  const { storeFile } = setup();
  await runImport(keys, await bundleBuffer(keys, CSV_OK, await okFiles()), storeFile);
  const raw = readFileSync(storeFile);
  for (const s of ['WL-1', 'WL-2', 'burglary', 'vulnerable', 'a.png']) t.is(raw.indexOf(Buffer.from(s)), -1, s);
  const db = new Database(storeFile, { readonly: true });
  t.deepEqual((db.prepare('SELECT k FROM meta ORDER BY k').all() as { k: string }[]).map((r) => r.k), ['meta', 'metaMac', 'storeMac']);
  db.close();
});

test('a failed import leaves the current watchlist untouched (all or nothing)', async (t) => {
  const keys = makeKeys();
  const { storeFile } = setup();
  await runImport(keys, await bundleBuffer(keys, CSV_OK, await okFiles()), storeFile);
  const before = readFileSync(storeFile);
  const bad: [string, () => Promise<Buffer>, unknown][] = [
    ['formula CSV', async () => bundleBuffer(keys, CSV_OK.replace('burglary', '=cmd|x'), await okFiles()), CsvError],
    ['missing image', async () => bundleBuffer(keys, CSV_OK, (await okFiles()).slice(0, 3)), CsvError],
    ['unlisted file', async () => bundleBuffer(keys, CSV_OK, [...(await okFiles()), ['e.png', await colourImage('red')]]), BundleError],
    ['every image bad', async () => bundleBuffer(keys, 'subject_ref,category,reason,images\nX,wanted,r,d.png\n', [['d.png', await colourImage('green')]]), ImportError],
    ['other van', async () => bundleBuffer(keys, CSV_OK, await okFiles(), { vanPublicKey: makeKeys().van.publicKey }), BundleError],
  ];
  for (const [what, make, type] of bad) {
    const events: WatchlistEvent[] = [];
    await t.throwsAsync(runImport(keys, await make(), storeFile, Date.now(), events), { instanceOf: type as never }, what);
    t.true(readFileSync(storeFile).equals(before), what);
    t.is(events[0]?.type, 'watchlist.import_rejected', what);
    t.deepEqual(readdirSync(path.dirname(storeFile)), ['watchlist.db'], `${what}: no temp file left`);
  }
});

test('a new import replaces the old one atomically and says which it replaced', async (t) => {
  const keys = makeKeys();
  const { storeFile } = setup();
  const first = await runImport(keys, await bundleBuffer(keys, CSV_OK, await okFiles()), storeFile);
  const events: WatchlistEvent[] = [];
  const second = await runImport(keys, await bundleBuffer(keys, CSV_OK.replace('burglary', 'robbery'), await okFiles()), storeFile, Date.now(), events);
  t.not(first.composition.bundleSha256, second.composition.bundleSha256);
  const ev = events.find((e) => e.type === 'watchlist.imported');
  t.is(ev?.type === 'watchlist.imported' ? ev.replacedBundleSha256 : null, first.composition.bundleSha256);
  t.is(readStoreMeta(storeFile)?.bundleSha256, second.composition.bundleSha256);
});

test('expiry: any open after the deadline purges the store (also after power-off)', async (t) => {
  const keys = makeKeys();
  const { storeFile } = setup();
  const now = Date.now();
  await runImport(keys, await bundleBuffer(keys, CSV_OK, await okFiles()), storeFile, now);
  const events: WatchlistEvent[] = [];
  t.true(watchlistStatus({ storeFile, maxAgeHours: 24, clock: () => now + 23 * H }).present);
  t.is(openWatchlist({ storeFile, van: keys.van, trust: trustOf(keys), maxAgeHours: 24, clock: () => now + 25 * H, onEvent: (e) => events.push(e) }), null);
  t.false(existsSync(storeFile));
  t.deepEqual(events.map((e) => e.type), ['watchlist.purged']);
  t.is(events[0]?.type === 'watchlist.purged' ? events[0].reason : '', 'expired');
  // a shorter configured maximum applies to a store imported under a longer one
  await runImport(keys, await bundleBuffer(keys, CSV_OK, await okFiles()), storeFile, now);
  const st = watchlistStatus({ storeFile, maxAgeHours: 2, clock: () => now + 3 * H });
  t.deepEqual(st, { present: false, purgedExpired: true });
});

test('tampering with the store is detected: moved rows, edited expiry, another van key', async (t) => {
  const keys = makeKeys();
  const { storeFile } = setup();
  const now = Date.now();
  await runImport(keys, await bundleBuffer(keys, CSV_OK, await okFiles()), storeFile, now);
  const open = () => openWatchlist({ storeFile, van: keys.van, trust: trustOf(keys), maxAgeHours: 24, clock: () => now });
  const reimport = () => runImport(keys, bundleCache!, storeFile, now);
  const bundleCache = await bundleBuffer(keys, CSV_OK, await okFiles());
  // 1. swap the two records' ciphertexts
  let db = new Database(storeFile);
  const rows = db.prepare('SELECT id, rec FROM subjects').all() as { id: string; rec: Buffer }[];
  db.prepare('UPDATE subjects SET rec = ? WHERE id = ?').run(rows[1]!.rec, rows[0]!.id);
  db.close();
  t.throws(open, { instanceOf: StoreError, message: /authentication/ });
  t.false(existsSync(storeFile), 'a damaged store is purged');
  // 2. extend the expiry in the clear metadata
  await reimport();
  db = new Database(storeFile);
  const meta = JSON.parse((db.prepare("SELECT v FROM meta WHERE k='meta'").get() as { v: string }).v) as { expiresAt: string };
  meta.expiresAt = new Date(now + 23.9 * H).toISOString();
  db.prepare("UPDATE meta SET v = ? WHERE k='meta'").run(JSON.stringify(meta));
  db.close();
  t.throws(open, { instanceOf: StoreError, message: /failed authentication/ });
  // 3. another van's key
  await reimport();
  t.throws(() => openWatchlist({ storeFile, van: makeKeys().van, trust: trustOf(keys), maxAgeHours: 24, clock: () => now }), { instanceOf: StoreError, message: /failed authentication|another van/ });
});

test('purge crypto-shreds and deletes; purging nothing is not an error', async (t) => {
  const keys = makeKeys();
  const { storeFile } = setup();
  await runImport(keys, await bundleBuffer(keys, CSV_OK, await okFiles()), storeFile);
  const events: WatchlistEvent[] = [];
  t.true(purgeWatchlist(storeFile, 'deployment_end', (e) => events.push(e)));
  t.false(existsSync(storeFile));
  t.is(events[0]?.type === 'watchlist.purged' ? events[0].reason : '', 'deployment_end');
  t.false(purgeWatchlist(storeFile, 'manual'));
  t.is(openWatchlist({ storeFile, van: keys.van, trust: trustOf(keys), maxAgeHours: 24, clock: Date.now }), null);
});
