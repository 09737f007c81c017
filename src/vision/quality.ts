// Quality of a detected face, measured against a gate (config quality.live / quality.enrolment).
// Never throws on a poor face: each failed check adds a RejectCode and a plain message, so the
// live path can count why faces were skipped and `lfr faces` can tell an operator.
//
// Pose: from the 68 landmarks when the landmark model gives them (a 3-D mean-face fit,
// vision/pose.ts), else from the 5 points, not a pose model. The 5-point estimate below is the
// fallback (detectors with their own 5 points, `vision.landmarker: "none"`). Its geometry from a generic 3-D face (the model commonly used
// with solvePnP): the nose tip sits about 0.42 inter-eye distances in front of the eye centres
// and about 0.41 eye-to-mouth distances in front of the eye-mouth plane. Turning the head by
// theta moves the projected nose sideways by depth * sin(theta) while the inter-eye distance
// shrinks by cos(theta), so yaw = atan(offset / 0.42); pitch likewise from the nose's height
// between the eye line and the mouth line, relative to its height in the ArcFace template.
import { ARCFACE_112 } from './align.js';
import { poseFromShape68 } from './pose.js';
import type { FaceDetection, FaceQuality, QualityGateSettings, QualityReason, RgbImage } from './types.js';

const YAW_DEPTH = 0.42;
const PITCH_DEPTH = 0.41;
/** Nose height between eye line (0) and mouth line (1) on a frontal face: ArcFace template. */
const FRONTAL_NOSE_RATIO = (() => {
  const [le, re, n, ml, mr] = ARCFACE_112 as [number, number][];
  const eyeY = (le![1] + re![1]) / 2;
  const mouthY = (ml![1] + mr![1]) / 2;
  return (n![1] - eyeY) / (mouthY - eyeY);
})();

const deg = (r: number): number => (r * 180) / Math.PI;

/** Yaw, pitch, roll in degrees from 5 points (ArcFace order), image coordinates (y down). */
export function poseFromFivePoints(pts: readonly [number, number][]): { yawDeg: number; pitchDeg: number; rollDeg: number } {
  const [le, re, nose, ml, mr] = pts as [number, number][];
  const ex = re![0] - le![0], ey = re![1] - le![1];
  const eyeDist = Math.hypot(ex, ey) || 1;
  const ux = ex / eyeDist, uy = ey / eyeDist; // along the eye line
  const vx = -uy, vy = ux; // perpendicular, pointing down the face
  const midX = (le![0] + re![0]) / 2, midY = (le![1] + re![1]) / 2;
  const nx = nose![0] - midX, ny = nose![1] - midY;
  const mouthX = (ml![0] + mr![0]) / 2 - midX, mouthY = (ml![1] + mr![1]) / 2 - midY;
  const noseAcross = (nx * ux + ny * uy) / eyeDist;
  const mouthDown = mouthX * vx + mouthY * vy || 1;
  const noseDown = (nx * vx + ny * vy) / mouthDown;
  return {
    yawDeg: deg(Math.atan(noseAcross / YAW_DEPTH)),
    pitchDeg: deg(Math.atan((noseDown - FRONTAL_NOSE_RATIO) / PITCH_DEPTH)),
    rollDeg: deg(Math.atan2(ey, ex)),
  };
}

/**
 * Variance of the 4-neighbour Laplacian of the grey image, over the central face region of an
 * aligned 112x112 face (16..96: eyes, nose and mouth; this leaves out the black border a warp
 * near the frame edge leaves, which would read as a sharp edge).
 */
export function laplacianVariance(img: RgbImage, margin = 16, scratch?: Float32Array): number {
  const { width: W, height: H, data } = img;
  // The grey copy is a picture of the face: an owned buffer of the caller's lease, or a local
  // one zeroed before returning.
  const grey = scratch && scratch.length === W * H ? scratch : new Float32Array(W * H);
  try {
    return laplacianOf(grey, data, W, H, margin);
  } finally {
    if (grey !== scratch) grey.fill(0);
  }
}

