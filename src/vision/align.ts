// Face alignment: the least-squares similarity transform (rotation, uniform scale, translation)
// from the 5 detected points to the standard ArcFace 112x112 reference, then a bilinear warp.
// This is Umeyama's method restricted to 2-D similarities without reflection, where the SVD
// reduces to the closed form below (same result as skimage SimilarityTransform.estimate, which
// InsightFace's norm_crop uses).
import type { Point, RgbImage } from './types.js';
import { AREA_RESAMPLE_ABOVE } from './resample.js';

/** ArcFace 112x112 reference points (insightface/utils/face_align.py arcface_dst). */
export const ARCFACE_112: readonly Point[] = [
  [38.2946, 51.6963],
  [73.5318, 51.5014],
  [56.0252, 71.7366],
  [41.5493, 92.3655],
  [70.7299, 92.2041],
];

export const ALIGNED_SIZE = 112;

/** dst = [a -b; b a] * src + [tx ty] */
export interface Similarity {
  a: number;
  b: number;
  tx: number;
  ty: number;
}

export function umeyama(src: readonly Point[], dst: readonly Point[]): Similarity {
  const n = src.length;
  if (n < 2 || dst.length !== n) throw new RangeError('umeyama needs at least 2 matching point pairs');
  let sx = 0, sy = 0, dx = 0, dy = 0;
  for (let i = 0; i < n; i++) {
    sx += src[i]![0]; sy += src[i]![1]; dx += dst[i]![0]; dy += dst[i]![1];
  }
  sx /= n; sy /= n; dx /= n; dy /= n;
  let num1 = 0, num2 = 0, den = 0;
  for (let i = 0; i < n; i++) {
    const px = src[i]![0] - sx, py = src[i]![1] - sy;
    const qx = dst[i]![0] - dx, qy = dst[i]![1] - dy;
    num1 += px * qx + py * qy;
    num2 += px * qy - py * qx;
    den += px * px + py * py;
  }
  if (den === 0) throw new RangeError('umeyama: source points are all identical');
  const a = num1 / den;
  const b = num2 / den;
  return { a, b, tx: dx - (a * sx - b * sy), ty: dy - (b * sx + a * sy) };
}

export function applySimilarity(t: Similarity, p: Point): Point {
  return [t.a * p[0] - t.b * p[1] + t.tx, t.b * p[0] + t.a * p[1] + t.ty];
}

/** Scale factor of the transform (aligned px per source px). */
export const similarityScale = (t: Similarity): number => Math.hypot(t.a, t.b);

/**
 * Warp `img` into a size x size image with `t` (source -> destination), bilinear; pixels that map
 * outside the source are black, as in InsightFace's cv2.warpAffine(borderValue=0).
 */
export function warpSimilarity(img: RgbImage, t: Similarity, size = ALIGNED_SIZE, into?: Uint8Array): RgbImage {
  // `into` (an owned, wiped-at-release buffer of the live path) is reused: clear it first, since
  // pixels that map outside the source are left black by skipping them.
  const out = into ?? new Uint8Array(size * size * 3);
  if (out.length !== size * size * 3) throw new RangeError(`aligned buffer has ${out.length} bytes, expected ${size * size * 3}`);
  // A face much larger than 112 px (an enrolment photo, a face close to the camera) is shrunk:
  // average n x n samples per output pixel instead of one (bilinear alone aliases; resample.ts).
  const shrink = 1 / similarityScale(t);
  // 2 x 2 samples: enough against aliasing up to ~3x, at 4x the cost of one (not 16x).
  if (shrink > AREA_RESAMPLE_ABOVE) return warpSupersampled(img, t, size, 2, out);
  if (into) out.fill(0);
  const det = t.a * t.a + t.b * t.b;
  // Inverse: src = [a b; -b a] / det * (dst - t)
  const ia = t.a / det, ib = t.b / det;
  const W = img.width, H = img.height, src = img.data, stride = W * 3;
  for (let v = 0; v < size; v++) {
    for (let u = 0; u < size; u++) {
      const qx = u - t.tx, qy = v - t.ty;
      const x = ia * qx + ib * qy;
      const y = -ib * qx + ia * qy;
      if (x < -1 || y < -1 || x > W || y > H) continue;
      const x0 = Math.floor(x), y0 = Math.floor(y);
      const fx = x - x0, fy = y - y0;
      const o = (v * size + u) * 3;
      if (x0 >= 0 && y0 >= 0 && x0 + 1 < W && y0 + 1 < H) {
        // Fast path: all four neighbours inside the image (almost every pixel of a face).
        const i00 = y0 * stride + x0 * 3, i01 = i00 + 3, i10 = i00 + stride, i11 = i10 + 3;
        for (let c = 0; c < 3; c++) {
          const top = src[i00 + c]! + (src[i01 + c]! - src[i00 + c]!) * fx;
          const bot = src[i10 + c]! + (src[i11 + c]! - src[i10 + c]!) * fx;
          out[o + c] = Math.round(top + (bot - top) * fy);
        }
        continue;
      }
      for (let c = 0; c < 3; c++) {
        const p = (xx: number, yy: number): number => (xx < 0 || yy < 0 || xx >= W || yy >= H ? 0 : src[yy * stride + xx * 3 + c]!);
        const top = p(x0, y0) + (p(x0 + 1, y0) - p(x0, y0)) * fx;
        const bot = p(x0, y0 + 1) + (p(x0 + 1, y0 + 1) - p(x0, y0 + 1)) * fx;
        out[o + c] = Math.round(top + (bot - top) * fy);
      }
    }
  }
  return { width: size, height: size, data: out };
}

