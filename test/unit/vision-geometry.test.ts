// Pure geometry of the face pipeline: NMS, SSD priors, Umeyama alignment, 68->5 points.
import test from 'ava';
import { applySimilarity, ARCFACE_112, umeyama, warpSimilarity } from '../../src/vision/align.js';
import { fivePointsFrom, landmarkRoi } from '../../src/vision/landmarks.js';
import { iou, nms } from '../../src/vision/nms.js';
import { featureMapSize, priorCount, ssdPriors } from '../../src/vision/priors.js';
import type { Point } from '../../src/vision/types.js';

const RFB = { strides: [8, 16, 32, 64], minBoxes: [[10, 16, 24], [32, 48], [64, 96], [128, 192, 256]] };

test('iou of identical, disjoint and half-overlapping boxes', (t) => {
  const a = { x: 0, y: 0, width: 10, height: 10 };
  t.is(iou(a, a), 1);
  t.is(iou(a, { x: 20, y: 20, width: 10, height: 10 }), 0);
  t.is(iou(a, { x: 5, y: 0, width: 10, height: 10 }), 50 / 150);
});

test('nms keeps the best of each overlapping group, sorted by score', (t) => {
  const box = (x: number) => ({ x, y: 0, width: 10, height: 10 });
  const kept = nms(
    [
      { box: box(0), score: 0.8 },
      { box: box(1), score: 0.9 }, // overlaps the first (IoU 0.82): wins
      { box: box(50), score: 0.7 },
      { box: box(55), score: 0.75 }, // IoU with 50 is 5/15 = 0.33 < 0.4: both stay
      { box: { x: 0, y: 0, width: 0, height: 5 }, score: 0.99 }, // empty box dropped
    ],
    0.4,
  );
  t.deepEqual(kept.map((k) => k.score), [0.9, 0.75, 0.7]);
  t.is(nms([{ box: box(0), score: 1 }, { box: box(100), score: 0.5 }], 0.4, 1).length, 1);
});

test('prior count at the native 320x240 is the 4420 of the shipped graph', (t) => {
  t.is(priorCount(320, 240, RFB), 4420);
  t.is(ssdPriors(320, 240, RFB).length, 4420 * 4);
});

for (const [w, h] of [[640, 352], [640, 480], [1280, 736], [256, 256], [160, 96]] as const) {
  test(`priors at ${w}x${h}: count, layout and centres`, (t) => {
    const p = ssdPriors(w, h, RFB);
    const expected = RFB.strides.reduce((n, s, k) => n + featureMapSize(w, s) * featureMapSize(h, s) * RFB.minBoxes[k]!.length, 0);
    t.is(p.length, expected * 4);
    // First prior: first cell of stride 8, min box 10.
    const fw = Math.ceil(w / 8);
    const fh = Math.ceil(h / 8);
    t.true(Math.abs(p[0]! - 0.5 / fw) < 1e-6);
    t.true(Math.abs(p[1]! - 0.5 / fh) < 1e-6);
    t.true(Math.abs(p[2]! - 10 / w) < 1e-6);
    t.true(Math.abs(p[3]! - 10 / h) < 1e-6);
    // Last prior: last cell of stride 64, min box 256 (clamped to 1).
    const n = p.length;
    t.true(Math.abs(p[n - 4]! - (Math.ceil(w / 64) - 0.5) / Math.ceil(w / 64)) < 1e-6);
    t.true(Math.abs(p[n - 1]! - Math.min(1, 256 / h)) < 1e-6);
    for (const v of p) t.true(v >= 0 && v <= 1);
  });
}

const close = (a: number, b: number, eps = 1e-6) => Math.abs(a - b) < eps;

test('umeyama recovers a known rotation, scale and translation exactly', (t) => {
  for (const [angle, scale, tx, ty] of [[0.3, 2.5, 10, -4], [-1.2, 0.4, -100, 250], [Math.PI, 1, 0, 0]] as const) {
    const a = scale * Math.cos(angle);
    const b = scale * Math.sin(angle);
    const src: Point[] = [[10, 20], [50, 22], [30, 40], [15, 60], [45, 61]];
    const dst = src.map((p) => applySimilarity({ a, b, tx, ty }, p));
    const est = umeyama(src, dst);
    t.true(close(est.a, a) && close(est.b, b) && close(est.tx, tx, 1e-4) && close(est.ty, ty, 1e-4), JSON.stringify(est));
  }
});

test('umeyama is the least-squares fit under noise and rejects degenerate input', (t) => {
  const src: Point[] = ARCFACE_112.map(([x, y]) => [x * 3 + 100, y * 3 + 50]);
  const noisy: Point[] = src.map(([x, y], i) => [x + (i % 2 ? 1 : -1), y + (i % 3 ? 1 : -1)]);
  const est = umeyama(noisy, ARCFACE_112);
  t.true(Math.abs(Math.hypot(est.a, est.b) - 1 / 3) < 0.01);
  t.true(Math.abs(est.b) < 0.01);
  t.throws(() => umeyama([[1, 1], [1, 1]], [[0, 0], [1, 1]]));
  t.throws(() => umeyama([[1, 1]], [[0, 0]]));
});

test('warp with the identity copies pixels; outside the source is black', (t) => {
  const img = { width: 4, height: 4, data: new Uint8Array(48).map((_, i) => i) };
  const same = warpSimilarity(img, { a: 1, b: 0, tx: 0, ty: 0 }, 4);
  t.deepEqual(Array.from(same.data), Array.from(img.data));
  const shifted = warpSimilarity(img, { a: 1, b: 0, tx: 10, ty: 10 }, 4);
  t.true(shifted.data.every((v) => v === 0));
});

test('68 points reduce to 5 by averaging the manifest groups', (t) => {
  const pts = new Float32Array(136);
  for (let i = 0; i < 68; i++) {
    pts[i * 2] = i;
    pts[i * 2 + 1] = 2 * i;
  }
  const five = fivePointsFrom(pts, { leftEye: [36, 37, 38, 39, 40, 41], rightEye: [42, 43, 44, 45, 46, 47], nose: [30], mouthLeft: [48], mouthRight: [54] });
  t.deepEqual(five, [[38.5, 77], [44.5, 89], [30, 60], [48, 96], [54, 108]]);
});

test('landmark crop is square on the box height, centred', (t) => {
  t.deepEqual(landmarkRoi({ x: 100, y: 50, width: 60, height: 80 }), { x: 90, y: 50, width: 80, height: 80 });
});
