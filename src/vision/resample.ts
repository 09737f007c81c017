// Area (box-filter) resampling for shrinking a region of a frame by more than ~1.5x. Bilinear
// sampling, as toTensor and the alignment warp do, reads 4 source pixels per output pixel, so a
// 400 px face shrunk to the landmark model's 64 px or the embedder's 112 px is aliased (hair and
// skin texture turn to noise); averaging every source pixel under the output pixel gives the
// face the model saw in training. Used only when shrinking, so small faces pay nothing.
import type { Roi } from './preprocess.js';
import type { RgbImage } from './types.js';

/** Shrink factor above which callers switch from bilinear to area sampling. */
export const AREA_RESAMPLE_ABOVE = 1.5;

/**
 * `roi` of `img` averaged into an outW x outH RGB image. Source pixels outside the image repeat
 * the edge (as toTensor does), fractional coverage at the footprint borders is weighted.
 */
export function areaCrop(img: RgbImage, roi: Roi, outW: number, outH: number): RgbImage {
  const out = new Uint8Array(outW * outH * 3);
  const W = img.width, H = img.height, src = img.data;
  // The area weights are separable (w = wx * wy): one horizontal pass over the rows the roi
  // touches, then one vertical pass, instead of a 2-D loop per output pixel (~20x faster on a
  // 1920 px frame). Source pixels outside the image repeat the edge.
  const xs = spans(roi.x, roi.width / outW, outW, W);
  const ys = spans(roi.y, roi.height / outH, outH, H);
  const y0 = ys.first, rows = ys.last - y0 + 1;
  const tmp = new Float32Array(rows * outW * 3);
  for (let r = 0; r < rows; r++) {
    const row = (y0 + r) * W * 3;
    for (let u = 0; u < outW; u++) {
      let a = 0, b = 0, c = 0;
      for (let k = xs.start[u]!; k < xs.start[u + 1]!; k++) {
        const i = row + xs.idx[k]! * 3, w = xs.w[k]!;
        a += src[i]! * w;
        b += src[i + 1]! * w;
        c += src[i + 2]! * w;
      }
      const o = (r * outW + u) * 3;
      tmp[o] = a;
      tmp[o + 1] = b;
      tmp[o + 2] = c;
    }
  }
  for (let v = 0; v < outH; v++) {
    for (let u = 0; u < outW; u++) {
      let a = 0, b = 0, c = 0;
      for (let k = ys.start[v]!; k < ys.start[v + 1]!; k++) {
        const i = ((ys.idx[k]! - y0) * outW + u) * 3, w = ys.w[k]!;
        a += tmp[i]! * w;
        b += tmp[i + 1]! * w;
        c += tmp[i + 2]! * w;
      }
      const o = (v * outW + u) * 3;
      out[o] = Math.round(a);
      out[o + 1] = Math.round(b);
      out[o + 2] = Math.round(c);
    }
  }
  tmp.fill(0);
  return { width: outW, height: outH, data: out };
}

/**
 * For each output index: the source indexes (clamped to [0, limit)) under its footprint
 * [start + i * step, start + (i + 1) * step) and their normalised coverage weights.
 */
function spans(start: number, step: number, n: number, limit: number): { start: Int32Array; idx: Int32Array; w: Float32Array; first: number; last: number } {
  const offs = new Int32Array(n + 1);
  const idx: number[] = [];
  const w: number[] = [];
  let first = Infinity, last = -Infinity;
  for (let i = 0; i < n; i++) {
    offs[i] = idx.length;
    const a = start + i * step, b = a + step;
    let sum = 0;
    const from = idx.length;
    for (let p = Math.floor(a); p < b; p++) {
      const cover = Math.min(b, p + 1) - Math.max(a, p);
      if (cover <= 0) continue;
      const q = p < 0 ? 0 : p >= limit ? limit - 1 : p;
      idx.push(q);
      w.push(cover);
      sum += cover;
      if (q < first) first = q;
      if (q > last) last = q;
    }
    for (let k = from; k < idx.length; k++) w[k]! /= sum || 1;
  }
  offs[n] = idx.length;
  return { start: offs, idx: Int32Array.from(idx), w: Float32Array.from(w), first: first === Infinity ? 0 : first, last: last === -Infinity ? 0 : last };
}
