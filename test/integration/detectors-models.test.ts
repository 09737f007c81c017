// The detector adapters against the real ONNX models, through createFaceEngine as a force would
// plug them in: BlazeFace (shipped, always runs); YuNet and SCRFD from ../shared/data/models when
// present (skipped with a message otherwise: those weights are not shipped). Each must find the
// faces of the demo photos with 5 landmarks in a plausible layout, driven by manifest data alone.
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import test from 'ava';
import { parseConfig } from '../../src/config/load.js';
import { silentLogger } from '../../src/log.js';
import { INSTALL_ROOT } from '../../src/paths.js';
import { decodeImageFile } from '../../src/vision/decode.js';
import { createFaceEngine } from '../../src/vision/engine.js';
import type { FaceDetection, RgbImage } from '../../src/vision/types.js';

const DEMO = path.join(INSTALL_ROOT, 'node_modules', '@vladmandic', 'face-api', 'demo');
const SHARED_MODELS = path.resolve(INSTALL_ROOT, '..', 'shared', 'data', 'models');
const tmpDirs: string[] = [];

test.after.always(async () => {
  for (const d of tmpDirs) await rm(d, { recursive: true, force: true });
});

const images = (async () => Promise.all([1, 3].map((k) => decodeImageFile(path.join(DEMO, `sample${k}.jpg`)))))();

/** A models folder holding the shipped manifest plus `extra` entries for files elsewhere. */
async function modelsDirWith(extra: { id: string; file: string; decoder: string; params: object; input: object }[]): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'lfr-det-'));
  tmpDirs.push(dir);
  const shipped = JSON.parse(await readFile(path.join(INSTALL_ROOT, 'models', 'manifest.json'), 'utf8')) as { models: { file: string }[] };
  for (const m of shipped.models) {
    const src = path.join(INSTALL_ROOT, 'models', m.file);
    if (existsSync(src)) await symlink(src, path.join(dir, m.file));
  }
  for (const e of extra) {
    const src = path.join(SHARED_MODELS, e.file);
    await symlink(src, path.join(dir, e.file));
    shipped.models.push({
      id: e.id,
      role: 'detector',
      file: e.file,
      source: { file: src },
      sha256: createHash('sha256').update(await readFile(src)).digest('hex'),
      input: e.input,
      decoder: { name: e.decoder, params: e.params },
      licence: 'test only',
    } as unknown as { file: string });
  }
  await writeFile(path.join(dir, 'manifest.json'), JSON.stringify(shipped));
  return dir;
}

async function detectAll(detector: string, modelsDir?: string): Promise<FaceDetection[][]> {
  const cfg = parseConfig({ vision: { detector, landmarker: 'none', executionProviders: ['cpu'] }, ...(modelsDir ? { paths: { modelsDir } } : {}) });
  const engine = await createFaceEngine(cfg, silentLogger());
  try {
    const out: FaceDetection[][] = [];
    for (const img of await images) out.push(await engine.detect(img));
    return out;
  } finally {
    await engine.close();
  }
}

/** Both demo photos show three people facing the camera. */
function assertPlausible(t: import('ava').ExecutionContext, faces: FaceDetection[][], imgs: RgbImage[]): void {
  faces.forEach((dets, k) => {
    const good = dets; // all above vision.detectorScoreThreshold (0.6)
    t.true(good.length >= 3 && good.length <= 4, `photo ${k}: ${good.length} faces`);
    for (const d of good) {
      const [le, re, nose, ml, mr] = d.landmarks as [number, number][];
      const b = d.box;
      t.is(d.landmarks.length, 5);
      t.true(b.x >= 0 && b.y >= 0 && b.x + b.width <= imgs[k]!.width && b.y + b.height <= imgs[k]!.height);
      // Eyes above the mouth, the image-left eye left of the other, the nose between them.
      t.true(le![0] < re![0], 'eye order');
      t.true(le![1] < ml![1] && re![1] < mr![1], 'eyes above mouth');
      t.true(ml![0] < mr![0], 'mouth order');
      t.true(nose![1] > Math.min(le![1], re![1]) && nose![1] < Math.max(ml![1], mr![1]), 'nose between');
      for (const p of d.landmarks) t.true(p[0] > b.x - b.width * 0.2 && p[0] < b.x + b.width * 1.2 && p[1] > b.y - b.height * 0.2 && p[1] < b.y + b.height * 1.2, 'point near its box');
    }
  });
}

for (const id of ['blazeface-back256', 'blazeface-front128']) {
  test(`${id} (shipped) finds the demo faces with 5 landmarks`, async (t) => {
    const faces = await detectAll(id);
    if (id === 'blazeface-front128') {
      // The short-range model is meant for selfie distance; on group photos require only that
      // what it reports is well formed.
      t.true(faces.flat().every((d) => d.landmarks.length === 5 && d.box.width > 0));
      return;
    }
    assertPlausible(t, faces, await images);
  });
}

const thirdParty = [
  { id: 'yunet-n', file: 'yunet_n_dynamic.onnx', decoder: 'yunet', params: { strides: [8, 16, 32] }, input: { name: 'input', layout: 'NCHW', width: 640, height: 640, dynamic: true, channelOrder: 'BGR', mean: [0, 0, 0], std: [1, 1, 1] } },
  { id: 'yunet-s640', file: 'yunet_s_640_640.onnx', decoder: 'yunet', params: { strides: [8, 16, 32] }, input: { name: 'input', layout: 'NCHW', width: 640, height: 640, dynamic: false, channelOrder: 'BGR', mean: [0, 0, 0], std: [1, 1, 1] } },
  { id: 'scrfd-500m', file: 'scrfd_500m_kps.onnx', decoder: 'scrfd', params: { strides: [8, 16, 32], anchorsPerCell: 2 }, input: { name: 'images', layout: 'NCHW', width: 640, height: 640, dynamic: false, channelOrder: 'RGB', mean: [127.5, 127.5, 127.5], std: [128, 128, 128] } },
  { id: 'scrfd-2.5g', file: 'scrfd_2.5g_kps.onnx', decoder: 'scrfd', params: { strides: [8, 16, 32], anchorsPerCell: 2 }, input: { name: 'images', layout: 'NCHW', width: 640, height: 640, dynamic: false, channelOrder: 'RGB', mean: [127.5, 127.5, 127.5], std: [128, 128, 128] } },
];

for (const m of thirdParty) {
  const present = existsSync(path.join(SHARED_MODELS, m.file));
  const title = `${m.id} plugged in by manifest finds the demo faces with 5 landmarks`;
  if (!present) {
    test.skip(`${title} (skipped: ${path.join(SHARED_MODELS, m.file)} not found; third-party weights are not shipped)`, () => undefined);
    continue;
  }
  test(title, async (t) => {
    const dir = await modelsDirWith([m]);
    assertPlausible(t, await detectAll(m.id, dir), await images);
  });
}
