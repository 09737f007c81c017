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
  const sx = roi.width / outW, sy = roi.height / outH;
  const W = img.width, H = img.height, src = img.data;
  const clampX = (x: number): number => (x < 0 ? 0 : x >= W ? W - 1 : x);
  const clampY = (y: number): number => (y < 0 ? 0 : y >= H ? H - 1 : y);
  const acc = new Float64Array(3);
  for (let v = 0; v < outH; v++) {
    const y0 = roi.y + v * sy, y1 = y0 + sy;
    for (let u = 0; u < outW; u++) {
      const x0 = roi.x + u * sx, x1 = x0 + sx;
      acc.fill(0);
      let wsum = 0;
      for (let yy = Math.floor(y0); yy < y1; yy++) {
        const wy = Math.min(y1, yy + 1) - Math.max(y0, yy);
        if (wy <= 0) continue;
        const row = clampY(yy) * W * 3;
        for (let xx = Math.floor(x0); xx < x1; xx++) {
          const wx = Math.min(x1, xx + 1) - Math.max(x0, xx);
          if (wx <= 0) continue;
          const w = wx * wy, i = row + clampX(xx) * 3;
          acc[0]! += src[i]! * w;
          acc[1]! += src[i + 1]! * w;
          acc[2]! += src[i + 2]! * w;
          wsum += w;
        }
      }
      const o = (v * outW + u) * 3;
      for (let c = 0; c < 3; c++) out[o + c] = Math.round(acc[c]! / (wsum || 1));
    }
  }
  return { width: outW, height: outH, data: out };
}
