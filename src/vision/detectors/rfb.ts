// Adapter for the Ultra-Light-Fast-Generic-Face-Detector RFB-320 (fr_detect.onnx), manifest
// decoder "ultraface-ssd". The shipped graph decodes boxes against 320x240 priors baked in as
// constants, which would cap the smallest findable face at about 10/240 of the frame height
// (45 px in 1080p). We cut the graph at the raw regression output and make H/W symbolic
// (graph-rewrite.ts), run the network at vision.detectorInputWidth (height from the image aspect,
// both rounded to a multiple of 32) and decode against priors computed for that size (priors.ts).
// At 640 px on a 1280x720 analysis frame the smallest prior (10 px) is a 20 px face.
import { cutGraph } from '../graph-rewrite.js';
import { nms, type Scored } from '../nms.js';
import { withLease, type Lease } from '../buffers.js';
import { fullRoi, toTensor } from '../preprocess.js';
import { priorCount, ssdPriors, type PriorSpec } from '../priors.js';
import { ort } from '../session.js';
import type { DetectorAdapter, FaceDetection, RgbImage } from '../types.js';
import { isNumber, isNumberArray, isNumberArrays, isString, param, type ModelContext } from './factory.js';

/** Candidates kept for NMS after the score threshold (the reference code's top_k). */
const TOP_K = 750;

/** Round to a multiple of 32 (the network's stride at the 4th stage), at least 32. */
export const round32 = (v: number): number => Math.max(32, Math.round(v / 32) * 32);

/** Network input size for an image: the given width, height following the aspect. */
export function rfbInputSize(imgW: number, imgH: number, inputWidth: number): { width: number; height: number } {
  const width = round32(inputWidth);
  return { width, height: round32((width * imgH) / imgW) };
}

/** Faces taller than this in network input pixels are taken from the native-size pass. */
export const LARGE_FACE_INPUT_PX = 160;

export interface ScalePlan {
  fine: { width: number; height: number };
  /** A second, native-size pass to use when the fine pass finds a large face. */
  coarse?: { width: number; height: number };
}

/**
 * Never upscale: a 250 px still runs at 256, not at the configured 640 (upscaling makes faces
 * bigger than the priors cover). A frame wider than the native 320 px may need a native pass too.
 */
export function rfbScalePlan(imgW: number, imgH: number, configuredWidth: number, nativeWidth: number): ScalePlan {
  const fine = rfbInputSize(imgW, imgH, Math.min(configuredWidth, imgW));
  if (fine.width <= nativeWidth) return { fine };
  return { fine, coarse: rfbInputSize(imgW, imgH, nativeWidth) };
}

/** Small faces from the fine pass, large ones from the coarse pass, overlaps resolved by NMS. */
export function mergeScales(fine: FaceDetection[], coarse: FaceDetection[], fineScale: number, iouThreshold: number): FaceDetection[] {
  const small = fine.filter((f) => f.box.height * fineScale <= LARGE_FACE_INPUT_PX);
  // 0.75: faces near the boundary come from both passes; NMS keeps the more confident one.
  const large = coarse.filter((f) => f.box.height * fineScale > LARGE_FACE_INPUT_PX * 0.75);
  return nms([...large, ...small], iouThreshold);
}

export interface SsdDecodeParams extends PriorSpec {
  centerVariance: number;
  sizeVariance: number;
  scoreThreshold: number;
  nmsIou: number;
}

/**
 * Decode SSD outputs (softmaxed scores [N,2], raw locations [N,4]) against priors into boxes in
 * image pixels. Pure, so it is unit-tested without a model.
 */
export function decodeSsd(scores: Float32Array, locs: Float32Array, priors: Float32Array, imgW: number, imgH: number, p: SsdDecodeParams): FaceDetection[] {
  const n = priors.length / 4;
  const cands: Scored[] = [];
  for (let i = 0; i < n; i++) {
    const score = scores[i * 2 + 1]!;
    if (score < p.scoreThreshold) continue;
    const pcx = priors[i * 4]!;
    const pcy = priors[i * 4 + 1]!;
    const pw = priors[i * 4 + 2]!;
    const ph = priors[i * 4 + 3]!;
    const cx = pcx + locs[i * 4]! * p.centerVariance * pw;
    const cy = pcy + locs[i * 4 + 1]! * p.centerVariance * ph;
    const w = Math.exp(locs[i * 4 + 2]! * p.sizeVariance) * pw;
    const h = Math.exp(locs[i * 4 + 3]! * p.sizeVariance) * ph;
    const x1 = Math.max(0, (cx - w / 2) * imgW);
    const y1 = Math.max(0, (cy - h / 2) * imgH);
    const x2 = Math.min(imgW, (cx + w / 2) * imgW);
    const y2 = Math.min(imgH, (cy + h / 2) * imgH);
    if (x2 <= x1 || y2 <= y1) continue;
    cands.push({ box: { x: x1, y: y1, width: x2 - x1, height: y2 - y1 }, score });
  }
  cands.sort((a, b) => b.score - a.score);
  if (cands.length > TOP_K) cands.length = TOP_K;
  return nms(cands, p.nmsIou).map((c) => ({ box: c.box, score: c.score, landmarks: [] }));
}

