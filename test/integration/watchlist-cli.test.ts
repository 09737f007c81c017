// The USB workflow through the real `lfr` process and the real ONNX models: keys, build, import,
// status, purge, and every bad input of the issue (clear error, exit 3, current watchlist intact).
// Reference photos are single-face crops cut from the face-api demo photos (MIT).
import test from 'ava';
import { chmodSync, existsSync, mkdtempSync, readFileSync, statSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import sharp from 'sharp';
import { runCli, lastJson } from '../helpers/cli.js';
import { INSTALL_ROOT } from '../../src/paths.js';
import { readPublicKey, readSigningSecretKey, readVanSecretKey } from '../../src/crypto/keys.js';
import { keyId } from '../../src/crypto/sign.js';
import { openWatchlist } from '../../src/watchlist/service.js';
import { createFaceEngine } from '../../src/vision/engine.js';
import { parseConfig, resolvePaths } from '../../src/config/load.js';
import { silentLogger } from '../../src/log.js';
import { bundleBuffer } from '../helpers/watchlist-fake.js';
import { requirePrereqs } from '../helpers/prereq.js';

const DEMO = path.join(INSTALL_ROOT, 'node_modules/@vladmandic/face-api/demo');
const MODELS = path.join(INSTALL_ROOT, 'models/manifest.json');
const have = existsSync(path.join(DEMO, 'sample1.jpg')) && existsSync(MODELS);

// Face boxes found by `lfr faces` on the demo photos; the crop adds 40 % margin on each side.
const CROPS: [string, string, number, number, number, number][] = [
  ['a.jpg', 'sample1.jpg', 1445, 230, 241, 241],
  ['b.jpg', 'sample3.jpg', 589, 356, 188, 273],
  ['c.jpg', 'sample5.jpg', 373, 908, 196, 292],
  ['d.jpg', 'sample6.jpg', 256, 509, 212, 268],
  ['f.jpg', 'sample5.jpg', 602, 430, 163, 263], // turned too far (yaw about 33 deg): rejected on pose
];

async function crop(src: string, out: string, x: number, y: number, w: number, h: number) {
  const m = 0.4;
  const meta = await sharp(src).metadata();
  const left = Math.max(0, Math.round(x - w * m));
  const top = Math.max(0, Math.round(y - h * m));
  await sharp(src)
    .extract({ left, top, width: Math.min(meta.width! - left, Math.round(w * (1 + 2 * m))), height: Math.min(meta.height! - top, Math.round(h * (1 + 2 * m))) })
    .jpeg({ quality: 90 })
    .toFile(out);
}

const CSV = 'subject_ref,category,reason,images\nWL-A,wanted,burglary,a.jpg\nWL-B,missing person,vulnerable adult,b.jpg;text.jpg\nWL-C,court order,breach,c.jpg\nWL-D,wanted,robbery,people/d.jpg\nWL-F,wanted,assault,f.jpg;group.jpg\n';

const setup = (async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'lfr-wlcli-'));
  const img = path.join(dir, 'images');
  mkdirSync(path.join(img, 'people'), { recursive: true });
  if (!have) return { dir, img };
  for (const [name, src, x, y, w, h] of CROPS) await crop(path.join(DEMO, src), path.join(img, name === 'd.jpg' ? 'people/d.jpg' : name), x, y, w, h);
  writeFileSync(path.join(img, 'group.jpg'), readFileSync(path.join(DEMO, 'sample2.jpg')));
  writeFileSync(path.join(img, 'text.jpg'), 'this is not a JPEG\n');
  writeFileSync(path.join(dir, 'wl.csv'), CSV);
  return { dir, img };
})();

const k = (dir: string, f: string) => path.join(dir, 'keys', f);

