// Pure pre/post-processing: tensor filling, SSD decoding, scale plan, L2 norm, quality gates.
import test from 'ava';
import { ARCFACE_112 } from '../../src/vision/align.js';
import { coarsePlan, decodeSsd, mergeScales, rescalePlan, rescaleRegion, rfbInputSize, rfbScalePlan } from '../../src/vision/detectors/rfb.js';
import { cosine, l2normalize } from '../../src/vision/embedder.js';
import { cropRect } from '../../src/vision/jpeg.js';
import { fullRoi, toTensor } from '../../src/vision/preprocess.js';
import { assessQuality, laplacianVariance, poseFromFivePoints } from '../../src/vision/quality.js';
import type { FaceDetection, Point, RgbImage } from '../../src/vision/types.js';

const solid = (w: number, h: number, rgb: [number, number, number]): RgbImage => {
  const data = new Uint8Array(w * h * 3);
  for (let i = 0; i < w * h; i++) data.set(rgb, i * 3);
  return { width: w, height: h, data };
};

test('toTensor normalises, orders channels and lays out NCHW / NHWC', (t) => {
  const img = solid(4, 2, [10, 20, 30]);
  const nchw = toTensor(img, fullRoi(img), { width: 2, height: 2, layout: 'NCHW', channelOrder: 'RGB', mean: [10, 10, 10], std: [10, 10, 10] });
  t.deepEqual(Array.from(nchw), [0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2]);
  const bgr = toTensor(img, fullRoi(img), { width: 1, height: 1, layout: 'NHWC', channelOrder: 'BGR', mean: [0], std: [1] });
  t.deepEqual(Array.from(bgr), [30, 20, 10]);
  const grey = toTensor(img, fullRoi(img), { width: 1, height: 1, layout: 'NCHW', channelOrder: 'GREY', mean: [0], std: [256] });
  t.true(Math.abs(grey[0]! - (0.299 * 10 + 0.587 * 20 + 0.114 * 30) / 256) < 1e-6);
  t.throws(() => toTensor(img, fullRoi(img), { width: 2, height: 2, layout: 'NCHW', channelOrder: 'RGB', mean: [0], std: [1] }, { out: new Float32Array(3) }));
});

test('toTensor flipX mirrors the image', (t) => {
  const img: RgbImage = { width: 2, height: 1, data: new Uint8Array([0, 0, 0, 200, 200, 200]) };
  const spec = { width: 2, height: 1, layout: 'NHWC' as const, channelOrder: 'RGB' as const, mean: [0], std: [1] };
  t.deepEqual(Array.from(toTensor(img, fullRoi(img), spec)), [0, 0, 0, 200, 200, 200]);
  t.deepEqual(Array.from(toTensor(img, fullRoi(img), spec, { flipX: true })), [200, 200, 200, 0, 0, 0]);
});

test('decodeSsd: zero offsets give the prior box; threshold and NMS apply', (t) => {
  const priors = new Float32Array([0.5, 0.5, 0.2, 0.4, 0.52, 0.5, 0.2, 0.4, 0.1, 0.1, 0.1, 0.1]);
  const scores = new Float32Array([0.1, 0.9, 0.2, 0.8, 0.7, 0.3]);
  const locs = new Float32Array(12);
  const p = { strides: [], minBoxes: [], centerVariance: 0.1, sizeVariance: 0.2, scoreThreshold: 0.5, nmsIou: 0.4 };
  const faces = decodeSsd(scores, locs, priors, 100, 200, p);
  t.is(faces.length, 1); // the second overlaps the first; the third is below threshold
  const f = faces[0]!;
  t.is(f.score, scores[1]!);
  t.true(Math.abs(f.box.x - 40) < 1e-4 && Math.abs(f.box.y - 60) < 1e-4 && Math.abs(f.box.width - 20) < 1e-4 && Math.abs(f.box.height - 80) < 1e-4);
  // A size offset of 1 multiplies the size by exp(0.2).
  locs[2] = 1;
  const g = decodeSsd(scores, locs, priors, 100, 200, p)[0]!;
  t.true(Math.abs(g.box.width - 20 * Math.exp(0.2)) < 1e-3);
});

