// 68-point landmark model (manifest decoder "landmarks68", e.g. PFLD fr_landmark.onnx) and the
// reduction of 68 points to the 5 ArcFace points. The crop follows the model's own reference code
// (faceplugin fr_detect.js + fr_landmark.js): the detector box made square on its height, centred,
// resized to the model input; outputs are x,y pairs in [0,1] of that crop.
import type { ModelContext } from './detectors/factory.js';
import { withLease, type Lease } from '../buffers/pools.js';
import { batchable } from './graph-rewrite.js';
import type { ModelEntry } from './manifest.js';
import { fullRoi, tensorLength, toTensor, type Roi } from './preprocess.js';
import { AREA_RESAMPLE_ABOVE, areaCrop } from './resample.js';
import { wipe } from '../crypto/secure.js';
import { ort } from './session.js';
import type { Box, Point, RgbImage } from './types.js';

export interface FivePointGroups {
  leftEye: number[];
  rightEye: number[];
  nose: number[];
  mouthLeft: number[];
  mouthRight: number[];
}

const GROUP_ORDER = ['leftEye', 'rightEye', 'nose', 'mouthLeft', 'mouthRight'] as const;

/** The square crop the landmark model expects for a detector box. */
export function landmarkRoi(box: Box): Roi {
  const side = box.height;
  return { x: box.x + box.width / 2 - side / 2, y: box.y, width: side, height: side };
}

/** Average each group of points (x,y interleaved) into the 5 ArcFace points. */
export function fivePointsFrom(points: ArrayLike<number>, groups: FivePointGroups): Point[] {
  return GROUP_ORDER.map((k) => {
    const idx = groups[k];
    let x = 0, y = 0;
    for (const i of idx) {
      x += points[i * 2]!;
      y += points[i * 2 + 1]!;
    }
    return [x / idx.length, y / idx.length] as Point;
  });
}

/**
 * Re-crop from the points (manifest decoder param "refine"): the box the detector would give for
 * these 68 points, measured on LFW with RFB at its best scale (centre `centreY` point-heights
 * below the points' centre, height `height` point-heights). A detector box clipped by the frame
 * edge (tight portraits) or loose on a large face gives a shifted crop and biased points; one
 * more pass on the crop the points imply removes most of it.
 */
export interface RefineParams {
  passes: number;
  centreY: number;
  height: number;
}

export function boxFromPoints(points: ArrayLike<number>, r: RefineParams): Box {
  let x0 = Infinity, x1 = -Infinity, y0 = Infinity, y1 = -Infinity;
  for (let i = 0; i < points.length; i += 2) {
    x0 = Math.min(x0, points[i]!);
    x1 = Math.max(x1, points[i]!);
    y0 = Math.min(y0, points[i + 1]!);
    y1 = Math.max(y1, points[i + 1]!);
  }
  const ph = y1 - y0;
  const h = r.height * ph;
  const cx = (x0 + x1) / 2, cy = (y0 + y1) / 2 + r.centreY * ph;
  return { x: cx - h / 2, y: cy - h / 2, width: h, height: h };
}

function parseRefine(entry: ModelEntry): RefineParams | undefined {
  const r = entry.decoder.params.refine as Partial<RefineParams> | undefined;
  if (r === undefined) return undefined;
  const ok = Number.isInteger(r.passes) && r.passes! >= 0 && r.passes! <= 3 && typeof r.centreY === 'number' && typeof r.height === 'number' && r.height > 0.5;
  if (!ok) throw new Error(`model ${entry.id}: decoder param "refine" must be { passes: 0..3, centreY: number, height: number > 0.5 }`);
  return r as RefineParams;
}

function parseGroups(entry: ModelEntry): FivePointGroups {
  const g = entry.decoder.params.fivePoint as Partial<Record<string, unknown>> | undefined;
  const ok = (v: unknown): v is number[] => Array.isArray(v) && v.length > 0 && v.every((i) => Number.isInteger(i) && i >= 0 && i < 68);
  if (!g || !GROUP_ORDER.every((k) => ok(g[k]))) throw new Error(`model ${entry.id}: decoder param "fivePoint" must list point indexes 0..67 for ${GROUP_ORDER.join(', ')}`);
  return g as unknown as FivePointGroups;
}

