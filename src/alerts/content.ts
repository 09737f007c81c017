// An alert's two faces: the MESSAGE that goes through the broker (that an alert exists: id,
// camera, times, score, threshold, category; nothing that shows or names a person) and the
// CONTENT the tablet fetches over HTTPS (images, subject reference, reason), which is sealed in
// the alert store and never leaves the van otherwise. Pure functions, no I/O.
import { randomBytes } from 'node:crypto';
import { SCHEMA, type AlertContent, type AlertMessage, type AlertSummary, type BoundingBox } from '../mqtt/topics.js';
import type { AlertCandidate } from './types.js';
import type { AlertRow } from './store.js';

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

/** The sealed part of an alert (JSON inside the AEAD blob): everything personal, as the tablet gets it. */
export type SealedContent = Pick<AlertContent, 'subjectRef' | 'reason' | 'boundingBox' | 'faceJpeg' | 'contextJpeg' | 'referenceJpeg'>;

export function sealedContent(c: AlertCandidate): SealedContent {
  return {
    subjectRef: c.subjectRef,
    reason: c.reason ?? '',
    boundingBox: normalisedBox(c),
    faceJpeg: c.faceJpeg.toString('base64'),
    contextJpeg: c.contextJpeg.toString('base64'),
    referenceJpeg: c.referenceJpeg.toString('base64'),
  };
}

const iso = (ms: number) => new Date(ms).toISOString();

export function summaryOf(r: AlertRow): AlertSummary {
  return {
    alertId: r.id,
    deploymentId: r.deploymentId,
    camera: r.camera,
    capturedAt: iso(r.capturedAt),
    raisedAt: iso(r.raisedAt),
    expiresAt: iso(r.expiresAt),
    likelihood: r.likelihood,
    threshold: r.threshold,
    category: r.category,
    decision: r.outcome ? { outcome: r.outcome, officerId: r.officerId ?? '', decidedAt: r.decidedAt ?? '', engagement: r.engagement } : null,
    repeatOf: r.repeatOf,
  };
}

export function messageOf(r: AlertRow, vanId: string): AlertMessage {
  // The message is the summary without its decision state (that is the van's, read over HTTPS).
  const { decision: _state, repeatOf: _repeat, ...fields } = summaryOf(r);
  return { schema: SCHEMA, vanId, ...fields, decision: 'suggestion' };
}
