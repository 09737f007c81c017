// Decoding of the third-party detector adapters on synthetic network outputs (no model needed):
// BlazeFace anchors, blending and 6 -> 5 points; YuNet grid decoding; SCRFD distance decoding and
// output matching by shape.
import test from 'ava';
import { BLAZEFACE_HEADS, blazeToFivePoints, blendOverlaps, decodeBlazeHead, MOUTH_HALF_WIDTH, squareRoi, toDetections } from '../../src/vision/detectors/blazeface.js';
import { decodeScrfdStride, pickScrfdOutputs } from '../../src/vision/detectors/scrfd.js';
import { clipDetections, decodeYunetStride, yunetInput } from '../../src/vision/detectors/yunet.js';

const close = (a: number, b: number, eps = 1e-4): boolean => Math.abs(a - b) < eps;

test('BlazeFace: one confident anchor decodes relative to its cell centre', (t) => {
  const { cells, anchors } = BLAZEFACE_HEADS[0];
  const n = cells * cells * anchors;
  const scores = new Float32Array(n).fill(-10);
  const boxes = new Float32Array(n * 16);
  // cell (x=3, y=5), anchor 1; 128 px input: centre offset (+8, -4) px, size 32 x 40 px.
  const i = (5 * cells + 3) * anchors + 1;
  scores[i] = 4;
  boxes.set([8, -4, 32, 40, -6, -4, 6, -4, 0, 2, 0, 10, -14, 0, 14, 0], i * 16);
  const raw = decodeBlazeHead(scores, boxes, cells, anchors, 128, 0.5);
  t.is(raw.length, 1);
  const r = raw[0]!;
  t.true(close(r.score, 1 / (1 + Math.exp(-4))));
  t.true(close(r.box.cx, 3.5 / 16 + 8 / 128));
  t.true(close(r.box.cy, 5.5 / 16 - 4 / 128));
  t.true(close(r.box.w, 32 / 128) && close(r.box.h, 40 / 128));
  t.true(close(r.keypoints[0]![0], 3.5 / 16 - 6 / 128));
  t.true(close(r.keypoints[3]![1], 5.5 / 16 + 10 / 128));
  t.is(decodeBlazeHead(scores, boxes, cells, anchors, 128, 0.99).length, 0);
});

test('BlazeFace: overlapping boxes are blended by score, separate ones kept', (t) => {
  const kp = (x: number): [number, number][] => Array.from({ length: 6 }, () => [x, x] as [number, number]);
  const a = { box: { cx: 0.5, cy: 0.5, w: 0.2, h: 0.2 }, keypoints: kp(0.5), score: 0.9 };
  const b = { box: { cx: 0.52, cy: 0.5, w: 0.2, h: 0.2 }, keypoints: kp(0.6), score: 0.6 };
  const far = { box: { cx: 0.1, cy: 0.1, w: 0.1, h: 0.1 }, keypoints: kp(0.1), score: 0.7 };
  const out = blendOverlaps([b, far, a]);
  t.is(out.length, 2);
  t.is(out[0]!.score, 0.9);
  t.true(close(out[0]!.box.cx, (0.5 * 0.9 + 0.52 * 0.6) / 1.5));
  t.true(close(out[0]!.keypoints[2]![0], (0.5 * 0.9 + 0.6 * 0.6) / 1.5));
  t.is(out[1]!.score, 0.7);
});

test('BlazeFace: mouth corners are synthesised along the eye line at the ArcFace proportion', (t) => {
  t.true(MOUTH_HALF_WIDTH > 0.41 && MOUTH_HALF_WIDTH < 0.42);
  const five = blazeToFivePoints([[40, 50], [80, 50], [60, 70], [60, 90], [20, 60], [100, 60]]);
  t.deepEqual(five.slice(0, 3), [[40, 50], [80, 50], [60, 70]]);
  t.true(close(five[3]![0], 60 - 40 * MOUTH_HALF_WIDTH) && close(five[3]![1], 90));
  t.true(close(five[4]![0], 60 + 40 * MOUTH_HALF_WIDTH));
});

