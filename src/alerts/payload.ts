// Turning an AlertCandidate into the schema-1 AlertPayload the tablets render directly (base64
// JPEGs, ONVIF-style fields), and the alert id. Pure except for the optional context downscale.
import { randomBytes } from 'node:crypto';
import sharp from 'sharp';
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

/** Downscale the context frame to `width` when it is wider (a tablet needs no 1080p frame). */
export async function downscaleContext(jpeg: Buffer, width: number): Promise<Buffer> {
  const meta = await sharp(jpeg).metadata();
  if (!meta.width || meta.width <= width) return jpeg;
  // quality 80: a 640 px frame of a street scene stays under ~60 KB and faces remain legible.
  return sharp(jpeg).resize({ width, withoutEnlargement: true }).jpeg({ quality: 80 }).toBuffer();
}

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