test.serial('keys, build, import, status, purge with the real models', async (t) => {
  requirePrereqs(['models', 'demo-photos']);
  const { dir, img } = await setup;
  for (const [kind, name] of [['signing', 'force'], ['van', 'van'], ['van', 'van2'], ['signing', 'rogue']]) {
    const r = await runCli(['keys', 'generate', '--kind', kind!, '--out', path.join(dir, 'keys'), '--name', name!, '--json']);
    t.is(r.code, 0, r.stderr);
    t.regex(lastJson<{ keyId: string }>(r.stdout).keyId, /^[0-9a-f]{16}$/);
  }
  t.is(statSync(k(dir, 'van.key')).mode & 0o777, 0o600);
  t.is(statSync(k(dir, 'force.key')).mode & 0o777, 0o600);
  const again = await runCli(['keys', 'generate', '--kind', 'van', '--out', path.join(dir, 'keys'), '--name', 'van']);
  t.is(again.code, 3);
  t.regex(again.stderr, /refusing to overwrite/);

  const bundle = path.join(dir, 'wl.lfrwl');
  const b = await runCli(['watchlist', 'build', '--csv', path.join(dir, 'wl.csv'), '--images', img, '--sign-key', k(dir, 'force.key'), '--to', k(dir, 'van.pub'), '--out', bundle, '--json']);
  t.is(b.code, 0, b.stderr);
  t.like(lastJson(b.stdout), { subjects: 5, images: 7 });
  const raw = readFileSync(bundle);
  for (const s of ['WL-A', 'burglary', 'a.jpg']) t.is(raw.indexOf(Buffer.from(s)), -1, `${s} is not readable in the bundle`);

  const store = path.join(dir, 'run', 'watchlist.db');
  const imp = await runCli(['watchlist', 'import', bundle, '--van-key', k(dir, 'van.key'), '--trust', k(dir, 'force.pub'), '--store', store, '--json']);
  t.is(imp.code, 0, imp.stderr);
  const rep = lastJson<{ composition: { subjects: number; categories: Record<string, number> }; rejected: { subjectRef: string; image: string; code: string }[]; notEnrolled: string[] }>(imp.stdout);
  t.is(rep.composition.subjects, 4);
  t.deepEqual(rep.composition.categories, { wanted: 2, 'missing person': 1, 'court order': 1 });
  t.deepEqual(
    rep.rejected.map((r) => `${r.subjectRef} ${r.image} ${r.code}`).sort(),
    ['WL-B text.jpg not_image', 'WL-F f.jpg pose', 'WL-F group.jpg several_faces'],
  );
  t.deepEqual(rep.notEnrolled, ['WL-F']);

  const st = await runCli(['watchlist', 'status', '--store', store, '--json']);
  t.is(st.code, 0, st.stderr);
  const s = lastJson<Record<string, unknown>>(st.stdout);
  t.like(s, { present: true, subjects: 4, signerKeyId: readPublicKey(k(dir, 'force.pub'), 'signing').keyId, vanKeyId: readPublicKey(k(dir, 'van.pub'), 'van').keyId });
  t.regex(String(s.bundleSha256), /^[0-9a-f]{64}$/);
  t.false(/WL-|burglary|\.jpg/.test(st.stdout), 'status carries no personal data');

  // The daemon's view: a mirrored photo of subject A finds A first.
  const cfg = resolvePaths(parseConfig({}), INSTALL_ROOT);
  const engine = await createFaceEngine(cfg, silentLogger());
  const wl = openWatchlist({ storeFile: store, van: readVanSecretKey(k(dir, 'van.key')), trust: { trustedSignerKeyIds: [readPublicKey(k(dir, 'force.pub'), 'signing').keyId] }, maxAgeHours: 24, clock: Date.now });
  try {
    t.is(wl!.gallery.size, 4);
    const { data, info } = await sharp(path.join(img, 'a.jpg')).flop().removeAlpha().raw().toBuffer({ resolveWithObject: true });
    const probeImg = { width: info.width, height: info.height, data: new Uint8Array(data) };
    const det = (await engine.detect(probeImg))[0]!;
    const probe = await engine.embed(engine.analyse(probeImg, det, cfg.quality.live).aligned);
    const hits = wl!.gallery.search(probe, 3);
    t.is(wl!.subjects.find((x) => x.id === hits[0]!.subjectId)?.subjectRef, 'WL-A');
    t.true(hits[0]!.score > hits[1]!.score);
  } finally {
    wl?.close();
    await engine.close();
  }
});