export async function createRfbDetector(ctx: ModelContext): Promise<DetectorAdapter> {
  const { entry, config } = ctx;
  const spec: PriorSpec = { strides: param(entry, 'strides', isNumberArray), minBoxes: param(entry, 'minBoxes', isNumberArrays) };
  const scoresName = param(entry, 'scoresOutput', isString);
  const locsName = param(entry, 'locationsOutput', isString);
  const decode: SsdDecodeParams = {
    ...spec,
    centerVariance: param(entry, 'centerVariance', isNumber),
    sizeVariance: param(entry, 'sizeVariance', isNumber),
    scoreThreshold: config.vision.detectorScoreThreshold,
    nmsIou: config.vision.nmsIou,
  };
  const bytes = entry.input.dynamic
    ? cutGraph(ctx.bytes, { outputs: [scoresName, locsName], dynamicInput: { name: entry.input.name, dims: [2, 3] } })
    : ctx.bytes;
  const session = await ctx.openSession(bytes);
  // Priors depend only on the input size; a camera's frames all have one size, so cache a few.
  const priorCache = new Map<string, Float32Array>();
  const priorsFor = (w: number, h: number): Float32Array => {
    const key = `${w}x${h}`;
    let p = priorCache.get(key);
    if (!p) {
      p = ssdPriors(w, h, spec);
      if (priorCache.size >= 8) priorCache.clear();
      priorCache.set(key, p);
    }
    return p;
  };

  const run = async (img: RgbImage, size: { width: number; height: number }, lease: Lease): Promise<FaceDetection[]> => {
    const target = { ...entry.input, ...size };
    // The scaled frame is a picture of every face in it: an owned buffer, wiped at release.
    const data = toTensor(img, fullRoi(img), target, { out: lease.f32('detector-input', 3 * size.width * size.height) });
    const out = await session.run({ [entry.input.name]: new ort.Tensor('float32', data, [1, 3, size.height, size.width]) });
    const scores = out[scoresName]?.data as Float32Array | undefined;
    const locs = out[locsName]?.data as Float32Array | undefined;
    const n = priorCount(size.width, size.height, spec);
    if (!scores || !locs || scores.length !== n * 2 || locs.length !== n * 4) {
      throw new Error(`detector ${entry.id}: output size does not match ${n} priors at ${size.width}x${size.height}`);
    }
    return decodeSsd(scores, locs, priorsFor(size.width, size.height), img.width, img.height, decode);
  };
  const native = { width: entry.input.width, height: entry.input.height };

  return {
    id: entry.id,
    async detect(img: RgbImage, lease?: Lease): Promise<FaceDetection[]> {
      return withLease(lease, (l) => detectWith(img, l));
    },
    async close(): Promise<void> {
      await session.release();
    },
  };

  async function detectWith(img: RgbImage, lease: Lease): Promise<FaceDetection[]> {
    if (!entry.input.dynamic) return run(img, native, lease);
    const plan = rfbScalePlan(img.width, img.height, config.vision.detectorInputWidth, native.width);
    const fine = await run(img, plan.fine, lease);
    if (!plan.coarse) return fine;
    const fineScale = plan.fine.height / img.height;
    if (!fine.some((f) => f.box.height * fineScale > LARGE_FACE_INPUT_PX)) return fine;
    // Large faces: the largest prior is 256 px and training faces were at most 240 px high, so
    // boxes (and hence landmarks and alignment) degrade above ~160 px of network input (LFW
    // verification fell from 99.7 % to 92 % when 250 px stills were upscaled to 640). Take
    // those faces from a pass at the native size instead.
    const coarse = await run(img, plan.coarse, lease);
    return mergeScales(fine, coarse, fineScale, decode.nmsIou);
  }
}