test('detector input size: configured width, aspect height, multiples of 32, never upscaled', (t) => {
  t.deepEqual(rfbInputSize(1280, 720, 640), { width: 640, height: 352 });
  t.deepEqual(rfbScalePlan(1920, 1080, 640), { fine: { width: 640, height: 352 } });
  t.deepEqual(rfbScalePlan(250, 250, 640), { fine: { width: 256, height: 256 } });
  t.deepEqual(rfbScalePlan(100, 60, 640).fine, { width: 96, height: 64 });
});

const face = (y: number, h: number, score = 0.9): FaceDetection => ({ box: { x: 0, y, width: h, height: h }, score, landmarks: [] });

test('rescalePlan: a face above 100 px of fine input gets a pass where it is ~80 px; small faces get none', (t) => {
  // LFW still: 250 px image at 256 px of input, face 115 px -> a pass at 160 (174 rounded to 32).
  t.deepEqual(rescalePlan([face(60, 115)], 250, 250, 256), [{ size: { width: 160, height: 160 }, faces: [0] }]);
  t.deepEqual(rescalePlan([face(60, 90)], 250, 250, 256), [], '90 px of input is fine as it is');
  // 1280x720 frame at 640: a 600 px face (300 input px) -> a pass at 160; a 40 px face none.
  const plan = rescalePlan([face(0, 40), face(100, 600)], 1280, 720, 640);
  t.deepEqual(plan, [{ size: { width: 160, height: 96 }, faces: [1] }]);
  // Three large faces of different sizes share at most two passes (the extremes).
  const three = rescalePlan([face(0, 330), face(300, 500), face(800, 900)], 1920, 1080, 640);
  t.is(three.length, 2);
  t.deepEqual(three.flatMap((p) => p.faces).sort(), [0, 1, 2]);
});

test('rescaleRegion: the faces with one face of margin, clipped to the image', (t) => {
  t.deepEqual(rescaleRegion([{ x: 100, y: 100, width: 200, height: 240 }], 1920, 1080), { x: 0, y: 0, width: 540, height: 580 });
  t.deepEqual(rescaleRegion([{ x: 1000, y: 500, width: 100, height: 100 }, { x: 1500, y: 600, width: 120, height: 120 }], 1920, 1080), { x: 900, y: 400, width: 840, height: 440 });
});

test('mergeScales: a large fine face is replaced by its match from its own pass, else kept', (t) => {
  const merged = mergeScales([face(0, 60), face(1000, 400, 0.95), face(3000, 300, 0.9)], [{ faces: [1, 2], found: [face(1010, 390, 0.8), face(5000, 50, 0.99)] }], 0.4);
  t.deepEqual(merged.map((m) => m.box.y).sort((a, b) => a - b), [0, 1010, 3000]);
  t.is(merged.find((m) => m.box.y === 1010)!.score, 0.8);
});

test('l2normalize and cosine', (t) => {
  const v = l2normalize(new Float32Array([3, 4]));
  t.true(Math.abs(v[0]! - 0.6) < 1e-6 && Math.abs(v[1]! - 0.8) < 1e-6);
  t.deepEqual(Array.from(l2normalize(new Float32Array(3))), [0, 0, 0]);
  t.true(Math.abs(cosine(v, v) - 1) < 1e-6);
  t.throws(() => cosine(v, new Float32Array(3)));
});

test('pose from 5 points: the ArcFace template is frontal; rotation shows as roll; a shifted nose as yaw', (t) => {
  const p0 = poseFromFivePoints(ARCFACE_112 as Point[]);
  t.true(Math.abs(p0.yawDeg) < 1 && Math.abs(p0.pitchDeg) < 1 && Math.abs(p0.rollDeg) < 1, JSON.stringify(p0));
  const r = (30 * Math.PI) / 180;
  const rotated = ARCFACE_112.map(([x, y]) => [x * Math.cos(r) - y * Math.sin(r), x * Math.sin(r) + y * Math.cos(r)] as Point);
  const p1 = poseFromFivePoints(rotated);
  t.true(Math.abs(p1.rollDeg - 30) < 0.5 && Math.abs(p1.yawDeg) < 1 && Math.abs(p1.pitchDeg) < 1, JSON.stringify(p1));
  const turned = ARCFACE_112.map((p, i) => (i === 2 ? ([p[0] + 15, p[1]] as Point) : p));
  t.true(poseFromFivePoints(turned).yawDeg > 30);
  const down = ARCFACE_112.map((p, i) => (i === 2 ? ([p[0], p[1] + 12] as Point) : p));
  t.true(poseFromFivePoints(down).pitchDeg > 20);
});