test('BlazeFace: letterbox square maps back to image pixels', (t) => {
  const img = { width: 200, height: 100 };
  const roi = squareRoi(img);
  t.deepEqual(roi, { x: 0, y: -50, width: 200, height: 200 });
  const dets = toDetections([{ box: { cx: 0.5, cy: 0.5, w: 0.2, h: 0.2 }, keypoints: Array.from({ length: 6 }, () => [0.5, 0.5] as [number, number]), score: 0.8 }], roi, img);
  t.deepEqual(dets[0]!.box, { x: 80, y: 30, width: 40, height: 40 });
  t.deepEqual(dets[0]!.landmarks[2], [100, 50]);
});

test('YuNet: grid decoding of box and keypoints, score = sqrt(cls * obj)', (t) => {
  const stride = 16;
  const padW = 64;
  const padH = 32; // 4 x 2 cells
  const n = 8;
  const cls = new Float32Array(n);
  const obj = new Float32Array(n);
  const bbox = new Float32Array(n * 4);
  const kps = new Float32Array(n * 10);
  const i = 1 * 4 + 2; // row 1, col 2
  cls[i] = 0.81;
  obj[i] = 1.2; // clamped to 1
  bbox.set([0.5, 0.25, Math.log(2), Math.log(3)], i * 4);
  kps.set([0, 0, 1, 0, 0.5, 0.5, 0, 1, 1, 1], i * 10);
  const d = decodeYunetStride({ stride, cls, obj, bbox, kps }, padW, padH, 0.5, 2);
  t.is(d.length, 1);
  t.true(close(d[0]!.score, 0.9));
  // centre ((2.5) * 16, (1.25) * 16) = (40, 20); size 32 x 48; image scale 2.
  t.true(close(d[0]!.box.x, (40 - 16) * 2) && close(d[0]!.box.y, (20 - 24) * 2));
  t.true(close(d[0]!.box.width, 64) && close(d[0]!.box.height, 96));
  t.deepEqual(d[0]!.landmarks[1], [3 * 16 * 2, 1 * 16 * 2]);
  t.deepEqual(clipDetections(d, 100, 100)[0]!.box.y, 0);
  t.is(decodeYunetStride({ stride, cls, obj, bbox, kps }, padW, padH, 0.95).length, 0);
});

test('YuNet/SCRFD input: fixed inputs scale to fit, dynamic ones never upscale and pad to 32', (t) => {
  t.deepEqual(yunetInput(1280, 720, { width: 640, height: 640 }, 640), { scale: 0.5, contentW: 640, contentH: 360, padW: 640, padH: 640 });
  t.deepEqual(yunetInput(250, 250, undefined, 640), { scale: 1, contentW: 250, contentH: 250, padW: 256, padH: 256 });
  t.deepEqual(yunetInput(1920, 1080, undefined, 640), { scale: 1 / 3, contentW: 640, contentH: 360, padW: 640, padH: 384 });
});

test('SCRFD: distances from the anchor point, 2 anchors per cell, outputs matched by shape', (t) => {
  const inW = 32;
  const inH = 32;
  const stride = 16; // 2 x 2 cells x 2 anchors
  const n = 8;
  const scores = new Float32Array(n);
  const boxes = new Float32Array(n * 4);
  const kps = new Float32Array(n * 10);
  const i = (1 * 2 + 1) * 2 + 1; // row 1, col 1, anchor 1: anchor point (16, 16)
  scores[i] = 0.7;
  boxes.set([0.5, 1, 0.5, 1], i * 4);
  kps.set([-0.25, -0.25, 0.25, -0.25, 0, 0, -0.2, 0.5, 0.2, 0.5], i * 10);
  const d = decodeScrfdStride({ stride, scores, boxes, kps }, inW, inH, 2, 0.5);
  t.is(d.length, 1);
  t.deepEqual(d[0]!.box, { x: 8, y: 0, width: 16, height: 32 });
  t.deepEqual(d[0]!.landmarks[0], [12, 12]);
  t.deepEqual(d[0]!.landmarks[2], [16, 16]);
  const outs = {
    out0: { dims: [1, n, 1], data: scores },
    out1: { dims: [1, n, 4], data: boxes },
    out2: { dims: [1, n, 10], data: kps },
  };
  const picked = pickScrfdOutputs(outs, [16], inW, inH, 2, 'x');
  t.is(picked[0]!.boxes, boxes);
  t.is(picked[0]!.kps, kps);
  t.throws(() => pickScrfdOutputs(outs, [8], inW, inH, 2, 'x'), { message: /stride 8/ });
});
