// Adapter for the Ultra-Light-Fast-Generic-Face-Detector RFB-320 (fr_detect.onnx), manifest
// decoder "ultraface-ssd". The shipped graph decodes boxes against 320x240 priors baked in as
// constants, which would cap the smallest findable face at about 10/240 of the frame height
// (45 px in 1080p). We cut the graph at the raw regression output and make H/W symbolic
// (graph-rewrite.ts), run the network at vision.detectorInputWidth (height from the image aspect,
// both rounded to a multiple of 32) and decode against priors computed for that size (priors.ts).
// At 640 px on a 1280x720 analysis frame the smallest prior (10 px) is a 20 px face.
import { cutGraph } from '../graph-rewrite.js';
import { nms, type Scored } from '../nms.js';
import { fullRoi, toTensor } from '../preprocess.js';
import { priorCount, ssdPriors, type PriorSpec } from '../priors.js';
import { ort } from '../session.js';
import type { DetectorAdapter, FaceDetection, RgbImage } from '../types.js';
import { isNumber, isNumberArray, isNumberArrays, isString, param, type ModelContext } from './factory.js';

/** Candidates kept for NMS after the score threshold (the reference code's top_k). */
const TOP_K = 750;

/** Round to a multiple of 32 (the network's stride at the 4th stage), at least 32. */
export const round32 = (v: number): number => Math.max(32, Math.round(v / 32) * 32);

/** Network input size for an image: the configured width, height following the aspect. */
export function rfbInputSize(imgW: number, imgH: number, inputWidth: number): { width: number; height: number } {
  const width = round32(inputWidth);
  return { width, height: round32((width * imgH) / imgW) };
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

  return {
    id: entry.id,
    async detect(img: RgbImage): Promise<FaceDetection[]> {
      const size = entry.input.dynamic
        ? rfbInputSize(img.width, img.height, config.vision.detectorInputWidth)
        : { width: entry.input.width, height: entry.input.height };
      const target = { ...entry.input, ...size };
      const data = toTensor(img, fullRoi(img), target);
      const out = await session.run({ [entry.input.name]: new ort.Tensor('float32', data, [1, 3, size.height, size.width]) });
      const scores = out[scoresName]?.data as Float32Array | undefined;
      const locs = out[locsName]?.data as Float32Array | undefined;
      const priors = priorsFor(size.width, size.height);
      const n = priorCount(size.width, size.height, spec);
      if (!scores || !locs || scores.length !== n * 2 || locs.length !== n * 4) {
        throw new Error(`detector ${entry.id}: output size does not match ${n} priors at ${size.width}x${size.height}`);
      }
      return decodeSsd(scores, locs, priors, img.width, img.height, decode);
    },
    async close(): Promise<void> {
      await session.release();
    },
  };
}
