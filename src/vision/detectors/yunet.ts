// Adapter for YuNet (libfacedetection.train; OpenCV Zoo face_detection_yunet_2023mar), manifest
// decoder "yunet". Anchor-free: for each stride s in 8, 16, 32 the network gives, per grid cell
// (row r, column c, row-major), cls and obj (already sigmoid), bbox (dx, dy, log w, log h) and
// kps (5 x (dx, dy)). As in OpenCV's FaceDetectorYN::postProcess (modules/objdetect/src/
// face_detect.cpp): score = sqrt(clamp(cls) * clamp(obj)); centre = ((c, r) + (dx, dy)) * s;
// size = exp(log w, log h) * s; keypoint = ((c, r) + (dx, dy)) * s. Input: NCHW, BGR, raw 0..255
// (manifest mean 0, std 1), padded at the bottom/right to a multiple of 32. The 5 keypoints come in
// the ArcFace order already (eye on the image left first, then nose, then the mouth corners).
//
// A fixed-size export (e.g. 640x640) gets the image scaled to fit and padded; a dynamic export runs
// at vision.detectorInputWidth (never upscaling, as for RFB), height following the aspect.
import { nms } from '../nms.js';
import { withLease, type Lease } from '../../buffers/pools.js';
import { tensorLength, toTensor } from '../preprocess.js';
import { ort } from '../session.js';
import type { DetectorAdapter, FaceDetection, Point, RgbImage } from '../types.js';
import { isNumberArray, type ModelContext } from './factory.js';

export interface GridOutputs {
  stride: number;
  cls: ArrayLike<number>;
  obj: ArrayLike<number>;
  bbox: ArrayLike<number>;
  kps: ArrayLike<number>;
}

const clamp01 = (v: number): number => (v < 0 ? 0 : v > 1 ? 1 : v);

/**
 * Decode one stride's outputs for a padW x padH network input into detections in input pixels
 * (multiply by `scale` to get image pixels). Pure, unit-tested.
 */
export function decodeYunetStride(o: GridOutputs, padW: number, padH: number, scoreThreshold: number, scale = 1): FaceDetection[] {
  const cols = Math.floor(padW / o.stride);
  const rows = Math.floor(padH / o.stride);
  const s = o.stride;
  const out: FaceDetection[] = [];
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) {
      const i = r * cols + c;
      const score = Math.sqrt(clamp01(o.cls[i]!) * clamp01(o.obj[i]!));
      if (score < scoreThreshold) continue;
      const cx = (c + o.bbox[i * 4]!) * s;
      const cy = (r + o.bbox[i * 4 + 1]!) * s;
      const w = Math.exp(o.bbox[i * 4 + 2]!) * s;
      const h = Math.exp(o.bbox[i * 4 + 3]!) * s;
      const landmarks: Point[] = [];
      for (let k = 0; k < 5; k++) landmarks.push([(c + o.kps[i * 10 + 2 * k]!) * s * scale, (r + o.kps[i * 10 + 2 * k + 1]!) * s * scale]);
      out.push({ box: { x: (cx - w / 2) * scale, y: (cy - h / 2) * scale, width: w * scale, height: h * scale }, score, landmarks });
    }
  }
  return out;
}

/** Clip boxes to the image; drop empty ones. */
export function clipDetections(dets: readonly FaceDetection[], width: number, height: number): FaceDetection[] {
  const out: FaceDetection[] = [];
  for (const d of dets) {
    const x1 = Math.max(0, d.box.x);
    const y1 = Math.max(0, d.box.y);
    const x2 = Math.min(width, d.box.x + d.box.width);
    const y2 = Math.min(height, d.box.y + d.box.height);
    if (x2 > x1 && y2 > y1) out.push({ ...d, box: { x: x1, y: y1, width: x2 - x1, height: y2 - y1 } });
  }
  return out;
}

/** Network input for an image: content size (scaled image) and padded size (multiple of 32). */
export function yunetInput(imgW: number, imgH: number, fixed: { width: number; height: number } | undefined, inputWidth: number) {
  const scale = fixed ? Math.min(fixed.width / imgW, fixed.height / imgH) : Math.min(1, inputWidth / imgW);
  const w = Math.max(1, Math.round(imgW * scale));
  const h = Math.max(1, Math.round(imgH * scale));
  const pad = (v: number): number => Math.ceil(v / 32) * 32;
  return { scale, contentW: w, contentH: h, padW: fixed ? fixed.width : pad(w), padH: fixed ? fixed.height : pad(h) };
}

export async function createYunetDetector(ctx: ModelContext): Promise<DetectorAdapter> {
  const { entry, config } = ctx;
  const strides = entry.decoder.params.strides === undefined ? [8, 16, 32] : (isNumberArray(entry.decoder.params.strides) ? entry.decoder.params.strides : []);
  if (strides.length === 0) throw new Error(`model ${entry.id}: decoder param "strides" must be a list of numbers`);
  if (entry.input.layout !== 'NCHW') throw new Error(`model ${entry.id}: YuNet expects NCHW input`);
  const session = await ctx.openSession(ctx.bytes);
  const fixed = entry.input.dynamic ? undefined : { width: entry.input.width, height: entry.input.height };
  return {
    id: entry.id,
    async detect(img: RgbImage, lease?: Lease): Promise<FaceDetection[]> {
      return withLease(lease, async (l) => {
        const p = yunetInput(img.width, img.height, fixed, config.vision.detectorInputWidth);
        // The roi covers the padded area in image pixels; pixels past the image repeat the edge.
        const roi = { x: 0, y: 0, width: p.padW / p.scale, height: p.padH / p.scale };
        const target = { ...entry.input, width: p.padW, height: p.padH };
        // Owned input tensor, wiped when the lease is released (issue 11.6).
        const data = toTensor(img, roi, target, { out: l.f32('detector-input', tensorLength(target)) });
        const out = await session.run({ [entry.input.name]: new ort.Tensor('float32', data, [1, 3, p.padH, p.padW]) });
        const get = (name: string): Float32Array => {
          const t = out[name]?.data as Float32Array | undefined;
          if (!t) throw new Error(`detector ${entry.id}: output "${name}" missing (YuNet exports name them cls_8, obj_8, bbox_8, kps_8, ...)`);
          return t;
        };
        const dets: FaceDetection[] = [];
        for (const s of strides) {
          dets.push(...decodeYunetStride({ stride: s, cls: get(`cls_${s}`), obj: get(`obj_${s}`), bbox: get(`bbox_${s}`), kps: get(`kps_${s}`) }, p.padW, p.padH, config.vision.detectorScoreThreshold, 1 / p.scale));
        }
        return clipDetections(nms(dets, config.vision.nmsIou), img.width, img.height);
      });
    },
    async close(): Promise<void> {
      await session.release();
    },
  };
}
