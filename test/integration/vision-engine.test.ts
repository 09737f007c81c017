// The real models on the face-api demo photos (MIT, in node_modules): detection, landmarks,
// embeddings, the configurable detector size, and refusal of tampered models.
import test from 'ava';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import sharp, { type Sharp } from 'sharp';
import { parseConfig } from '../../src/config/load.js';
import { silentLogger } from '../../src/log.js';
import { INSTALL_ROOT } from '../../src/paths.js';
import { decodeImage, decodeImageFile } from '../../src/vision/decode.js';
import { benchPerFace } from '../../src/tools/bench/vision.js';
import { cosine } from '../../src/vision/embedder.js';
import { createFaceEngine, type FaceEngineWithInfo } from '../../src/vision/engine.js';
import { ModelError } from '../../src/vision/manifest.js';
import { iou } from '../../src/vision/nms.js';
import { onnxModelCodec } from '../../src/vision/onnx-proto.js';
import { ssdPriors } from '../../src/vision/priors.js';
import type { FaceDetection, RgbImage } from '../../src/vision/types.js';

const sample = (i: number) => path.join(INSTALL_ROOT, 'node_modules/@vladmandic/face-api/demo', `sample${i}.jpg`);
const MODELS = path.join(INSTALL_ROOT, 'models');
// Faces per demo photo, counted by eye (all are group photos of frontal-ish adults).
const EXPECTED_FACES: Record<number, number> = { 1: 3, 2: 3, 3: 3, 4: 4, 5: 5, 6: 4 };

let engine: FaceEngineWithInfo;
test.before(async () => {
  engine = await createFaceEngine(parseConfig({}), silentLogger());
});
test.after.always(async () => {
  await engine?.close();
});

const toRgb = async (s: Sharp): Promise<RgbImage> => decodeImage(await s.png().toBuffer());

test('every face in the demo photos is found with sane boxes and landmarks', async (t) => {
  for (const [i, n] of Object.entries(EXPECTED_FACES)) {
    const img = await decodeImageFile(sample(Number(i)));
    const faces = await engine.detect(img);
    t.is(faces.length, n, `sample${i}`);
    for (const f of faces) {
      const { x, y, width, height } = f.box;
      t.true(x >= 0 && y >= 0 && x + width <= img.width && y + height <= img.height);
      t.true(height > 150 && height < 400 && width > 100 && width < 300, `sample${i} box ${JSON.stringify(f.box)}`);
      t.true(f.score > 0.9);
      t.is(f.landmarks.length, 5);
      for (const [px, py] of f.landmarks) t.true(px > x - 10 && px < x + width + 10 && py > y - 10 && py < y + height + 10);
      const [le, re, , ml, mr] = f.landmarks as [number, number][];
      const eyeDist = Math.hypot(re![0] - le![0], re![1] - le![1]);
      t.true(eyeDist > 0.2 * width && eyeDist < 0.8 * width, `sample${i} eyes ${eyeDist} in box ${width}`);
      // The mouth is further from the eyes than the eyes are from each other's midpoint... below them.
      const down = (ml![1] + mr![1]) / 2 - (le![1] + re![1]) / 2;
      const across = (ml![0] + mr![0]) / 2 - (le![0] + re![0]) / 2;
      t.true(Math.hypot(down, across) > 0.5 * eyeDist);
    }
    const scores = faces.map((f) => f.score);
    t.deepEqual(scores, [...scores].sort((a, b) => b - a));
  }
});

async function embedAll(img: RgbImage): Promise<{ det: FaceDetection; emb: Float32Array }[]> {
  const out = [];
  for (const det of await engine.detect(img)) {
    const a = engine.analyse(img, det, parseConfig({}).quality.live);
    t_assertAligned(a.aligned);
    out.push({ det, emb: await engine.embed(a.aligned) });
  }
  return out;
}
function t_assertAligned(a: RgbImage): void {
  if (a.width !== 112 || a.height !== 112 || a.data.length !== 112 * 112 * 3) throw new Error('aligned face is not 112x112 RGB');
}

