// Head pose from the 68 iBUG landmarks: a least-squares fit of a generic 3-D face under weak
// perspective (scaled orthographic projection: a face of ~20 cm seen from metres away), instead
// of ratios of the 5 alignment points. Why: the 5-point ratios read the nose's height between the
// eye and mouth lines, which moves with a smile or an open mouth as much as with pitch (the bbt
// portraits: frontal smiling faces read as 26-27 degrees of pitch and failed the enrolment gate).
// The fit uses only points on rigid structure (eye corners, nose bridge, tip and base, chin),
// and every point weighs in, so one bad landmark moves it less.
//
// Model points: the generic 3-D face widely used with solvePnP (nose tip at the origin, outer eye
// corners at +-225, chin; units ~ 0.2 mm), with the inner eye corners, the nasion and the nose
// base added, and the mouth corners left out (a smile moves them as much as a 20-degree pitch).
// x to the image right, y up, z toward the camera.
//
// Calibrated on the landmark model's own points (820 LFW faces, one per 7th identity): under a
// correct model, the fitted camera row a (x) and b (depth) of each face satisfy a^2 + b^2 = w^2
// for any yaw (the face's width foreshortens as its depth shows). Regressing a^2 on b^2 over the
// LFW faces gave slope -0.32 with the generic proportions: the generic face is too wide and too
// shallow for where PFLD puts its points, and overstated yaw by a factor of about 1.8 (a face
// turned 20 degrees read as 33). Scaling x by 0.84 and depth by 1.42 gives slope -1.0 and
// intercept 1.03. With that, LFW's median pitch was -7.1 degrees; LFW's press photos are taken
// at eye level, so PITCH_OFFSET_DEG re-centres it.
const X_SCALE = 0.84;
const Z_SCALE = 1.42;
export const PITCH_OFFSET_DEG = 7.1;

const GENERIC: ReadonlyArray<readonly [number, readonly [number, number, number]]> = [
  [30, [0, 0, 0]], // nose tip
  [27, [0, 170, -80]], // nasion, between the eyes
  [33, [0, -50, -80]], // nose base (subnasale)
  [31, [-55, -40, -100]], // image-left nostril wing
  [35, [55, -40, -100]], // image-right nostril wing
  [8, [0, -330, -65]], // chin
  [36, [-225, 170, -135]], // outer corner of the image-left eye
  [39, [-75, 170, -125]], // inner corner of the image-left eye
  [42, [75, 170, -125]], // inner corner of the image-right eye
  [45, [225, 170, -135]], // outer corner of the image-right eye
];

/** iBUG-68 index -> [x, y, z] of the calibrated mean face. */
export const MEAN_FACE_3D: ReadonlyArray<readonly [number, readonly [number, number, number]]> = GENERIC.map(
  ([i, [x, y, z]]) => [i, [x * X_SCALE, y, z * Z_SCALE]] as const,
);

export interface Pose {
  yawDeg: number;
  pitchDeg: number;
  rollDeg: number;
}

const deg = (r: number): number => (r * 180) / Math.PI;

/** Centred model points and the inverse of their 3x3 scatter matrix (constant: computed once). */
const MODEL = (() => {
  const n = MEAN_FACE_3D.length;
  const c = [0, 0, 0];
  for (const [, p] of MEAN_FACE_3D) for (let k = 0; k < 3; k++) c[k]! += p[k]! / n;
  const X = MEAN_FACE_3D.map(([, p]) => [p[0] - c[0]!, p[1] - c[1]!, p[2] - c[2]!] as [number, number, number]);
  const S = [0, 0, 0, 0, 0, 0, 0, 0, 0];
  for (const x of X) for (let i = 0; i < 3; i++) for (let j = 0; j < 3; j++) S[i * 3 + j]! += x[i]! * x[j]!;
  return { X, inv: invert3(S), idx: MEAN_FACE_3D.map(([i]) => i) };
})();

function invert3(m: number[]): number[] {
  const [a, b, c, d, e, f, g, h, i] = m as [number, number, number, number, number, number, number, number, number];
  const A = e * i - f * h, B = -(d * i - f * g), C = d * h - e * g;
  const det = a * A + b * B + c * C;
  if (Math.abs(det) < 1e-12) throw new Error('pose model points are degenerate');
  return [A / det, -(b * i - c * h) / det, (b * f - c * e) / det, B / det, (a * i - c * g) / det, -(a * f - c * d) / det, C / det, -(a * h - b * g) / det, (a * e - b * d) / det];
}

