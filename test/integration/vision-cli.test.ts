// `lfr faces` and `lfr compare` as real processes: results, bad input (clear message, non-zero
// exit, no stack trace), tampered models, and scripts/prepare-models.mjs.
import test from 'ava';
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { INSTALL_ROOT } from '../../src/paths.js';
import { lastJson, runCli, type CliResult } from '../helpers/cli.js';

const sample = (i: number) => path.join(INSTALL_ROOT, 'node_modules/@vladmandic/face-api/demo', `sample${i}.jpg`);
const tmp = mkdtempSync(path.join(tmpdir(), 'lfr-vision-cli-'));
test.after.always(() => rmSync(tmp, { recursive: true, force: true }));

const noStack = (t: { false(v: boolean, m?: string): void }, r: CliResult) => t.false(/\n\s+at /.test(r.stderr), `stack trace in: ${r.stderr}`);

// Single-face crops of the demo photos (boxes from `lfr faces`, with a margin).
async function crop(i: number, left: number, top: number, size: number, name: string, flop = false): Promise<string> {
  const file = path.join(tmp, name);
  let s = sharp(sample(i)).extract({ left, top, width: size, height: size });
  if (flop) s = s.flop();
  await s.jpeg({ quality: 92 }).toFile(file);
  return file;
}

test('faces --json lists every face with box, landmarks, quality and reasons', async (t) => {
  const r = await runCli(['faces', sample(1), '--json']);
  t.is(r.code, 0, r.stderr);
  const out = lastJson<{ faces: { box: { width: number }; landmarks: number[][]; quality: { ok: boolean; interEyePx: number }; reasons: { code: string; message: string }[] }[]; usable: number }>(r.stdout);
  t.is(out.faces.length, 3);
  for (const f of out.faces) {
    t.is(f.landmarks.length, 5);
    t.true(f.quality.interEyePx > 40);
    t.is(f.quality.ok, f.reasons.length === 0);
  }
  t.is(out.usable, out.faces.filter((f) => f.quality.ok).length);
});

test('faces: human output names each face and why it is rejected', async (t) => {
  const r = await runCli(['faces', sample(2)]);
  t.is(r.code, 0);
  t.regex(r.stdout, /3 face\(s\)/);
  t.regex(r.stdout, /face turned too far/);
});

test('faces: missing file, text file, truncated JPEG and a photo with no face fail clearly', async (t) => {
  const text = path.join(tmp, 'notes.jpg');
  writeFileSync(text, 'this is not an image\n');
  const truncated = path.join(tmp, 'cut.jpg');
  writeFileSync(truncated, readFileSync(sample(3)).subarray(0, 30_000));
  const blank = path.join(tmp, 'blank.png');
  await sharp({ create: { width: 640, height: 480, channels: 3, background: { r: 120, g: 130, b: 140 } } }).png().toFile(blank);
  const fifo = path.join(tmp, 'fifo.jpg');
  spawnSync('mkfifo', [fifo]);
  const cases: [string, RegExp][] = [
    [path.join(tmp, 'nope.jpg'), /image not found: .*nope\.jpg/],
    [fifo, /not an image file \(a FIFO\)/], // refused at once, never waits for a writer
    [tmp, /not an image file \(a directory\)/],
    [text, /notes\.jpg is not an image/],
    [truncated, /cut\.jpg is truncated or corrupt/],
    [blank, /no face found in .*blank\.png/],
  ];
  for (const [file, msg] of cases) {
    const r = await runCli(['faces', file]);
    t.is(r.code, 3, `${file}: ${r.stderr}`);
    t.regex(r.stderr, msg);
    noStack(t, r);
  }
});

