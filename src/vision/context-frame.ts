// The images of an alert: the captured face crop, and a context frame that shows the officer WHERE
// the person is without showing anyone else's face. The frame carries bystanders, and an alert is
// stored, sent to tablets and kept for up to 24 h: their faces must not be recognisable in it.
//
// How the context frame is made (downscaled to alerts.contextFrameWidth):
//   1. Low detail outside the subject's window. Everything outside a window around the subject
//      (the face box widened 1.5 box widths each side and reaching 6 box heights down: head,
//      body and hands) is blurred hard enough that a face of a passer-by at this size is not
//      recognisable, while the scene (street layout, groups, direction of travel) stays readable.
//   2. Mask every face the live detector found in the frame, with a margin, by filling it with
//      flat dark grey: no pixel of it survives (a blur or a mosaic can be partly undone). Not the
//      region's mean colour: a flat skin-coloured block is face-like enough for a detector to
//      fire on it (seen with the RFB detector), and it must read as "redacted" to an officer.
//   3. A second detector pass on the result: any face still found, other than the subject's, is
//      masked the same way (a face the live pass missed, or one made findable by the resampling).
//   4. The subject is outlined in a high-visibility frame.
// The bound on what can still leak: a face missed by BOTH detector passes AND standing inside the
// subject's window (e.g. a companion cheek to cheek). Everywhere else the blur of step 1 applies.
// Every intermediate buffer here holds faces: each one is wiped before this function returns.
import sharp, { type Sharp } from './sharp.js';
import { wipe } from '../crypto/secure.js';
import { encodeFaceCrop } from './jpeg.js';
import type { Box, FaceEngine, RgbImage } from './types.js';

export interface AlertImages {
  faceJpeg: Buffer;
  contextJpeg: Buffer;
  /** Faces masked in the context frame (live detections + second pass), for the log and tests. */
  masked: number;
}

export interface ContextOptions {
  /** config alerts.contextFrameWidth. */
  contextWidth: number;
  /** JPEG quality of the context frame; 75 keeps a 640 px scene readable at ~40 KB. */
  quality?: number;
}

/** Margin around a bystander's face box that is masked too (hair, ears, a box a little off). */
const MASK_MARGIN = 0.25;
/** Blur sigma outside the subject's window, as a fraction of the context width (4 px at 640). */
const BLUR_SIGMA_FRACTION = 1 / 160;
/** Grey level of a masked face: dark, neutral, nothing like skin. */
const MASK_GREY = 64;
/** Outline colour (RGB) and width in pixels: a high-visibility yellow. */
const OUTLINE: [number, number, number] = [255, 214, 0];
const OUTLINE_PX = 3;

interface Rect {
  x0: number;
  y0: number;
  x1: number;
  y1: number;
}

function rectOf(b: Box, scale: number, img: { width: number; height: number }, grow: { l: number; r: number; t: number; b: number }): Rect {
  const x = b.x * scale;
  const y = b.y * scale;
  const w = b.width * scale;
  const h = b.height * scale;
  return {
    x0: Math.max(0, Math.floor(x - w * grow.l)),
    y0: Math.max(0, Math.floor(y - h * grow.t)),
    x1: Math.min(img.width, Math.ceil(x + w * (1 + grow.r))),
    y1: Math.min(img.height, Math.ceil(y + h * (1 + grow.b))),
  };
}

/** Fill a rectangle with flat MASK_GREY: nothing of what was there survives. */
export function maskRect(img: RgbImage, r: Rect): void {
  if (r.x1 <= r.x0 || r.y1 <= r.y0) return;
  for (let y = r.y0; y < r.y1; y++) img.data.fill(MASK_GREY, (y * img.width + r.x0) * 3, (y * img.width + r.x1) * 3);
}

/** Draw a rectangle outline `px` wide, inside the image. */
export function outlineRect(img: RgbImage, r: Rect, colour = OUTLINE, px = OUTLINE_PX): void {
  const put = (x: number, y: number): void => {
    if (x < 0 || y < 0 || x >= img.width || y >= img.height) return;
    const i = (y * img.width + x) * 3;
    img.data[i] = colour[0];
    img.data[i + 1] = colour[1];
    img.data[i + 2] = colour[2];
  };
  for (let k = 0; k < px; k++) {
    for (let x = r.x0 - px; x < r.x1 + px; x++) {
      put(x, r.y0 - 1 - k);
      put(x, r.y1 + k);
    }
    for (let y = r.y0 - px; y < r.y1 + px; y++) {
      put(r.x0 - 1 - k, y);
      put(r.x1 + k, y);
    }
  }
}

