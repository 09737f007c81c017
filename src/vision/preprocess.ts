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
  // BGR swaps source channels 0 and 2.
  const bgr = target.channelOrder === 'BGR';
  const at = (c: number, arr: readonly number[], dflt: number): number => arr[Math.min(c, arr.length - 1)] ?? dflt;
  const m0 = at(0, target.mean, 0), m1 = at(1, target.mean, 0), m2 = at(2, target.mean, 0);
  const s0 = 1 / at(0, target.std, 1), s1 = 1 / at(1, target.std, 1), s2 = 1 / at(2, target.std, 1);
  // Per output pixel: output offsets of channels 0..2 (planes for NCHW, interleaved for NHWC).
  const plane = W * H;
  const nchw = target.layout === 'NCHW';
  const step = nchw ? 1 : 3;
  const d1 = nchw ? plane : 1;
  const d2 = nchw ? 2 * plane : 2;
  const { i0: xi0, i1: xi1, w: xw } = xs;
  // The hot loop of the detector (a 640x352 tensor from every analysed frame): scalar locals
  // only, one bilinear blend per channel, no per-pixel allocation.
  for (let v = 0; v < H; v++) {
    const r0 = ys.i0[v]! * stride;
    const r1 = ys.i1[v]! * stride;
    const wy = ys.w[v]!;
    let o = v * W * step;
    for (let u = 0; u < W; u++, o += step) {
      const wx = xw[u]!;
      const w11 = wx * wy, w01 = wx - w11, w10 = wy - w11, w00 = 1 - wx - wy + w11;
      const a = r0 + xi0[u]! * 3, b = r0 + xi1[u]! * 3, c = r1 + xi0[u]! * 3, d = r1 + xi1[u]! * 3;
      const p0 = src[a]! * w00 + src[b]! * w01 + src[c]! * w10 + src[d]! * w11;
      const p1 = src[a + 1]! * w00 + src[b + 1]! * w01 + src[c + 1]! * w10 + src[d + 1]! * w11;
      const p2 = src[a + 2]! * w00 + src[b + 2]! * w01 + src[c + 2]! * w10 + src[d + 2]! * w11;
      if (grey) {
        out[v * W + u] = (LUMA[0] * p0 + LUMA[1] * p1 + LUMA[2] * p2 - m0) * s0;
      } else {
        const q0 = bgr ? p2 : p0;
        const q2 = bgr ? p0 : p2;
        out[o] = (q0 - m0) * s0;
        out[o + d1] = (p1 - m1) * s1;
        out[o + d2] = (q2 - m2) * s2;
      }
    }
  }
  return out;
}

/** The whole image as a roi. */
export const fullRoi = (img: RgbImage): Roi => ({ x: 0, y: 0, width: img.width, height: img.height });
