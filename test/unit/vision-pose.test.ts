// Unit: head pose from 68 landmarks (vision/pose.ts), cut-off faces and area resampling. Pure.
import test from 'ava';
import { PITCH_OFFSET_DEG, poseFromShape68, projectMeanFace } from '../../src/vision/pose.js';
import { assessQuality, outsideFraction } from '../../src/vision/quality.js';
import { areaCrop } from '../../src/vision/resample.js';
import { boxFromPoints } from '../../src/vision/landmarks.js';
import type { FaceDetection, RgbImage } from '../../src/vision/types.js';

test('the mean-face fit recovers the yaw and pitch the points were projected at', (t) => {
  for (const yaw of [-50, -25, 0, 10, 30]) {
    for (const pitch of [-20, 0, 15]) {
      const p = poseFromShape68(projectMeanFace({ yawDeg: yaw, pitchDeg: pitch, rollDeg: 0 }));
      t.true(Math.abs(p.yawDeg - yaw) < 0.5, `yaw ${yaw} -> ${p.yawDeg.toFixed(2)}`);
      t.true(Math.abs(p.pitchDeg - pitch) < 0.5, `pitch ${pitch} -> ${p.pitchDeg.toFixed(2)}`);
    }
  }
});

test('pose signs: nose to the image right is positive yaw; roll follows the eye line; scale and position do not matter', (t) => {
  const right = poseFromShape68(projectMeanFace({ yawDeg: 20, pitchDeg: 0, rollDeg: 0 }, 0.8, 400, 300));
  t.true(right.yawDeg > 19 && right.yawDeg < 21);
  // Facing the camera squarely in the model's frame (the pitch offset is a camera-frame constant).
  const pts = projectMeanFace({ yawDeg: 0, pitchDeg: PITCH_OFFSET_DEG, rollDeg: 0 });
  // Rotate the image points by 10 degrees (image y down: the right eye goes lower).
  const a = (10 * Math.PI) / 180;
  const rot = pts.map((_, i) => (i % 2 === 0 ? 100 + (pts[i]! - 100) * Math.cos(a) - (pts[i + 1]! - 100) * Math.sin(a) : 100 + (pts[i - 1]! - 100) * Math.sin(a) + (pts[i]! - 100) * Math.cos(a)));
  const r = poseFromShape68(rot);
  t.true(Math.abs(r.rollDeg - 10) < 0.5, `roll ${r.rollDeg}`);
  t.true(Math.abs(r.yawDeg) < 1 && Math.abs(r.pitchDeg - PITCH_OFFSET_DEG) < 1, 'in-plane rotation is not read as yaw or pitch');
  t.throws(() => poseFromShape68(new Float32Array(10)), { instanceOf: RangeError });
});

const gates = { minInterEyePx: 10, minSharpness: 0, maxYawDeg: 25, maxPitchDeg: 25, minDetectorScore: 0.5 };
const blank: RgbImage = { width: 112, height: 112, data: new Uint8Array(112 * 112 * 3).fill(128) };

function detAt(yaw: number, dx = 0): FaceDetection {
  const shape68 = projectMeanFace({ yawDeg: yaw, pitchDeg: 0, rollDeg: 0 }, 0.3, 100 + dx, 100);
  const p = (i: number): [number, number] => [shape68[i * 2]!, shape68[i * 2 + 1]!];
  const mid = (a: number, b: number): [number, number] => [(p(a)[0] + p(b)[0]) / 2, (p(a)[1] + p(b)[1]) / 2];
  return { box: { x: 40 + dx, y: 40, width: 120, height: 120 }, score: 0.9, landmarks: [mid(36, 39), mid(42, 45), p(30), [80 + dx, 145], [120 + dx, 145]], shape68 };
}

test('assessQuality takes pose from the 68 points when present and names a turned face', (t) => {
  t.deepEqual(assessQuality(detAt(5), blank, gates, undefined, { width: 200, height: 200 }).reasons.map((r) => r.code), []);
  const turned = assessQuality(detAt(40), blank, gates, undefined, { width: 200, height: 200 });
  t.deepEqual(turned.reasons.map((r) => r.code), ['pose']);
  t.regex(turned.reasons[0]!.message, /face turned too far: yaw 40/);
});

test('a face whose eyes, nose or mouth fall outside the frame is cut_off, with a plain reason', (t) => {
  const inside = detAt(0);
  t.is(outsideFraction(inside, { width: 200, height: 220 }), 0);
  const cut = detAt(0, -80); // shifted left: the image-left eye is outside the frame
  t.true(outsideFraction(cut, { width: 200, height: 200 }) > 0.15);
  const q = assessQuality(cut, blank, gates, undefined, { width: 200, height: 200 });
  t.true(q.reasons.some((r) => r.code === 'cut_off' && /cut off by the edge of the image/.test(r.message)));
  // Without the frame size (callers that do not know it) nothing is claimed.
  t.false(assessQuality(cut, blank, gates).reasons.some((r) => r.code === 'cut_off'));
});

test('areaCrop averages every source pixel under an output pixel (a 4x4 checkerboard shrinks to flat grey)', (t) => {
  const W = 64, H = 64, data = new Uint8Array(W * H * 3);
  for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) data.fill((x + y) % 2 ? 255 : 0, (y * W + x) * 3, (y * W + x) * 3 + 3);
  const out = areaCrop({ width: W, height: H, data }, { x: 0, y: 0, width: 64, height: 64 }, 16, 16);
  t.is(out.width, 16);
  for (const v of out.data) t.true(Math.abs(v - 127.5) <= 1);
  // Outside the image the edge repeats.
  const edge = areaCrop({ width: 2, height: 1, data: Uint8Array.of(10, 10, 10, 200, 200, 200) }, { x: -2, y: 0, width: 2, height: 1 }, 1, 1);
  t.deepEqual([...edge.data], [10, 10, 10]);
});

test('boxFromPoints: the square box the detector would give, centred on the points, from the manifest ratios', (t) => {
  const pts = new Float32Array(136);
  for (let i = 0; i < 68; i++) {
    pts[i * 2] = 100 + (i % 2 ? 40 : -40);
    pts[i * 2 + 1] = 100 + (i % 3 ? 50 : -50);
  }
  const b = boxFromPoints(pts, { passes: 1, centreY: -0.1, height: 1.3 });
  t.is(b.height, 130);
  t.is(b.width, 130);
  t.is(b.x + b.width / 2, 100);
  t.is(b.y + b.height / 2, 90);
});