test('compare: same face (mirrored crop) matches, different people do not', async (t) => {
  const a = await crop(5, 270, 800, 420, 'a.jpg');
  const aMirror = await crop(5, 270, 800, 420, 'a-mirror.jpg', true);
  const b = await crop(6, 152, 433, 420, 'b.jpg');
  const same = await runCli(['compare', a, aMirror, '--json']);
  t.is(same.code, 0, same.stderr);
  const s = lastJson<{ similarity: number; match: boolean; threshold: number }>(same.stdout);
  t.true(s.match, `similarity ${s.similarity}`);
  const diff = await runCli(['compare', a, b, '--json']);
  t.is(diff.code, 0, diff.stderr);
  const d = lastJson<{ similarity: number; match: boolean }>(diff.stdout);
  t.false(d.match);
  t.true(s.similarity > d.similarity + 0.3, `${s.similarity} vs ${d.similarity}`);
  const human = await runCli(['compare', a, b]);
  t.regex(human.stdout, /similarity -?0\.\d{4} \(threshold [\d.]+\): no match/);
});

test('compare: several faces or a bad image give a clear message and exit 3', async (t) => {
  const a = await crop(3, 480, 250, 420, 'single.jpg');
  const r = await runCli(['compare', sample(1), a]);
  t.is(r.code, 3);
  t.regex(r.stderr, /shows 3 faces .* exactly one face/);
  noStack(t, r);
  const r2 = await runCli(['compare', a, path.join(tmp, 'missing.png')]);
  t.is(r2.code, 3);
  t.regex(r2.stderr, /image not found/);
});

const manifest = JSON.parse(readFileSync(path.join(INSTALL_ROOT, 'models', 'manifest.json'), 'utf8')) as { models: { file: string; source: { file?: string } }[] };

/** The manifest, the default models and every model a force places itself ({file} sources). */
function copyModels(): string {
  const dir = mkdtempSync(path.join(tmp, 'models-'));
  const own = manifest.models.filter((m) => m.source.file).map((m) => m.file);
  for (const f of ['manifest.json', 'fr_detect.onnx', 'fr_landmark.onnx', 'fr_feature.onnx', ...own]) copyFileSync(path.join(INSTALL_ROOT, 'models', f), path.join(dir, f));
  return dir;
}

test('a tampered model makes faces exit 4 with the file and both hashes named', async (t) => {
  const dir = copyModels();
  const file = path.join(dir, 'fr_detect.onnx');
  const bytes = readFileSync(file);
  bytes[100] = bytes[100]! ^ 0xff;
  writeFileSync(file, bytes);
  const cfg = path.join(tmp, 'tampered.json');
  writeFileSync(cfg, JSON.stringify({ paths: { modelsDir: dir } }));
  const r = await runCli(['-c', cfg, 'faces', sample(1)]);
  t.is(r.code, 4, r.stderr);
  t.regex(r.stderr, /fr_detect\.onnx \(model rfb320\) is refused: its SHA-256 is [0-9a-f]{64} but the manifest expects 6c0256cc/);
  noStack(t, r);
});

test('prepare-models: idempotent on a good folder, non-zero on a tampered file', (t) => {
  const script = path.join(INSTALL_ROOT, 'scripts', 'prepare-models.mjs');
  const dir = copyModels();
  // Only the default and force-placed models are in the copy; prepare copies the other npm ones in.
  const first = spawnSync(process.execPath, [script, '--models-dir', dir], { encoding: 'utf8' });
  t.is(first.status, 0, first.stderr);
  const again = spawnSync(process.execPath, [script, '--models-dir', dir], { encoding: 'utf8' });
  t.is(again.status, 0);
  t.regex(again.stdout, new RegExp(`0 copied, ${manifest.models.length} already in place`));
  const file = path.join(dir, 'fr_landmark.onnx');
  const bytes = readFileSync(file);
  bytes[0] = bytes[0]! ^ 0x01;
  writeFileSync(file, bytes);
  const check = spawnSync(process.execPath, [script, '--models-dir', dir, '--check'], { encoding: 'utf8' });
  t.is(check.status, 1);
  t.regex(check.stderr, /fr_landmark\.onnx \(model pfld68\) has SHA-256 [0-9a-f]{64}, the manifest expects f10b0ba1/);
  // Without --check a tampered npm-sourced copy is replaced from node_modules.
  const repair = spawnSync(process.execPath, [script, '--models-dir', dir], { encoding: 'utf8' });
  t.is(repair.status, 0, repair.stderr);
  t.regex(repair.stdout, /1 copied/);
});
