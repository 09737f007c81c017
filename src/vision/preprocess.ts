// Image -> model input tensor in one pass: crop, bilinear resize, channel order, (x - mean) / std
// and NCHW/NHWC layout are done together straight from the interleaved RGB frame, so the hot path
// makes no intermediate resized copy. All of it is driven by the manifest's input spec.
import type { ModelInput } from './manifest.js';
import type { RgbImage } from './types.js';

export interface Roi {
  x: number;
  y: number;
  width: number;
  height: number;
}

export interface TensorTarget {
  width: number;
  height: number;
  layout: ModelInput['layout'];
  channelOrder: ModelInput['channelOrder'];
  mean: readonly number[];
  std: readonly number[];
}

/** ITU-R BT.601 luma weights, the ones OpenCV's RGB2GRAY uses (the landmark model's training). */
const LUMA = [0.299, 0.587, 0.114] as const;

interface Axis {
  i0: Int32Array;
  i1: Int32Array;
  w: Float32Array;
}

/** Source sample positions for each output column/row (pixel-centre aligned, like cv.resize). */
function axis(start: number, extent: number, out: number, limit: number, flip: boolean): Axis {
  const i0 = new Int32Array(out);
  const i1 = new Int32Array(out);
  const w = new Float32Array(out);
  const scale = extent / out;
  for (let u = 0; u < out; u++) {
    const uu = flip ? out - 1 - u : u;
    let s = start + (uu + 0.5) * scale - 0.5;
    if (s < 0) s = 0;
    if (s > limit - 1) s = limit - 1;
    const a = Math.floor(s);
    i0[u] = a;
    i1[u] = Math.min(a + 1, limit - 1);
    w[u] = s - a;
  }
  return { i0, i1, w };
}

export function tensorLength(t: Pick<TensorTarget, 'width' | 'height' | 'channelOrder'>): number {
  return t.width * t.height * (t.channelOrder === 'GREY' ? 1 : 3);
}

/**
 * Sample `roi` of `img` into a float tensor of `target` size. Pixels outside the image repeat the
 * edge. `flipX` mirrors horizontally (for mirror-augmented embeddings). Writes into `out` when
 * given (it must have tensorLength(target) elements).
 */
export function toTensor(img: RgbImage, roi: Roi, target: TensorTarget, opts: { flipX?: boolean; out?: Float32Array } = {}): Float32Array {
  const { width: W, height: H } = target;
  const grey = target.channelOrder === 'GREY';
  const C = grey ? 1 : 3;
  const out = opts.out ?? new Float32Array(W * H * C);
  if (out.length !== W * H * C) throw new RangeError(`tensor buffer has ${out.length} elements, expected ${W * H * C}`);
  const xs = axis(roi.x, roi.width, W, img.width, opts.flipX ?? false);
  const ys = axis(roi.y, roi.height, H, img.height, false);
  const src = img.data;
  const stride = img.width * 3;
  // Source channel feeding output channel c: RGB keeps 0,1,2; BGR swaps 0 and 2.
  const order = target.channelOrder === 'BGR' ? [2, 1, 0] : [0, 1, 2];
  const mean = [0, 1, 2].map((c) => target.mean[Math.min(c, target.mean.length - 1)] ?? 0);
  const inv = [0, 1, 2].map((c) => 1 / (target.std[Math.min(c, target.std.length - 1)] ?? 1));
  const nchw = target.layout === 'NCHW';
  const plane = W * H;
  const px = [0, 0, 0];
  for (let v = 0; v < H; v++) {
    const r0 = ys.i0[v]! * stride;
    const r1 = ys.i1[v]! * stride;
    const wy = ys.w[v]!;
    for (let u = 0; u < W; u++) {
      const c0 = xs.i0[u]! * 3;
      const c1 = xs.i1[u]! * 3;
      const wx = xs.w[u]!;
      for (let c = 0; c < 3; c++) {
        const top = src[r0 + c0 + c]! + (src[r0 + c1 + c]! - src[r0 + c0 + c]!) * wx;
        const bot = src[r1 + c0 + c]! + (src[r1 + c1 + c]! - src[r1 + c0 + c]!) * wx;
        px[c] = top + (bot - top) * wy;
      }
      const o = v * W + u;
      if (grey) {
        out[o] = (LUMA[0] * px[0]! + LUMA[1] * px[1]! + LUMA[2] * px[2]! - mean[0]!) * inv[0]!;
      } else if (nchw) {
        for (let c = 0; c < 3; c++) out[c * plane + o] = (px[order[c]!]! - mean[c]!) * inv[c]!;
      } else {
        for (let c = 0; c < 3; c++) out[o * 3 + c] = (px[order[c]!]! - mean[c]!) * inv[c]!;
      }
    }
  }
  return out;
}

/** The whole image as a roi. */
export const fullRoi = (img: RgbImage): Roi => ({ x: 0, y: 0, width: img.width, height: img.height });