test('the same face mirrored or resized is more similar than any two different people', async (t) => {
  for (const i of [3, 5, 6]) {
    const img = await decodeImageFile(sample(i));
    const orig = await embedAll(img);
    const mirrored = await embedAll(await toRgb(sharp(img.data, { raw: { width: img.width, height: img.height, channels: 3 } }).flop()));
    const k = 0.6;
    const small = await embedAll(await toRgb(sharp(img.data, { raw: { width: img.width, height: img.height, channels: 3 } }).resize(Math.round(img.width * k))));
    for (const e of orig) t.true(Math.abs(Math.hypot(...e.emb) - 1) < 1e-4, 'embeddings are L2-normalised');
    let minSame = 1;
    for (const o of orig) {
      const b = o.det.box;
      const mb = { ...b, x: img.width - b.x - b.width };
      const sb = { x: b.x * k, y: b.y * k, width: b.width * k, height: b.height * k };
      const m = mirrored.find((c) => iou(c.det.box, mb) > 0.5);
      const s = small.find((c) => iou(c.det.box, sb) > 0.5);
      t.truthy(m && s, `sample${i}: face at ${JSON.stringify(b)} found again mirrored and resized`);
      if (m) minSame = Math.min(minSame, cosine(o.emb, m.emb));
      if (s) minSame = Math.min(minSame, cosine(o.emb, s.emb));
    }
    // People in one group photo are different people.
    let maxDiff = -1;
    for (let a = 0; a < orig.length; a++) for (let b = a + 1; b < orig.length; b++) maxDiff = Math.max(maxDiff, cosine(orig[a]!.emb, orig[b]!.emb));
    t.true(minSame > maxDiff + 0.2, `sample${i}: same ${minSame.toFixed(3)} vs different ${maxDiff.toFixed(3)}`);
    t.true(minSame > 0.6, `sample${i}: same-face similarity ${minSame.toFixed(3)}`);
  }
});

test('detectorInputWidth sets the smallest face found: 4.6 % of a 1080p frame', async (t) => {
  // sample5 scaled to 1/5 puts ~50 px faces into a 1920x1080 frame.
  const small = await sharp(sample(5)).resize(384).toBuffer();
  const frame = await decodeImage(
    await sharp({ create: { width: 1920, height: 1080, channels: 3, background: { r: 90, g: 90, b: 90 } } })
      .composite([{ input: small, left: 768, top: 400 }])
      .png()
      .toBuffer(),
  );
  const fine = await createFaceEngine(parseConfig({ vision: { detectorInputWidth: 1280 } }), silentLogger());
  const coarse = await createFaceEngine(parseConfig({ vision: { detectorInputWidth: 320 } }), silentLogger());
  try {
    const atFine = await fine.detect(frame);
    const atCoarse = await coarse.detect(frame);
    const atDefault = await engine.detect(frame);
    t.log(`faces found: ${atCoarse.length} at 320, ${atDefault.length} at 640, ${atFine.length} at 1280`);
    t.true(atFine.length >= 4, `found ${atFine.length} at 1280`);
    for (const f of atFine) t.true(f.box.height < 0.08 * 1080 && f.box.x > 760 && f.box.x < 768 + 384);
    t.true(atCoarse.length < atFine.length, `320: ${atCoarse.length}, 1280: ${atFine.length}`);
  } finally {
    await fine.close();
    await coarse.close();
  }
});

test('analyse never throws: degenerate landmarks give a rejected blank face', (t) => {
  const img: RgbImage = { width: 10, height: 10, data: new Uint8Array(300) };
  const det: FaceDetection = { box: { x: 0, y: 0, width: 5, height: 5 }, score: 0.9, landmarks: [[2, 2], [2, 2], [2, 2], [2, 2], [2, 2]] };
  const a = engine.analyse(img, det, parseConfig({}).quality.live);
  t.is(a.aligned.width, 112);
  t.false(a.quality.ok);
  t.deepEqual(a.quality.reasons.map((r) => r.code).slice(0, 2), ['too_small', 'blurred']);
});

