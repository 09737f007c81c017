// Adapter for the Ultra-Light-Fast-Generic-Face-Detector RFB-320 (fr_detect.onnx), manifest
// decoder "ultraface-ssd". The shipped graph decodes boxes against 320x240 priors baked in as
// constants, which would cap the smallest findable face at about 10/240 of the frame height
// (45 px in 1080p). We cut the graph at the raw regression output and make H/W symbolic
// (graph-rewrite.ts), run the network at vision.detectorInputWidth (height from the image aspect,
// both rounded to a multiple of 32) and decode against priors computed for that size (priors.ts).
// At 640 px on a 1280x720 analysis frame the smallest prior (10 px) is a 20 px face.
import { cutGraph } from '../graph-rewrite.js';
import { iou, nms, type Scored } from '../nms.js';
import { withLease, type Lease } from '../../buffers/pools.js';
import { fullRoi, toTensor, type Roi } from '../preprocess.js';
import { AREA_RESAMPLE_ABOVE, areaCrop } from '../resample.js';
import { wipe } from '../../crypto/secure.js';
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

/**
 * Faces taller than this in the fine pass's input are detected again in a pass where they are
 * TARGET_FACE_INPUT_PX tall. Measured on LFW (docs/accuracy.md): with the 250 px stills at 256 px
 * of input (face ~115 px) verification was 99.30 %, at 192 px (~85 px) 99.40 %, at 160 px (~70 px)
 * 99.48 %: RFB's boxes, and the landmarks cropped from them, get worse for faces above ~100 px
 * of its input (its largest priors are 128-256 px and its training faces mostly far smaller).
 */
export const LARGE_FACE_INPUT_PX = 100;
/** ~80 px: between the 64 and 96 px priors of RFB's third head, where the LFW runs were best. */
export const TARGET_FACE_INPUT_PX = 80;
/** At most this many extra passes per image (faces of very different sizes share the nearest). */
const MAX_RESCALE_PASSES = 2;

export interface ScalePlan {
  fine: { width: number; height: number };
}

/** Never upscale: a 250 px still runs at 256, not at the configured 640. */
export function rfbScalePlan(imgW: number, imgH: number, configuredWidth: number): ScalePlan {
  return { fine: rfbInputSize(imgW, imgH, Math.min(configuredWidth, imgW)) };
}

/** Input size at which a face `faceHeightPx` tall (image pixels) is about TARGET_FACE_INPUT_PX. */
export function rescaleFor(imgW: number, imgH: number, faceHeightPx: number): { width: number; height: number } {
  return rfbInputSize(imgW, imgH, Math.min(imgW, (imgW * TARGET_FACE_INPUT_PX) / Math.max(1, faceHeightPx)));
}

/**
 * A face too large for the fine pass (taller than RFB's largest priors, ~256 px of its input) is
 * not found there at all, so no rescale pass follows it: LFW resized to 625 and 1000 px lost 38-39
 * of 7,701 faces that way (docs/accuracy.md, "Detection by face size"). When the fine pass finds
 * nothing in an image tall enough for that to happen, one coarse pass looks again with the image
 * COARSE_INPUT_HEIGHT px tall, where a face filling it is ~200 px and one a third of it ~75 px.
 * Not for a 16:9 camera frame at 640 px (fine input 352-360 px tall): a face would have to be
 * ~800 px of a 1080p frame to escape its fine pass.
 */
export const COARSE_INPUT_HEIGHT = 224;

export function coarsePlan(imgW: number, imgH: number, fine: { width: number; height: number }): { width: number; height: number } | null {
  if (fine.height < 2 * COARSE_INPUT_HEIGHT) return null;
  return rfbInputSize(imgW, imgH, (imgW * COARSE_INPUT_HEIGHT) / imgH);
}

/**
 * The extra passes the fine pass's large faces need: for each face taller than
 * LARGE_FACE_INPUT_PX of fine input, the size where it is ~TARGET px; sizes not smaller than the
 * fine pass are dropped; at most MAX_RESCALE_PASSES distinct sizes (the extremes), each large face
 * assigned to the nearest. Pure, unit-tested.
 */
export function rescalePlan(fine: readonly FaceDetection[], imgW: number, imgH: number, fineWidth: number): { size: { width: number; height: number }; faces: number[] }[] {
  const scale = fineWidth / imgW;
  const want = new Map<number, { width: number; height: number }>();
  const faceWidth: [number, number][] = [];
  fine.forEach((f, i) => {
    if (f.box.height * scale <= LARGE_FACE_INPUT_PX) return;
    const size = rescaleFor(imgW, imgH, f.box.height);
    if (size.width >= fineWidth) return;
    want.set(size.width, size);
    faceWidth.push([i, size.width]);
  });
  let widths = [...want.keys()].sort((a, b) => a - b);
  if (widths.length > MAX_RESCALE_PASSES) widths = [widths[0]!, widths[widths.length - 1]!];
  const plan = widths.map((w) => ({ size: want.get(w)!, faces: [] as number[] }));
  for (const [i, w] of faceWidth) {
    const best = plan.reduce((a, b) => (Math.abs(b.size.width - w) < Math.abs(a.size.width - w) ? b : a));
    best.faces.push(i);
  }
  return plan;
}