const norm = (v: number[]): number[] => {
  const l = Math.hypot(v[0]!, v[1]!, v[2]!) || 1;
  return [v[0]! / l, v[1]! / l, v[2]! / l];
};

/**
 * Yaw, pitch and roll in degrees from the 68 points (x,y interleaved, image pixels, y down).
 * Signs as poseFromFivePoints: yaw > 0 when the nose turns toward the image right, pitch > 0
 * when the face looks down, roll > 0 when the image-right eye is lower.
 */
export function poseFromShape68(points: ArrayLike<number>): Pose {
  if (points.length < 136) throw new RangeError(`pose needs 68 points (136 values), got ${points.length}`);
  const { X, inv, idx } = MODEL;
  const n = idx.length;
  // Image points, y flipped to point up like the model, centred.
  let mx = 0, my = 0;
  for (const i of idx) {
    mx += points[i * 2]! / n;
    my += -points[i * 2 + 1]! / n;
  }
  // Least-squares affine camera M (2x3): M = Q X^T (X X^T)^-1.
  const QX = [0, 0, 0, 0, 0, 0];
  idx.forEach((i, k) => {
    const qx = points[i * 2]! - mx, qy = -points[i * 2 + 1]! - my;
    for (let j = 0; j < 3; j++) {
      QX[j]! += qx * X[k]![j]!;
      QX[3 + j]! += qy * X[k]![j]!;
    }
  });
  const row = (r: number): number[] => [0, 1, 2].map((j) => QX[r * 3]! * inv[j]! + QX[r * 3 + 1]! * inv[3 + j]! + QX[r * 3 + 2]! * inv[6 + j]!);
  let r1 = norm(row(0));
  let r2 = norm(row(1));
  // Nearest pair of orthonormal rows (split the correction evenly between the two).
  const c = r1[0]! * r2[0]! + r1[1]! * r2[1]! + r1[2]! * r2[2]!;
  [r1, r2] = [norm(r1.map((v, k) => v - (c / 2) * r2[k]!)), norm(r2.map((v, k) => v - (c / 2) * r1[k]!))];
  const r3 = [r1[1]! * r2[2]! - r1[2]! * r2[1]!, r1[2]! * r2[0]! - r1[0]! * r2[2]!, r1[0]! * r2[1]! - r1[1]! * r2[0]!];
  // R = [r1; r2; r3] takes the model into the camera frame; the nose axis (0,0,1) goes to column 3.
  const yaw = Math.atan2(r1[2]!, r3[2]!);
  const pitch = Math.asin(Math.max(-1, Math.min(1, -r2[2]!))) + (PITCH_OFFSET_DEG * Math.PI) / 180;
  // Roll from the eye line in the image, as the 5-point estimate (image y down).
  const ex = (points[45 * 2]! + points[42 * 2]!) / 2 - (points[36 * 2]! + points[39 * 2]!) / 2;
  const ey = (points[45 * 2 + 1]! + points[42 * 2 + 1]!) / 2 - (points[36 * 2 + 1]! + points[39 * 2 + 1]!) / 2;
  return { yawDeg: deg(yaw), pitchDeg: deg(pitch), rollDeg: deg(Math.atan2(ey, ex)) };
}

/** The model's points projected at a pose (for tests): image pixels, y down, 68 slots (others 0). */
export function projectMeanFace(p: Pose, scale = 0.3, cx = 100, cy = 100): Float32Array {
  const y = (p.yawDeg * Math.PI) / 180, x = ((p.pitchDeg - PITCH_OFFSET_DEG) * Math.PI) / 180;
  const out = new Float32Array(136);
  for (const [i, [X, Y, Z]] of MEAN_FACE_3D) {
    // Pitch (about x: positive looks down, the nose moves down), then yaw (about y).
    const y1 = Y * Math.cos(x) - Z * Math.sin(x);
    const z1 = Y * Math.sin(x) + Z * Math.cos(x);
    const x2 = X * Math.cos(y) + z1 * Math.sin(y);
    out[i * 2] = cx + scale * x2;
    out[i * 2 + 1] = cy - scale * y1;
  }
  return out;
}
