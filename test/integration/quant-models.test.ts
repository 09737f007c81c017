// The quantiser on the real models: int8 files load in ONNX Runtime, keep the embedder's output
// (cosine with float on faces NOT used for calibration), keep the detector's faces, round-trip
// through the protobuf codec, and the committed int8 files match their manifest hashes.
import test from 'ava';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import { configSchema } from '../../src/config/schema.js';
import { silentLogger } from '../../src/log.js';
import { INSTALL_ROOT } from '../../src/paths.js';
import { alignedFaces, DEMO_PHOTO_DIR, DEMO_PHOTOS, embedderFeeds, listImages } from '../../src/tools/quant/calib-data.js';
import { decodeModel, DT, encodeModel, onnxOpset } from '../../src/vision/onnx-graph.js';
import { DEFAULT_QUANTIZE } from '../../src/tools/quant/quantize.js';
import { quantizeEntry } from '../../src/tools/quant/service.js';
import { Gallery } from '../../src/match/gallery.js';
import { OrtScoreBackend } from '../../src/match/search/ort-backend.js';
import { createFaceEngine } from '../../src/vision/engine.js';
import { decodeImageFile } from '../../src/vision/decode.js';
import { loadManifest } from '../../src/vision/manifest.js';
import type { Box } from '../../src/vision/types.js';
import { runCli, lastJson } from '../helpers/cli.js';

const MODELS = path.join(INSTALL_ROOT, 'models');
const cfgFor = (vision: Record<string, string> = {}) => configSchema.parse({ paths: { modelsDir: MODELS }, vision });

function cosine(a: Float32Array, b: Float32Array): number {
  let d = 0, na = 0, nb = 0;
  for (let i = 0; i < a.length; i++) {
    d += a[i]! * b[i]!;
    na += a[i]! * a[i]!;
    nb += b[i]! * b[i]!;
  }
  return d / Math.sqrt(na * nb);
}

function iou(a: Box, b: Box): number {
  const x = Math.max(0, Math.min(a.x + a.width, b.x + b.width) - Math.max(a.x, b.x));
  const y = Math.max(0, Math.min(a.y + a.height, b.y + b.height) - Math.max(a.y, b.y));
  return (x * y) / (a.width * a.height + b.width * b.height - x * y);
}

test('quantised embedder: written next to the float model, loads, cosine >= 0.98 with float on held-out faces', async (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'lfr-quant-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const manifest = await loadManifest(MODELS);
  const entry = manifest.models.find((m) => m.id === 'faceplugin-feature')!;
  copyFileSync(path.join(MODELS, entry.file), path.join(dir, entry.file));
  const photos = await listImages([DEMO_PHOTO_DIR], DEMO_PHOTOS);
  t.true(photos.length >= 6, 'face-api demo photos are installed');
  // Calibrate on the first three photos, judge on the others.
  const q = await quantizeEntry(dir, manifest, entry, photos.slice(0, 3), cfgFor(), DEFAULT_QUANTIZE, silentLogger());
  t.is(q.file, path.join(dir, 'fr_feature.int8.onnx'));
  t.regex(q.entry.sha256, /^[0-9a-f]{64}$/);
  t.is(onnxOpset(decodeModel(readFileSync(q.file))), 13);

  const faces = await alignedFaces(photos.slice(3), cfgFor(), silentLogger());
  t.true(faces.length >= 5, `held-out faces found: ${faces.length}`);
  const f32 = await ort.InferenceSession.create(path.join(dir, entry.file));
  const i8 = await ort.InferenceSession.create(q.file);
  t.teardown(async () => {
    await f32.release();
    await i8.release();
  });
  const cos: number[] = [];
  for (const feed of embedderFeeds(faces, entry.input)) {
    const a = (await f32.run(feed)).output!.data as Float32Array;
    const b = (await i8.run(feed)).output!.data as Float32Array;
    cos.push(cosine(a, b));
  }
  const mean = cos.reduce((s, c) => s + c, 0) / cos.length;
  t.true(mean >= 0.98, `mean cosine float vs int8 ${mean.toFixed(4)}`);
  t.true(Math.min(...cos) >= 0.95, `worst cosine ${Math.min(...cos).toFixed(4)}`);
});

test('the committed int8 detector finds the float detector\'s confident faces on the demo photos', async (t) => {
  const float = await createFaceEngine(cfgFor({ detector: 'rfb320' }), silentLogger());
  const int8 = await createFaceEngine(cfgFor({ detector: 'rfb320-int8' }), silentLogger());
  t.teardown(async () => {
    await float.close();
    await int8.close();
  });
  let wanted = 0;
  let found = 0;
  for (const file of await listImages([DEMO_PHOTO_DIR], DEMO_PHOTOS)) {
    const img = await decodeImageFile(file);
    const a = (await float.detect(img)).filter((d) => d.score >= 0.8);
    const b = await int8.detect(img);
    wanted += a.length;
    found += a.filter((d) => b.some((e) => iou(d.box, e.box) >= 0.5)).length;
  }
  t.true(wanted >= 10, `float faces: ${wanted}`);
  t.true(found / wanted >= 0.95, `int8 found ${found} of ${wanted}`);
});

test('the committed int8 models use 7-bit weights, so no x86 kernel can saturate (the same results on AVX2, AVX-512 and VNNI CPUs)', (t) => {
  // MLAS's u8 x s8 kernels without VNNI (vpmaddubsw) add two products into a saturating int16:
  // 2 x 255 x 63 = 32,130 fits, 2 x 255 x 127 does not. This holds whatever CPU runs the test.
  for (const file of ['fr_feature.int8.onnx', 'fr_detect.int8.onnx']) {
    const g = decodeModel(readFileSync(path.join(MODELS, file))).graph;
    const weights = g.initializer.filter((w) => w.dataType === DT.INT8 && w.rawData && w.rawData.length > 1);
    t.true(weights.length > 10, `${file}: int8 weight tensors found`);
    let maxAbs = 0;
    for (const w of weights) for (const v of new Int8Array(w.rawData!.buffer, w.rawData!.byteOffset, w.rawData!.length)) maxAbs = Math.max(maxAbs, Math.abs(v));
    t.true(maxAbs <= 63, `${file}: largest |weight| ${maxAbs} (must be <= 63)`);
  }
});