test('benchPerFace reports positive medians for every stage', async (t) => {
  const r = await benchPerFace(engine, [await decodeImageFile(sample(1))], 2);
  t.is(r.faces, 3);
  t.is(r.iterations, 2);
  for (const k of ['detectMsPerImage', 'analyseMsPerFace', 'embedMsPerFace', 'perFaceMs', 'cpuMsPerFace'] as const) t.true(r[k] > 0, k);
  t.true(r.perFaceMs >= r.embedMsPerFace + r.analyseMsPerFace);
});

test('priors computed in code equal the ones baked into the shipped RFB graph', (t) => {
  const g = onnxModelCodec().decode(readFileSync(path.join(MODELS, 'fr_detect.onnx'))).graph;
  const constant = (name: string): Float32Array => {
    const tensor = g.node.find((n) => n.opType === 'Constant' && n.output[0] === name)?.attribute[0]?.t;
    const raw = Uint8Array.prototype.slice.call(tensor!.rawData!);
    return new Float32Array(raw.buffer);
  };
  // 469 = prior centres, 467 = prior sizes, as found in the graph's box decoding.
  const centres = constant('469');
  const sizes = constant('467');
  const p = ssdPriors(320, 240, { strides: [8, 16, 32, 64], minBoxes: [[10, 16, 24], [32, 48], [64, 96], [128, 192, 256]] });
  t.is(centres.length, 4420 * 2);
  let maxDiff = 0;
  for (let i = 0; i < 4420; i++) {
    maxDiff = Math.max(maxDiff, Math.abs(p[i * 4]! - centres[i * 2]!), Math.abs(p[i * 4 + 1]! - centres[i * 2 + 1]!));
    maxDiff = Math.max(maxDiff, Math.abs(p[i * 4 + 2]! - sizes[i * 2]!), Math.abs(p[i * 4 + 3]! - sizes[i * 2 + 1]!));
  }
  t.true(maxDiff < 1e-6, `max difference ${maxDiff}`);
});

function copyModels(): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'lfr-models-'));
  for (const f of ['manifest.json', 'fr_detect.onnx', 'fr_landmark.onnx', 'fr_feature.onnx', 'fr_feature.int8.onnx']) copyFileSync(path.join(MODELS, f), path.join(dir, f));
  return dir;
}

test('a model file with one byte changed is refused, naming the file and both hashes', async (t) => {
  const dir = copyModels();
  try {
    const file = path.join(dir, 'fr_feature.onnx');
    const bytes = readFileSync(file);
    const mid = bytes.length >> 1;
    bytes[mid] = bytes[mid]! ^ 0x01;
    writeFileSync(file, bytes);
    const err = await t.throwsAsync(createFaceEngine(parseConfig({ paths: { modelsDir: dir }, vision: { embedder: 'faceplugin-feature' } }), silentLogger()), { instanceOf: ModelError });
    t.regex(err!.message, /fr_feature\.onnx/);
    t.regex(err!.message, /87aacdfe57510db2af90c0251df680e8eec88f122ee94712121d09bcaaaf3581/);
    t.regex(err!.message, /SHA-256 is [0-9a-f]{64}/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a missing model file and an unknown model id get clear messages', async (t) => {
  const dir = copyModels();
  try {
    rmSync(path.join(dir, 'fr_landmark.onnx'));
    const e1 = await t.throwsAsync(createFaceEngine(parseConfig({ paths: { modelsDir: dir } }), silentLogger()), { instanceOf: ModelError });
    t.regex(e1!.message, /fr_landmark\.onnx.*missing/);
    const e2 = await t.throwsAsync(createFaceEngine(parseConfig({ paths: { modelsDir: dir }, vision: { detector: 'nope' } }), silentLogger()), { instanceOf: ModelError });
    t.regex(e2!.message, /no detector model "nope".*known: rfb320/);
    writeFileSync(path.join(dir, 'manifest.json'), '{"schema":1,"models":[{"id":"x"}]}');
    const e3 = await t.throwsAsync(createFaceEngine(parseConfig({ paths: { modelsDir: dir } }), silentLogger()), { instanceOf: ModelError });
    t.regex(e3!.message, /manifest .* is not valid/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