/** warpSimilarity with n x n bilinear samples per output pixel, averaged (black outside). */
function warpSupersampled(img: RgbImage, t: Similarity, size: number, n: number, out: Uint8Array): RgbImage {
  const det = t.a * t.a + t.b * t.b;
  const ia = t.a / det, ib = t.b / det;
  const W = img.width, H = img.height, src = img.data, stride = W * 3;
  const acc = new Float64Array(3);
  const inv = 1 / (n * n);
  for (let v = 0; v < size; v++) {
    for (let u = 0; u < size; u++) {
      acc[0] = acc[1] = acc[2] = 0;
      for (let sy = 0; sy < n; sy++) {
        for (let sx = 0; sx < n; sx++) {
          const qx = u + (sx + 0.5) / n - 0.5 - t.tx, qy = v + (sy + 0.5) / n - 0.5 - t.ty;
          const x = ia * qx + ib * qy;
          const y = -ib * qx + ia * qy;
          const x0 = Math.floor(x), y0 = Math.floor(y);
          const fx = x - x0, fy = y - y0;
          if (x0 >= 0 && y0 >= 0 && x0 + 1 < W && y0 + 1 < H) {
            // Fast path (almost every sample of a face): all four neighbours inside.
            const i00 = y0 * stride + x0 * 3, i01 = i00 + 3, i10 = i00 + stride, i11 = i10 + 3;
            const w00 = (1 - fx) * (1 - fy), w01 = fx * (1 - fy), w10 = (1 - fx) * fy, w11 = fx * fy;
            acc[0]! += src[i00]! * w00 + src[i01]! * w01 + src[i10]! * w10 + src[i11]! * w11;
            acc[1]! += src[i00 + 1]! * w00 + src[i01 + 1]! * w01 + src[i10 + 1]! * w10 + src[i11 + 1]! * w11;
            acc[2]! += src[i00 + 2]! * w00 + src[i01 + 2]! * w01 + src[i10 + 2]! * w10 + src[i11 + 2]! * w11;
            continue;
          }
          for (let c = 0; c < 3; c++) {
            const px = (xx: number, yy: number): number => (xx < 0 || yy < 0 || xx >= W || yy >= H ? 0 : src[yy * stride + xx * 3 + c]!);
            const top = px(x0, y0) + (px(x0 + 1, y0) - px(x0, y0)) * fx;
            const bot = px(x0, y0 + 1) + (px(x0 + 1, y0 + 1) - px(x0, y0 + 1)) * fx;
            acc[c]! += top + (bot - top) * fy;
          }
        }
      }
      const o = (v * size + u) * 3;
      out[o] = Math.round(acc[0]! * inv);
      out[o + 1] = Math.round(acc[1]! * inv);
      out[o + 2] = Math.round(acc[2]! * inv);
    }
  }
  return { width: size, height: size, data: out };
}

/** Align a face given its 5 points (ArcFace order) to 112x112 (into `into` when given). */
export function alignFace(img: RgbImage, five: readonly Point[], into?: Uint8Array): { aligned: RgbImage; transform: Similarity } {
  const transform = umeyama(five, ARCFACE_112);
  return { aligned: warpSimilarity(img, transform, ALIGNED_SIZE, into), transform };
}