test('protobuf round trip: re-encoding a written model gives the same bytes, and the float models decode and re-encode losslessly', (t) => {
  for (const file of ['fr_feature.int8.onnx', 'fr_detect.int8.onnx']) {
    const bytes = readFileSync(path.join(MODELS, file));
    t.true(Buffer.from(encodeModel(decodeModel(bytes))).equals(bytes), file);
  }
  const float = readFileSync(path.join(MODELS, 'fr_detect.onnx'));
  const once = encodeModel(decodeModel(float));
  t.true(Buffer.from(encodeModel(decodeModel(once))).equals(Buffer.from(once)));
  t.deepEqual(decodeModel(once).graph.node.map((n) => n.opType), decodeModel(float).graph.node.map((n) => n.opType));
});

test('int8 GEMM search returns the same top-3 as float brute force', async (t) => {
  const rows = 5000, dim = 512;
  const m = new Float32Array(rows * dim);
  let a = 7;
  for (let i = 0; i < m.length; i++) {
    a = (Math.imul(a, 1664525) + 1013904223) >>> 0;
    m[i] = a / 4294967296 - 0.5;
  }
  for (let r = 0; r < rows; r++) {
    let s = 0;
    for (let j = 0; j < dim; j++) s += m[r * dim + j]! ** 2;
    for (let j = 0; j < dim; j++) m[r * dim + j]! /= Math.sqrt(s);
  }
  const gallery = new Gallery(dim, { backend: new OrtScoreBackend({ precision: 'int8', intraOpThreads: 1, exactPool: 64 }) });
  gallery.add(Array.from({ length: rows }, (_, r) => ({ subjectId: String(r), embedding: m.subarray(r * dim, (r + 1) * dim) })));
  t.teardown(() => gallery.clear());
  const probes = m.slice(17 * dim, 21 * dim);
  const hits = (await gallery.searchBatchAsync([0, 1, 2, 3].map((i) => probes.subarray(i * dim, (i + 1) * dim)), 3)).map((hs) => hs.map((h) => ({ row: Number(h.subjectId), score: h.score })));
  for (let i = 0; i < 4; i++) {
    const exact = Array.from({ length: rows }, (_, r) => {
      let s = 0;
      for (let j = 0; j < dim; j++) s += m[r * dim + j]! * probes[i * dim + j]!;
      return { row: r, score: s };
    }).sort((x, y) => y.score - x.score);
    t.deepEqual(hits[i]!.map((h) => h.row), exact.slice(0, 3).map((h) => h.row));
    t.true(Math.abs(hits[i]![0]!.score - exact[0]!.score) < 1e-5, 'scores are the exact float cosines');
  }
});

test('lfr models verify passes on the shipped models; quantize refuses a landmarker with a plain message', async (t) => {
  const v = await runCli(['models', 'verify', '--json']);
  t.is(v.code, 0, v.stderr);
  const out = lastJson(v.stdout) as { ok: boolean; models: { id: string; ok: boolean }[] };
  t.true(out.ok);
  t.true(out.models.some((m) => m.id === 'faceplugin-feature-int8' && m.ok));
  const q = await runCli(['models', 'quantize', '--model', 'pfld68']);
  t.is(q.code, 3);
  t.regex(q.stderr, /^lfr: model "pfld68" is a landmarker; only detectors and embedders are quantised/);
  const dir = mkdtempSync(path.join(tmpdir(), 'lfr-quant-cfg-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(path.join(dir, 'c.json'), JSON.stringify({ paths: { modelsDir: dir } }));
  const missing = await runCli(['-c', path.join(dir, 'c.json'), 'models', 'list']);
  t.is(missing.code, 3);
  t.regex(missing.stderr, /model manifest not found/);
});

test('Gallery with the ONNX Runtime backend: searchBatchAsync gives the same subjects and scores as the JS search', async (t) => {
  const dim = 512;
  let a = 11;
  const rnd = () => ((a = (Math.imul(a, 1664525) + 1013904223) >>> 0), a / 4294967296 - 0.5);
  const unit = () => {
    const v = Float32Array.from({ length: dim }, rnd);
    const n = Math.hypot(...v);
    return v.map((x) => x / n);
  };
  // 1,500 subjects with 2 templates each.
  const templates = Array.from({ length: 3000 }, (_, i) => ({ subjectId: `s${Math.floor(i / 2)}`, embedding: unit() }));
  const fast = new Gallery(dim, { backend: new OrtScoreBackend() });
  const plain = new Gallery(dim);
  t.teardown(() => {
    fast.clear();
    plain.clear();
  });
  fast.load(templates);
  plain.load(templates);
  const probes = [templates[10]!.embedding, templates[2001]!.embedding, unit()];
  const got = await fast.searchBatchAsync(probes, 5);
  const want = plain.searchBatch(probes, 5);
  t.deepEqual(got.map((h) => h.map((x) => x.subjectId)), want.map((h) => h.map((x) => x.subjectId)));
  for (let i = 0; i < probes.length; i++) for (let j = 0; j < 5; j++) t.true(Math.abs(got[i]![j]!.score - want[i]![j]!.score) < 1e-5);
  t.is(got[0]![0]!.subjectId, 's5');
});