test('sharpness: a flat face is 0, a checkerboard is high', (t) => {
  t.is(laplacianVariance(solid(112, 112, [128, 128, 128])), 0);
  const cb = solid(112, 112, [0, 0, 0]);
  for (let y = 0; y < 112; y++) for (let x = 0; x < 112; x++) if ((x + y) % 2) cb.data.fill(255, (y * 112 + x) * 3, (y * 112 + x) * 3 + 3);
  t.true(laplacianVariance(cb) > 1000);
});

test('quality gates give one reason per failed check', (t) => {
  const gates = { minInterEyePx: 30, minSharpness: 10, maxYawDeg: 25, maxPitchDeg: 25, minDetectorScore: 0.8 };
  const frontal = (scale: number, score: number): FaceDetection => ({
    box: { x: 0, y: 0, width: 112 * scale, height: 112 * scale },
    score,
    landmarks: ARCFACE_112.map(([x, y]) => [x * scale, y * scale] as Point),
  });
  const flat = solid(112, 112, [100, 100, 100]);
  const cb = solid(112, 112, [0, 0, 0]);
  for (let i = 0; i < 112 * 112; i += 2) cb.data.fill(200, i * 3, i * 3 + 3);
  const good = assessQuality(frontal(2, 0.99), cb, gates);
  t.true(good.ok, JSON.stringify(good.reasons));
  t.true(Math.abs(good.interEyePx - 2 * 35.24) < 0.1);
  const bad = assessQuality(frontal(0.5, 0.5), flat, gates);
  t.false(bad.ok);
  t.deepEqual(bad.reasons.map((r) => r.code), ['too_small', 'blurred', 'low_score']);
  t.true(bad.reasons.every((r) => r.message.length > 10));
  const turned = frontal(2, 0.99);
  turned.landmarks[2] = [turned.landmarks[2]![0] + 30, turned.landmarks[2]![1]];
  t.deepEqual(assessQuality(turned, cb, gates).reasons.map((r) => r.code), ['pose']);
});

test('face crop rectangle adds a margin and stays inside the image', (t) => {
  t.deepEqual(cropRect({ width: 100, height: 100 }, { x: 40, y: 40, width: 20, height: 20 }, 0.5), { left: 30, top: 30, width: 40, height: 40 });
  t.deepEqual(cropRect({ width: 100, height: 100 }, { x: 0, y: 90, width: 20, height: 20 }, 0.5), { left: 0, top: 80, width: 30, height: 20 });
});

test('coarsePlan: a tall still gets a coarse pass for faces too large for its fine pass; camera frames and small stills do not', (t) => {
  t.deepEqual(coarsePlan(625, 625, rfbScalePlan(625, 625, 640).fine), { width: 224, height: 224 });
  t.deepEqual(coarsePlan(1000, 1000, rfbScalePlan(1000, 1000, 640).fine), { width: 224, height: 224 });
  t.deepEqual(coarsePlan(1080, 1920, rfbScalePlan(1080, 1920, 640).fine), { width: 128, height: 224 }, 'portrait phone photo');
  t.is(coarsePlan(1920, 1080, rfbScalePlan(1920, 1080, 640).fine), null, '1080p camera frame at 640');
  t.is(coarsePlan(1280, 720, rfbScalePlan(1280, 720, 640).fine), null, '720p camera frame at 640');
  t.is(coarsePlan(250, 250, rfbScalePlan(250, 250, 640).fine), null, 'LFW still at 256');
});
