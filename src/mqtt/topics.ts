// ALL MQTT topics and payload types, in one file, versioned (GUIDE practice 4). The tablet client
// (web/tablet) imports the compiled copy of this module, so the daemon and the tablets cannot
// drift. Change a payload only together with `schema` and docs/mqtt.md.
//
// Topic tree under <prefix>/<vanId>/ (prefix from config mqtt.topicPrefix, default "lfr"):
//   availability            retained  "online" | "offline" (last will) | "stopped" (clean stop)
//   status                  retained  StatusPayload
//   alerts/<alertId>        QoS 1, NOT retained: AlertPayload (a tablet de-duplicates by alertId)
//   adjudications/<alertId> tablets publish AdjudicationPayload here (QoS 1)
//   acks/<alertId>          the daemon's AckPayload for an adjudication (QoS 1, retained until
//                           the alert is purged so a tablet that reconnects sees the decision)
// Field names follow ONVIF's face-recognition events where they fit (Likelihood, EnrollmentID,
// BoundingBox), in camelCase.

export const SCHEMA = 1 as const;

/**
 * Largest alert message the daemon publishes (bytes of JSON). mosquitto 2.0 (Debian) with its
 * libwebsockets drops WebSocket clients on messages of ~64 KiB and more (measured: 40,000 B
 * arrive, 65,000 B never do; eclipse-mosquitto/mosquitto#59 is the old form of it), and the
 * tablets are WebSocket clients. The daemon therefore shrinks the context frame until the alert
 * fits in 60,000 B; the face crop and the reference image are never degraded.
 */
export const MAX_ALERT_BYTES = 60_000;

/** Largest adjudication message accepted (bytes); anything bigger is rejected and audited. */
export const MAX_ADJUDICATION_BYTES = 2048;

export type Availability = 'online' | 'offline' | 'stopped';

export interface Topics {
  availability: string;
  status: string;
  alert(alertId: string): string;
  alertsWildcard: string;
  adjudication(alertId: string): string;
  adjudicationsWildcard: string;
  ack(alertId: string): string;
  acksWildcard: string;
}

export function topicsFor(prefix: string, vanId: string): Topics {
  const base = `${prefix}/${vanId}`;
  return {
    availability: `${base}/availability`,
    status: `${base}/status`,
    alert: (id) => `${base}/alerts/${id}`,
    alertsWildcard: `${base}/alerts/+`,
    adjudication: (id) => `${base}/adjudications/${id}`,
    adjudicationsWildcard: `${base}/adjudications/+`,
    ack: (id) => `${base}/acks/${id}`,
    acksWildcard: `${base}/acks/+`,
  };
}

/** The alert id inside a topic ending in /<alertId>, or null when the topic is not of that shape. */
export function alertIdFromTopic(topic: string): string | null {
  const id = topic.slice(topic.lastIndexOf('/') + 1);
  return ALERT_ID_RE.test(id) ? id : null;
}

/** Alert ids: time-sortable, unguessable, topic-safe (26 chars of Crockford base32 or uuid hex). */
export const ALERT_ID_RE = /^[0-9A-Za-z-]{8,40}$/;

export interface BoundingBox {
  /** Normalised to the frame: 0..1, ONVIF-style. */
  left: number;
  top: number;
  right: number;
  bottom: number;
}

export interface AlertPayload {
  schema: typeof SCHEMA;
  alertId: string;
  vanId: string;
  camera: string;
  /** ISO-8601 time of the frame that raised the alert. */
  capturedAt: string;
  /** ISO-8601 time after which the alert and its images are deleted everywhere. */
  expiresAt: string;
  /** Cosine similarity, and the deployment threshold in force (ONVIF Likelihood analogue). */
  likelihood: number;
  threshold: number;
  /** Pseudonymous subject reference of the watchlist entry (ONVIF EnrollmentID analogue). */
  enrollmentId: string;
  category: string;
  boundingBox: BoundingBox;
  /** Base64 JPEGs: the captured face, a downscaled context frame, the watchlist reference. */
  faceJpeg: string;
  contextJpeg: string;
  referenceJpeg: string;
  /** "suggestion": the system never decides; an officer does. */
  decision: 'suggestion';
}

