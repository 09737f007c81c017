// Adapter for SCRFD-style detectors with keypoints (InsightFace detection/scrfd, *_kps.onnx),
// manifest decoder "scrfd". The export has 9 outputs: for strides 8, 16, 32 a score [N,1], box
// distances [N,4] and keypoint offsets [N,10], with N = (H/s) * (W/s) * anchorsPerCell. As in
// insightface python-package/insightface/model_zoo/scrfd.py: anchor centres are the grid points
// (c*s, r*s), repeated anchorsPerCell (2) times per cell; box = centre -/+ distances * s
// (left, top, right, bottom); keypoint = centre + offset * s; scores are already sigmoid. Input:
// NCHW, RGB, (x - 127.5) / 128 (manifest data), the image scaled to fit the fixed input and placed
// top-left (the rest padded). Keypoints come in the ArcFace order.
//
// Outputs are told apart by their shape ([1, N, C] with C = 1, 4 or 10 and N giving the stride),
// because re-exports name them differently (score_8 ... or out0 ... out8).
import { nms } from '../nms.js';
import { withLease, type Lease } from '../../buffers/pools.js';
import { tensorLength, toTensor } from '../preprocess.js';
import { ort } from '../session.js';
import type { DetectorAdapter, FaceDetection, Point, RgbImage } from '../types.js';
import { isNumber, isNumberArray, type ModelContext } from './factory.js';
import { clipDetections, yunetInput } from './yunet.js';

export interface ScrfdStride {
  stride: number;
  scores: ArrayLike<number>;
  boxes: ArrayLike<number>;
  kps: ArrayLike<number>;
}

/** Decode one stride into detections in input pixels times `scale`. Pure, unit-tested. */
export function decodeScrfdStride(o: ScrfdStride, inW: number, inH: number, anchors: number, scoreThreshold: number, scale = 1): FaceDetection[] {
  const cols = Math.ceil(inW / o.stride);
  const rows = Math.ceil(inH / o.stride);
  const s = o.stride;
  const out: FaceDetection[] = [];
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) {
      const cx = c * s;
      const cy = r * s;
      for (let a = 0; a < anchors; a++) {
        const i = (r * cols + c) * anchors + a;
        const score = o.scores[i]!;
        if (!(score >= scoreThreshold)) continue;
        const x1 = cx - o.boxes[i * 4]! * s;
        const y1 = cy - o.boxes[i * 4 + 1]! * s;
        const x2 = cx + o.boxes[i * 4 + 2]! * s;
        const y2 = cy + o.boxes[i * 4 + 3]! * s;
        const landmarks: Point[] = [];
        for (let k = 0; k < 5; k++) landmarks.push([(cx + o.kps[i * 10 + 2 * k]! * s) * scale, (cy + o.kps[i * 10 + 2 * k + 1]! * s) * scale]);
        out.push({ box: { x: x1 * scale, y: y1 * scale, width: (x2 - x1) * scale, height: (y2 - y1) * scale }, score, landmarks });
      }
    }
  }
  return out;
}

/** Group outputs by (cells, channels) from their dims; throws naming what is missing. */
export function pickScrfdOutputs(outs: Record<string, { dims: readonly number[]; data: unknown }>, strides: readonly number[], inW: number, inH: number, anchors: number, id: string): ScrfdStride[] {
  const list = Object.values(outs);
  return strides.map((s) => {
    const n = Math.ceil(inW / s) * Math.ceil(inH / s) * anchors;
    const find = (ch: number): Float32Array => {
      const t = list.find((o) => o.dims[o.dims.length - 1] === ch && (o.data as Float32Array).length === n * ch);
      if (!t) throw new Error(`detector ${id}: no output of ${n} x ${ch} for stride ${s} (is this an SCRFD *_kps export at ${inW}x${inH}?)`);
      return t.data as Float32Array;
    };
    return { stride: s, scores: find(1), boxes: find(4), kps: find(10) };
  });
}

export async function createScrfdDetector(ctx: ModelContext): Promise<DetectorAdapter> {
  const { entry, config } = ctx;
  const params = entry.decoder.params;
  const strides = isNumberArray(params.strides) ? params.strides : [8, 16, 32];
  const anchors = isNumber(params.anchorsPerCell) ? params.anchorsPerCell : 2;
  if (entry.input.layout !== 'NCHW') throw new Error(`model ${entry.id}: SCRFD expects NCHW input`);
  const session = await ctx.openSession(ctx.bytes);
  const fixed = entry.input.dynamic ? undefined : { width: entry.input.width, height: entry.input.height };
  return {
    id: entry.id,
    async detect(img: RgbImage, lease?: Lease): Promise<FaceDetection[]> {
      return withLease(lease, async (l) => {
        const p = yunetInput(img.width, img.height, fixed, config.vision.detectorInputWidth);
        const roi = { x: 0, y: 0, width: p.padW / p.scale, height: p.padH / p.scale };
        const target = { ...entry.input, width: p.padW, height: p.padH };
        // Owned input tensor, wiped when the lease is released (issue 11.6).
        const data = toTensor(img, roi, target, { out: l.f32('detector-input', tensorLength(target)) });
        const out = await session.run({ [entry.input.name]: new ort.Tensor('float32', data, [1, 3, p.padH, p.padW]) });
        const heads = pickScrfdOutputs(out as Record<string, { dims: readonly number[]; data: unknown }>, strides, p.padW, p.padH, anchors, entry.id);
        const dets = heads.flatMap((h) => decodeScrfdStride(h, p.padW, p.padH, anchors, config.vision.detectorScoreThreshold, 1 / p.scale));
        return clipDetections(nms(dets, config.vision.nmsIou), img.width, img.height);
      });
    },
    async close(): Promise<void> {
      await session.release();
    },
  };
}