test.serial('every bad input: exit 3, a clear message, the current watchlist untouched', async (t) => {
  requirePrereqs(['models', 'demo-photos']);
  const { dir, img } = await setup;
  const store = path.join(dir, 'run', 'watchlist.db');
  const before = readFileSync(store);
  const good = readFileSync(path.join(dir, 'wl.lfrwl'));
  const imp = (file: string, extra: string[] = []) => runCli(['watchlist', 'import', file, '--van-key', k(dir, 'van.key'), '--trust', k(dir, 'force.pub'), '--store', store, ...extra]);
  const write = (name: string, data: Buffer) => {
    const f = path.join(dir, name);
    writeFileSync(f, data);
    return f;
  };
  const expectRefused = async (what: string, file: string, re: RegExp, extra: string[] = []) => {
    const r = await imp(file, extra);
    t.is(r.code, 3, `${what}: ${r.stderr}`);
    t.regex(r.stderr, re, what);
    t.false(/\n\s+at /.test(r.stderr), `${what}: no stack trace`);
    t.true(readFileSync(store).equals(before), `${what}: current watchlist untouched`);
  };
  const envLen = good.readUInt32BE(8);
  const unsigned = Buffer.concat([good.subarray(0, 12 + envLen), Buffer.from([0, 0]), good.subarray(12 + envLen + 2 + 64)]);
  await expectRefused('unsigned', write('unsigned.lfrwl', unsigned), /not signed/);
  const flipped = Buffer.from(good);
  flipped[Math.floor(good.length / 2)] = flipped[Math.floor(good.length / 2)]! ^ 0x10;
  await expectRefused('one byte changed', write('flipped.lfrwl', flipped), /altered/);
  await expectRefused('truncated', write('trunc.lfrwl', good.subarray(0, good.length - 100)), /truncated/);
  await expectRefused('not a bundle', write('junk.lfrwl', Buffer.from('hello')), /not an lfr watchlist bundle|truncated/);

  const build = (csv: string, to = 'van.pub', sign = 'force.key', out = 'x.lfrwl') => {
    writeFileSync(path.join(dir, 'x.csv'), csv);
    return runCli(['watchlist', 'build', '--csv', path.join(dir, 'x.csv'), '--images', img, '--sign-key', k(dir, sign), '--to', k(dir, to), '--out', path.join(dir, out)]);
  };
  // A FIFO given as a key is refused at once (it used to block the build for ever).
  spawnSync('mkfifo', [k(dir, 'fifo.pub')]);
  const fifoKey = await build(CSV, 'fifo.pub');
  t.is(fifoKey.code, 3, fifoKey.stderr);
  t.regex(fifoKey.stderr, /fifo\.pub is a FIFO, not a regular file: refused/);
  t.is((await build(CSV, 'van2.pub', 'force.key', 'van2.lfrwl')).code, 0);
  await expectRefused('encrypted to another van', path.join(dir, 'van2.lfrwl'), /another van/);
  t.is((await build(CSV, 'van.pub', 'rogue.key', 'rogue.lfrwl')).code, 0);
  await expectRefused('untrusted signer', path.join(dir, 'rogue.lfrwl'), /not a trusted signing key/);

  const cfgFile = path.join(dir, 'small.json');
  writeFileSync(cfgFile, JSON.stringify({ watchlist: { maxImageBytes: 20000 } }));
  const big = await runCli(['--config', cfgFile, 'watchlist', 'import', path.join(dir, 'wl.lfrwl'), '--van-key', k(dir, 'van.key'), '--trust', k(dir, 'force.pub'), '--store', store]);
  t.is(big.code, 3);
  t.regex(big.stderr, /over the limit.*maxImageBytes/);
  t.true(readFileSync(store).equals(before), 'oversized: current watchlist untouched');

  // Station side refuses bad CSVs before anything is packed ...
  const H = 'subject_ref,category,reason,images\n';
  const badCsvs: [string, string | Buffer, RegExp][] = [
    ['formula', `${H}WL-A,wanted,=1+1,a.jpg\n`, /formula-like/],
    ['duplicate reference', `${H}WL-A,wanted,r,a.jpg\nWL-A,wanted,r,b.jpg\n`, /duplicate subject_ref/],
    ['missing file', `${H}WL-A,wanted,r,nothere.jpg\n`, /missing image file/],
    ['traversal', `${H}WL-A,wanted,r,../wl.csv\n`, /traversal/],
    ['absolute path', `${H}WL-A,wanted,r,/etc/passwd\n`, /absolute/],
    ['wrong columns', `ref,category,reason,images\nWL-A,wanted,r,a.jpg\n`, /wrong columns/],
  ];
  for (const [what, csv, re] of badCsvs) {
    const r = await build(String(csv));
    t.is(r.code, 3, what);
    t.regex(r.stderr, re, what);
  }
  writeFileSync(path.join(dir, 'x.csv'), Buffer.concat([Buffer.from(`${H}WL-A,wanted,caf`), Buffer.from([0xe9]), Buffer.from(',a.jpg\n')]));
  const enc = await runCli(['watchlist', 'build', '--csv', path.join(dir, 'x.csv'), '--images', img, '--sign-key', k(dir, 'force.key'), '--to', k(dir, 'van.pub'), '--out', path.join(dir, 'x.lfrwl')]);
  t.is(enc.code, 3);
  t.regex(enc.stderr, /UTF-8/);

  // ... and the van refuses them too, even in a validly signed bundle (a builder without checks).
  const keys = {
    signer: readSigningSecretKey(k(dir, 'force.key')),
    trusted: [],
    van: { ...readVanSecretKey(k(dir, 'van.key')), keyId: readPublicKey(k(dir, 'van.pub'), 'van').keyId },
  };
  const aJpg = readFileSync(path.join(img, 'a.jpg'));
  await expectRefused('signed bundle with a formula cell', write('f.lfrwl', await bundleBuffer(keys, `${H}WL-A,wanted,@SUM(1),a.jpg\n`, [['a.jpg', aJpg]])), /formula-like/);
  await expectRefused('signed bundle with duplicate refs', write('d.lfrwl', await bundleBuffer(keys, `${H}WL-A,wanted,r,a.jpg\nWL-A,wanted,r,b.jpg\n`, [['a.jpg', aJpg], ['b.jpg', aJpg]])), /duplicate/);
  await expectRefused('signed bundle missing a listed image', write('m.lfrwl', await bundleBuffer(keys, `${H}WL-A,wanted,r,a.jpg;b.jpg\n`, [['a.jpg', aJpg]])), /missing/);
  await expectRefused('signed bundle with a traversal name', write('t.lfrwl', await bundleBuffer(keys, `${H}WL-A,wanted,r,a.jpg\n`, [['../a.jpg', aJpg]])), /traversal/);
  t.is(keyId(keys.signer.publicKey), readPublicKey(k(dir, 'force.pub'), 'signing').keyId);
  keys.signer.secretKey.destroy();
  keys.van.secretKey.destroy();

  chmodSync(k(dir, 'van.key'), 0o644);
  await expectRefused('van key readable by others', path.join(dir, 'wl.lfrwl'), /chmod 600/);
  chmodSync(k(dir, 'van.key'), 0o600);
});