export const ADJUDICATION_OUTCOMES = ['confirmed_match', 'false_alert', 'not_engaged'] as const;
export type AdjudicationOutcome = (typeof ADJUDICATION_OUTCOMES)[number];

export interface AdjudicationPayload {
  schema: typeof SCHEMA;
  alertId: string;
  outcome: AdjudicationOutcome;
  /** The officer's collar number or id (not biometric; recorded in the audit trail). */
  officerId: string;
  /** ISO-8601 time on the tablet when the officer decided. */
  decidedAt: string;
  /** Optional short note (kept in the audit trail; no names please). */
  note?: string;
}

export interface AckPayload {
  schema: typeof SCHEMA;
  alertId: string;
  accepted: boolean;
  /** Present when accepted: the recorded decision. */
  outcome?: AdjudicationOutcome;
  officerId?: string;
  /** Present when refused: why, in plain words (unknown alert, already decided, malformed). */
  reason?: string;
  recordedAt: string;
}

export interface CameraStatus {
  name: string;
  state: string;
  fps: number;
}

export interface StatusPayload {
  schema: typeof SCHEMA;
  vanId: string;
  updatedAt: string;
  deployment: { id: string; location: string; threshold: number; endsAt: string } | null;
  watchlist: { subjects: number; expiresAt: string } | null;
  cameras: CameraStatus[];
  counts: { facesAnalysed: number; alerts: number; pendingOutbox: number };
  health: 'ok' | 'warn' | 'fail';
  /** Free-form plain-language lines of what is wrong, if anything (never personal data). */
  problems: string[];
  /** Result of the last USB auto-import, if any. */
  lastImport?: { at: string; ok: boolean; message: string };
}

/** Strict parse of an adjudication from a tablet. Returns a reason string when invalid. */
export function parseAdjudication(topicAlertId: string, raw: Buffer): AdjudicationPayload | string {
  if (raw.length > MAX_ADJUDICATION_BYTES) return `message too large (${raw.length} bytes, limit ${MAX_ADJUDICATION_BYTES})`;
  let v: unknown;
  try {
    v = JSON.parse(raw.toString('utf8'));
  } catch {
    return 'not valid JSON';
  }
  if (!v || typeof v !== 'object' || Array.isArray(v)) return 'not a JSON object';
  const o = v as Record<string, unknown>;
  const allowed = new Set(['schema', 'alertId', 'outcome', 'officerId', 'decidedAt', 'note']);
  const extra = Object.keys(o).filter((k) => !allowed.has(k));
  if (extra.length) return `unknown field(s): ${extra.join(', ')}`;
  if (o.schema !== SCHEMA) return `unsupported schema ${JSON.stringify(o.schema)}`;
  if (typeof o.alertId !== 'string' || o.alertId !== topicAlertId) return 'alertId missing or does not match the topic';
  if (typeof o.outcome !== 'string' || !(ADJUDICATION_OUTCOMES as readonly string[]).includes(o.outcome)) return 'outcome must be one of ' + ADJUDICATION_OUTCOMES.join(', ');
  if (typeof o.officerId !== 'string' || !/^[A-Za-z0-9._-]{1,32}$/.test(o.officerId)) return 'officerId missing or malformed';
  if (typeof o.decidedAt !== 'string' || Number.isNaN(Date.parse(o.decidedAt))) return 'decidedAt must be an ISO-8601 time';
  if (o.note !== undefined && (typeof o.note !== 'string' || o.note.length > 280)) return 'note must be a string of at most 280 characters';
  return {
    schema: SCHEMA,
    alertId: o.alertId,
    outcome: o.outcome as AdjudicationOutcome,
    officerId: o.officerId,
    decidedAt: o.decidedAt,
    ...(o.note !== undefined ? { note: o.note as string } : {}),
  };
}