function overlaps(a: Rect, b: Rect): number {
  const w = Math.max(0, Math.min(a.x1, b.x1) - Math.max(a.x0, b.x0));
  const h = Math.max(0, Math.min(a.y1, b.y1) - Math.max(a.y0, b.y0));
  const area = (r: Rect): number => (r.x1 - r.x0) * (r.y1 - r.y0);
  return (w * h) / Math.max(1, Math.min(area(a), area(b)));
}

async function toRaw(s: Sharp): Promise<RgbImage> {
  const { data, info } = await s.removeAlpha().raw().toBuffer({ resolveWithObject: true });
  return { width: info.width, height: info.height, data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength) };
}

/**
 * The context frame of an alert: `frame` downscaled, low detail outside the subject's window,
 * bystanders masked, the subject outlined. `subject` and `others` are boxes in frame pixels.
 */
export async function contextFrame(engine: Pick<FaceEngine, 'detect'>, frame: RgbImage, subject: Box, others: readonly Box[], opts: ContextOptions): Promise<{ jpeg: Buffer; masked: number }> {
  const scale = Math.min(1, opts.contextWidth / frame.width);
  const width = Math.max(1, Math.round(frame.width * scale));
  const height = Math.max(1, Math.round(frame.height * scale));
  const src = () => sharp(frame.data, { raw: { width: frame.width, height: frame.height, channels: 3 } });
  const sharpImg = await toRaw(src().resize({ width, height, fit: 'fill' }));
  const blurred = await toRaw(sharp(sharpImg.data, { raw: { width, height, channels: 3 } }).blur(Math.max(0.5, width * BLUR_SIGMA_FRACTION)));
  try {
    // 1. the subject's window keeps full detail; the rest is the blurred copy.
    const win = rectOf(subject, scale, blurred, { l: 1.5, r: 1.5, t: 0.6, b: 5 });
    for (let y = win.y0; y < win.y1; y++) {
      const a = (y * width + win.x0) * 3;
      blurred.data.set(sharpImg.data.subarray(a, a + (win.x1 - win.x0) * 3), a);
    }
    // 2. every face the live detector found, except the subject's, with a margin.
    const grow = { l: MASK_MARGIN, r: MASK_MARGIN, t: MASK_MARGIN, b: MASK_MARGIN };
    const subj = rectOf(subject, scale, blurred, { l: 0, r: 0, t: 0, b: 0 });
    let masked = 0;
    for (const b of others) {
      maskRect(blurred, rectOf(b, scale, blurred, grow));
      masked++;
    }
    // 3. a second detector pass on what an officer would see.
    for (const d of await engine.detect(blurred)) {
      const r = rectOf(d.box, 1, blurred, { l: 0, r: 0, t: 0, b: 0 });
      if (overlaps(r, subj) >= 0.5) continue; // the subject's own face
      maskRect(blurred, rectOf(d.box, 1, blurred, grow));
      masked++;
    }
    // 4. the subject outlined.
    outlineRect(blurred, rectOf(subject, scale, blurred, { l: 0.1, r: 0.1, t: 0.1, b: 0.1 }));
    const jpeg = await sharp(blurred.data, { raw: { width, height, channels: 3 } }).jpeg({ quality: opts.quality ?? 75 }).toBuffer();
    return { jpeg, masked };
  } finally {
    wipe(sharpImg.data);
    wipe(blurred.data);
  }
}

/** Face crop and masked context frame of an alert, from the frame that decided it. */
export async function alertImages(engine: Pick<FaceEngine, 'detect'>, frame: RgbImage, subject: Box, others: readonly Box[], opts: ContextOptions): Promise<AlertImages> {
  const faceJpeg = await encodeFaceCrop(frame, subject);
  try {
    const ctx = await contextFrame(engine, frame, subject, others, opts);
    return { faceJpeg, contextJpeg: ctx.jpeg, masked: ctx.masked };
  } catch (err) {
    wipe(faceJpeg);
    throw err;
  }
}