test.serial('mutated bundles through the real process: exit 3, one plain line, store untouched', async (t) => {
  requirePrereqs(['models', 'demo-photos']);
  const { dir } = await setup;
  const store = path.join(dir, 'run', 'watchlist.db');
  const before = readFileSync(store);
  const good = readFileSync(path.join(dir, 'wl.lfrwl'));
  let seed = 99;
  const rand = (n: number) => ((seed = (seed * 1664525 + 1013904223) >>> 0) % n);
  // The in-process fuzz (watchlist-fuzz.test.ts) does 1,000; here 30 prove the CLI process
  // itself turns each into a clean exit, without a stack trace, before loading the models.
  for (let i = 0; i < 30; i++) {
    const m = Buffer.from(good);
    if (i % 3 === 2) {
      const cut = m.subarray(0, rand(m.length));
      writeFileSync(path.join(dir, 'fz.lfrwl'), cut);
    } else {
      const at = i % 3 === 0 ? rand(200) : rand(m.length);
      m[at] = m[at]! ^ (1 + rand(255));
      writeFileSync(path.join(dir, 'fz.lfrwl'), m);
    }
    const r = await runCli(['watchlist', 'import', path.join(dir, 'fz.lfrwl'), '--van-key', k(dir, 'van.key'), '--trust', k(dir, 'force.pub'), '--store', store]);
    t.is(r.code, 3, `mutation ${i}: ${r.stderr}`);
    t.regex(r.stderr, /^lfr: (bundle|not an lfr)/, `mutation ${i}`);
    t.false(/\n\s+at /.test(r.stderr), `mutation ${i}: no stack trace`);
  }
  t.true(readFileSync(store).equals(before));
});

test.serial('purge removes the store; status then reports none', async (t) => {
  requirePrereqs(['models', 'demo-photos']);
  const { dir } = await setup;
  const store = path.join(dir, 'run', 'watchlist.db');
  const p = await runCli(['watchlist', 'purge', '--store', store, '--json']);
  t.is(p.code, 0, p.stderr);
  t.like(lastJson(p.stdout), { purged: true });
  t.false(existsSync(store));
  const st = await runCli(['watchlist', 'status', '--store', store, '--json']);
  t.like(lastJson(st.stdout), { present: false });
});
