// 68-point landmark model (manifest decoder "landmarks68", e.g. PFLD fr_landmark.onnx) and the
// reduction of 68 points to the 5 ArcFace points. The crop follows the model's own reference code
// (faceplugin fr_detect.js + fr_landmark.js): the detector box made square on its height, centred,
// resized to the model input; outputs are x,y pairs in [0,1] of that crop.
import type { ModelContext } from './detectors/factory.js';
import { withLease, type Lease } from './buffers.js';
import { batchable } from './graph-rewrite.js';
import type { ModelEntry } from './manifest.js';
import { tensorLength, toTensor, type Roi } from './preprocess.js';
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
  const output = typeof entry.decoder.params.output === 'string' ? entry.decoder.params.output : 'output';
  const session = await ctx.openSession(batchable(ctx.bytes, entry.input.name));
  const { width: W, height: H } = entry.input;
  const channels = entry.input.channelOrder === 'GREY' ? 1 : 3;
  const per = tensorLength(entry.input);
  const dims = (n: number) => (entry.input.layout === 'NCHW' ? [n, channels, H, W] : [n, H, W, channels]);

  const runBatch = async (img: RgbImage, boxes: readonly Box[], lease: Lease): Promise<LandmarkResult[]> => {
    const n = boxes.length;
    const data = lease.f32('landmark-input', per * n);
    const rois = boxes.map(landmarkRoi);
    rois.forEach((roi, i) => toTensor(img, roi, entry.input, { out: data.subarray(i * per, (i + 1) * per) }));
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
      for (let i = 0; i < boxes.length; i += LANDMARK_BATCH) results.push(...(await runBatch(img, boxes.slice(i, i + LANDMARK_BATCH), l)));
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