/**
 * The faces' union box with one face of margin on every side, inside the image. One face, not
 * half: with half a face the boxes on LFW were ~3 px shorter and verification fell from 99.42
 * to 99.22 % (the detector wants the context); with one face a 250 px LFW still is searched
 * whole, exactly as measured, while a large face in a 1080p frame costs a third of a frame.
 */
export function rescaleRegion(boxes: readonly { x: number; y: number; width: number; height: number }[], imgW: number, imgH: number): Roi {
  let x0 = Infinity, y0 = Infinity, x1 = -Infinity, y1 = -Infinity;
  for (const b of boxes) {
    const m = Math.max(b.width, b.height);
    x0 = Math.min(x0, b.x - m);
    y0 = Math.min(y0, b.y - m);
    x1 = Math.max(x1, b.x + b.width + m);
    y1 = Math.max(y1, b.y + b.height + m);
  }
  x0 = Math.max(0, Math.floor(x0));
  y0 = Math.max(0, Math.floor(y0));
  return { x: x0, y: y0, width: Math.min(imgW, Math.ceil(x1)) - x0, height: Math.min(imgH, Math.ceil(y1)) - y0 };
}

/**
 * Replace each large fine-pass face by its best-overlapping detection from the pass made for it
 * (IoU >= 0.3); a face that pass did not find keeps its fine box. Overlaps resolved by NMS.
 */
export function mergeScales(fine: readonly FaceDetection[], passes: readonly { faces: number[]; found: FaceDetection[] }[], iouThreshold: number): FaceDetection[] {
  const out = [...fine];
  for (const p of passes) {
    for (const i of p.faces) {
      let best: FaceDetection | undefined;
      let bestIou = 0.3;
      for (const c of p.found) {
        const o = iou(fine[i]!.box, c.box);
        if (o >= bestIou) {
          best = c;
          bestIou = o;
        }
      }
      if (best) out[i] = best;
    }
  }
  return nms(out, iouThreshold);
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

  const run = async (img: RgbImage, size: { width: number; height: number }, lease: Lease, region?: Roi): Promise<FaceDetection[]> => {
    const target = { ...entry.input, ...size };
    const roi = region ?? fullRoi(img);
    // The scaled frame is a picture of every face in it: an owned buffer, wiped at release.
    const input = lease.f32('detector-input', 3 * size.width * size.height);
    let data: Float32Array;
    if (region && roi.width / size.width > AREA_RESAMPLE_ABOVE) {
      // A strong shrink for a large face: area-average (bilinear would alias, resample.ts).
      const small = areaCrop(img, roi, size.width, size.height);
      data = toTensor(small, fullRoi(small), target, { out: input });
      wipe(small.data);
    } else data = toTensor(img, roi, target, { out: input });
    const out = await session.run({ [entry.input.name]: new ort.Tensor('float32', data, [1, 3, size.height, size.width]) });
    const scores = out[scoresName]?.data as Float32Array | undefined;
    const locs = out[locsName]?.data as Float32Array | undefined;
    const n = priorCount(size.width, size.height, spec);
    if (!scores || !locs || scores.length !== n * 2 || locs.length !== n * 4) {
      throw new Error(`detector ${entry.id}: output size does not match ${n} priors at ${size.width}x${size.height}`);
    }
    const found = decodeSsd(scores, locs, priorsFor(size.width, size.height), roi.width, roi.height, decode);
    for (const f of found) {
      f.box.x += roi.x;
      f.box.y += roi.y;
    }
    return found;
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
    const plan = rfbScalePlan(img.width, img.height, config.vision.detectorInputWidth);
    const fine = await run(img, plan.fine, lease);
    if (fine.length === 0) {
      const coarse = coarsePlan(img.width, img.height, plan.fine);
      // Area-resampled (the whole image as the region): a strong shrink would alias otherwise.
      return coarse ? run(img, coarse, lease, fullRoi(img)) : fine;
    }
    const extra = rescalePlan(fine, img.width, img.height, plan.fine.width);
    if (extra.length === 0) return fine;
    // Large faces: detected again where they are ~80 px of input (see LARGE_FACE_INPUT_PX).
    const passes: { faces: number[]; found: FaceDetection[] }[] = [];
    for (const p of extra) {
      // Only the region around the pass's faces is resampled and searched: on a 1080p frame a
      // full-frame pass cost as much as the fine pass itself.
      const region = rescaleRegion(p.faces.map((i) => fine[i]!.box), img.width, img.height);
      const scale = p.size.width / img.width;
      const size = { width: round32(region.width * scale), height: round32(region.height * scale) };
      passes.push({ faces: p.faces, found: await run(img, size, lease, region) });
    }
    return mergeScales(fine, passes, decode.nmsIou);
  }
}
