// Turning an AlertCandidate into the schema-1 AlertPayload the tablets render directly (base64
// JPEGs, ONVIF-style fields), and the alert id. Pure except for the optional context downscale.
import { randomBytes } from 'node:crypto';
import sharp from '../vision/sharp.js';
import { SCHEMA, type AlertPayload, type BoundingBox } from '../mqtt/topics.js';
import type { AlertCandidate } from './types.js';

/** Time-sortable (ms since epoch, base36, 9 chars until the year 5188) and unguessable (64 random bits). */
export function newAlertId(now: number): string {
  return `${now.toString(36).padStart(9, '0')}-${randomBytes(8).toString('hex')}`;
}

const clamp01 = (v: number) => Math.min(1, Math.max(0, v));

export function normalisedBox(c: Pick<AlertCandidate, 'faceBox' | 'frameWidth' | 'frameHeight'>): BoundingBox {
  const w = c.frameWidth || 1;
  const h = c.frameHeight || 1;
  const r = (v: number) => Math.round(v * 10000) / 10000;
  return {
    left: r(clamp01(c.faceBox.x / w)),
    top: r(clamp01(c.faceBox.y / h)),
    right: r(clamp01((c.faceBox.x + c.faceBox.width) / w)),
    bottom: r(clamp01((c.faceBox.y + c.faceBox.height) / h)),
  };
}

/** Context encodings tried in turn until the alert fits in MAX_ALERT_BYTES (see topics.ts). */
const CONTEXT_STEPS = [
  { scale: 1, quality: 80 }, // 640 px q80: a street scene is ~40 KB, faces stay legible
  { scale: 1, quality: 60 },
  { scale: 0.75, quality: 60 },
  { scale: 0.5, quality: 60 },
  { scale: 0.5, quality: 40 },
];

/**
 * The context frame at `width` (never enlarged), re-encoded smaller until `fits(bytes)` says the
 * alert fits. Returns an empty buffer when even the smallest step does not fit: the face crop and
 * the reference image matter more for the officer's decision than the wider scene.
 */
export async function fitContext(jpeg: Buffer, width: number, fits: (contextBytes: number) => boolean): Promise<Buffer> {
  const meta = await sharp(jpeg).metadata();
  const w0 = Math.min(width, meta.width ?? width);
  if (meta.width && meta.width <= width && fits(jpeg.length)) return jpeg;
  for (const s of CONTEXT_STEPS) {
    const out = await sharp(jpeg).resize({ width: Math.max(16, Math.round(w0 * s.scale)), withoutEnlargement: true }).jpeg({ quality: s.quality }).toBuffer();
    if (fits(out.length)) return out;
  }
  return Buffer.alloc(0);
}

/** base64 length of n bytes. */
export const b64len = (n: number): number => 4 * Math.ceil(n / 3);

export function buildPayload(
  id: string,
  vanId: string,
  c: AlertCandidate,
  contextJpeg: Buffer,
  expiresAt: number,
): AlertPayload {
  return {
    schema: SCHEMA,
    alertId: id,
    vanId,
    camera: c.camera,
    capturedAt: new Date(c.capturedAt).toISOString(),
    expiresAt: new Date(expiresAt).toISOString(),
    likelihood: Math.round(c.score * 10000) / 10000,
    threshold: c.threshold,
    enrollmentId: c.subjectRef,
    category: c.category,
    boundingBox: normalisedBox(c),
    faceJpeg: c.faceJpeg.toString('base64'),
    contextJpeg: contextJpeg.toString('base64'),
    referenceJpeg: c.referenceJpeg.toString('base64'),
    decision: 'suggestion',
  };
}