function laplacianOf(grey: Float32Array, data: Uint8Array, W: number, H: number, margin: number): number {
  for (let i = 0, j = 0; i < grey.length; i++, j += 3) grey[i] = 0.299 * data[j]! + 0.587 * data[j + 1]! + 0.114 * data[j + 2]!;
  let sum = 0, sum2 = 0, n = 0;
  for (let y = Math.max(1, margin); y < Math.min(H - 1, H - margin); y++) {
    for (let x = Math.max(1, margin); x < Math.min(W - 1, W - margin); x++) {
      const i = y * W + x;
      const l = grey[i - 1]! + grey[i + 1]! + grey[i - W]! + grey[i + W]! - 4 * grey[i]!;
      sum += l;
      sum2 += l * l;
      n++;
    }
  }
  if (n === 0) return 0;
  const mean = sum / n;
  return sum2 / n - mean * mean;
}

const r1 = (v: number): number => Math.round(v * 10) / 10;

/**
 * 68-point indexes that must lie inside the frame: eye corners, nose tip, mouth corners: the
 * parts the aligned 112x112 crop is made of (the chin falls below it: a tight portrait whose
 * chin touches the edge aligns as well as any).
 */
const CORE_POINTS = [36, 39, 42, 45, 30, 48, 54];

/**
 * How far the face's core points reach outside the frame, as a fraction of the inter-ocular
 * distance (0 when all are inside). A face cut by the frame edge is aligned with black where the
 * frame ends, and its embedding is not the person's.
 */
export function outsideFraction(det: FaceDetection, frame: { width: number; height: number }): number {
  const pts: [number, number][] = det.shape68
    ? CORE_POINTS.map((i) => [det.shape68![i * 2]!, det.shape68![i * 2 + 1]!])
    : (det.landmarks as [number, number][]);
  if (pts.length < 2) return 0;
  const scale = det.shape68
    ? Math.hypot(det.shape68[45 * 2]! - det.shape68[36 * 2]!, det.shape68[45 * 2 + 1]! - det.shape68[36 * 2 + 1]!)
    : Math.hypot(pts[1]![0] - pts[0]![0], pts[1]![1] - pts[0]![1]) * 1.5;
  let worst = 0;
  for (const [x, y] of pts) worst = Math.max(worst, -x, x - frame.width, -y, y - frame.height);
  return worst / Math.max(1, scale);
}

/**
 * A core point more than this fraction of the eye-corner span outside the frame: cut off. 0.15
 * (about 13 px on a 150 px portrait) forgives landmark noise at the edge of a tight crop and
 * refuses a face whose eye, nose or mouth is outside.
 */
export const MAX_OUTSIDE = 0.15;

export function assessQuality(det: FaceDetection, aligned: RgbImage, gates: QualityGateSettings, scratch?: Float32Array, frame?: { width: number; height: number }): FaceQuality {
  const pts = det.landmarks as [number, number][];
  const interEyePx = pts.length >= 2 ? Math.hypot(pts[1]![0] - pts[0]![0], pts[1]![1] - pts[0]![1]) : 0;
  const pose = det.shape68 ? poseFromShape68(det.shape68) : pts.length >= 5 ? poseFromFivePoints(pts) : { yawDeg: 0, pitchDeg: 0, rollDeg: 0 };
  const sharpness = laplacianVariance(aligned, 16, scratch);
  const reasons: QualityReason[] = [];
  if (interEyePx < gates.minInterEyePx) {
    reasons.push({ code: 'too_small', message: `face too small: eyes ${r1(interEyePx)} px apart, at least ${gates.minInterEyePx} px needed` });
  }
  if (sharpness < gates.minSharpness) {
    reasons.push({ code: 'blurred', message: `face too blurred: sharpness ${r1(sharpness)}, at least ${gates.minSharpness} needed` });
  }
  if (Math.abs(pose.yawDeg) > gates.maxYawDeg || Math.abs(pose.pitchDeg) > gates.maxPitchDeg) {
    reasons.push({
      code: 'pose',
      message: `face turned too far: yaw ${r1(pose.yawDeg)} deg (max ${gates.maxYawDeg}), pitch ${r1(pose.pitchDeg)} deg (max ${gates.maxPitchDeg})`,
    });
  }
  if (frame && outsideFraction(det, frame) > MAX_OUTSIDE) {
    reasons.push({ code: 'cut_off', message: 'face cut off by the edge of the image: both eyes, the nose and the mouth must be inside the frame' });
  }
  if (det.score < gates.minDetectorScore) {
    reasons.push({ code: 'low_score', message: `detector confidence ${det.score.toFixed(2)} below ${gates.minDetectorScore}` });
  }
  return {
    interEyePx,
    faceHeightPx: det.box.height,
    sharpness,
    ...pose,
    detectorScore: det.score,
    ok: reasons.length === 0,
    reasons,
  };
}