export interface LandmarkResult {
  /** 68 points in image pixels, x,y interleaved. */
  points: Float32Array;
  five: Point[];
}

export interface Landmarker {
  readonly id: string;
  /** 68 points in image pixels (x,y interleaved) and the derived 5 ArcFace points. */
  locate(img: RgbImage, box: Box): Promise<LandmarkResult>;
  /**
   * Every face of a frame in one run (a batch of crops): fewer, bigger runs than one per face.
   * The crops come from `lease` (pool "landmark-input") and are wiped when the lease is released.
   */
  locateAll(img: RgbImage, boxes: readonly Box[], lease?: Lease): Promise<LandmarkResult[]>;
  close(): Promise<void>;
}

/** Faces per landmark run: bounds the batch buffer; a crowd frame runs in a few batches. */
export const LANDMARK_BATCH = 16;

export async function createLandmarker(ctx: ModelContext): Promise<Landmarker> {
  const { entry } = ctx;
  if (entry.decoder.name !== 'landmarks68') throw new Error(`model ${entry.id}: unknown landmark decoder "${entry.decoder.name}"`);
  const groups = parseGroups(entry);
  const refine = parseRefine(entry);
  const output = typeof entry.decoder.params.output === 'string' ? entry.decoder.params.output : 'output';
  const session = await ctx.openSession(batchable(ctx.bytes, entry.input.name));
  const { width: W, height: H } = entry.input;
  const channels = entry.input.channelOrder === 'GREY' ? 1 : 3;
  const per = tensorLength(entry.input);
  const dims = (n: number) => (entry.input.layout === 'NCHW' ? [n, channels, H, W] : [n, H, W, channels]);

  const runBatch = async (img: RgbImage, rois: readonly Roi[], lease: Lease): Promise<LandmarkResult[]> => {
    const n = rois.length;
    const data = lease.f32('landmark-input', per * n);
    rois.forEach((roi, i) => {
      const out = data.subarray(i * per, (i + 1) * per);
      if (roi.width / W <= AREA_RESAMPLE_ABOVE) return void toTensor(img, roi, entry.input, { out });
      // A crop much larger than the model input is area-averaged first (see resample.ts).
      const small = areaCrop(img, roi, W, H);
      toTensor(small, fullRoi(small), entry.input, { out });
      wipe(small.data);
    });
    const out = await session.run({ [entry.input.name]: new ort.Tensor('float32', data, dims(n)) });
    const raw = out[output]?.data as Float32Array | undefined;
    if (!raw || raw.length !== 136 * n) throw new Error(`landmark model ${entry.id}: expected ${136 * n} outputs, got ${raw?.length ?? 0}`);
    const results = rois.map((roi, i) => {
      const points = new Float32Array(136);
      for (let k = 0; k < 68; k++) {
        points[k * 2] = roi.x + raw[i * 136 + k * 2]! * roi.width;
        points[k * 2 + 1] = roi.y + raw[i * 136 + k * 2 + 1]! * roi.height;
      }
      return { points, five: fivePointsFrom(points, groups) };
    });
    // Face geometry: zero ONNX Runtime's copy as soon as it is read.
    raw.fill(0);
    return results;
  };

  const locateAll = async (img: RgbImage, boxes: readonly Box[], lease?: Lease): Promise<LandmarkResult[]> => {
    return withLease(lease, async (l) => {
      const results: LandmarkResult[] = [];
      for (let i = 0; i < boxes.length; i += LANDMARK_BATCH) {
        let batch = await runBatch(img, boxes.slice(i, i + LANDMARK_BATCH).map(landmarkRoi), l);
        for (let p = 0; p < (refine?.passes ?? 0); p++) {
          const again = await runBatch(img, batch.map((r) => landmarkRoi(boxFromPoints(r.points, refine!))), l);
          for (const r of batch) r.points.fill(0);
          batch = again;
        }
        results.push(...batch);
      }
      return results;
    });
  };

  return {
    id: entry.id,
    async locate(img, box) {
      return (await locateAll(img, [box]))[0]!;
    },
    locateAll,
    async close() {
      await session.release();
    },
  };
}
