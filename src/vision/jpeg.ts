// JPEG encoding of a face crop (with some margin, so an officer sees hair and chin) for the alert
// path and the demo kit. sharp/libvips does the encode off the JS thread. The alert's context frame
// (bystanders masked, subject outlined) is made in context-frame.ts.
import sharp from './sharp.js';
import type { Box, RgbImage } from './types.js';

export interface JpegOptions {
  /** libvips JPEG quality 1..100; 85 keeps a face recognisable at a fraction of the size. */
  quality?: number;
}

const raw = (img: RgbImage) => sharp(img.data, { raw: { width: img.width, height: img.height, channels: 3 } });

/** The crop rectangle around a face box: `margin` of the box size on every side, clipped. */
export function cropRect(img: Pick<RgbImage, 'width' | 'height'>, box: Box, margin = 0.3): { left: number; top: number; width: number; height: number } {
  const left = Math.max(0, Math.floor(box.x - box.width * margin));
  const top = Math.max(0, Math.floor(box.y - box.height * margin));
  const right = Math.min(img.width, Math.ceil(box.x + box.width * (1 + margin)));
  const bottom = Math.min(img.height, Math.ceil(box.y + box.height * (1 + margin)));
  return { left, top, width: Math.max(1, right - left), height: Math.max(1, bottom - top) };
}

/** JPEG of a face with a margin around its box; optionally scaled down to `maxWidth`. */
export async function encodeFaceCrop(img: RgbImage, box: Box, opts: JpegOptions & { margin?: number; maxWidth?: number } = {}): Promise<Buffer> {
  let s = raw(img).extract(cropRect(img, box, opts.margin));
  if (opts.maxWidth) s = s.resize({ width: opts.maxWidth, withoutEnlargement: true });
  return s.jpeg({ quality: opts.quality ?? 85 }).toBuffer();
}
