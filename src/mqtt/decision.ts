// A decision from a tablet (adjudications/<officer>/<alertId>), parsed by a schema (zod) instead of
// hand-written checks (issue 21). Kept apart from topics.ts because the tablet page imports the
// compiled topics.js as a plain ES module and has no zod; the payload TYPE stays there, shared.
//
// A refusal's reason is audited (adjudication.rejected) and sent back on acks/<alertId>: it is built
// from the SCHEMA's side of the first problem (one fixed sentence per field), never from what was
// sent, so a tablet cannot write free text, even a person's name, into the trail through a field
// name, a value or zod's own wording.
//
// Notes never travel through the broker (issue 21: "notes stay on the van"): a decision carrying a
// `note` field is REFUSED, not stripped, so a tablet that still sends one learns it at once (the
// ack says where notes go: POST /api/alerts/<id>/note, src/tablet/notes.ts) and its officer is
// never told "recorded" about a note that was thrown away. The note's text is never read here.
import { z } from 'zod';
import { ADJUDICATION_OUTCOMES, DEPLOYMENT_ID_RE, ENGAGEMENT_OUTCOMES, MAX_ADJUDICATION_BYTES, PHOTO_CHECK_ID_RE, SCHEMA, type DecisionPayload } from './topics.js';

/** 2026-11-27T16:05:00Z, with optional milliseconds and a numeric offset instead of Z. */
const ISO_TIME_RE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,3})?(Z|[+-]\d{2}:\d{2})$/;

/** The fields a decision may carry, in the order their problems are reported. */
const FIELDS = ['schema', 'alertId', 'outcome', 'engagement', 'decidedAt', 'officerId', 'deploymentId', 'photoCheck'] as const;
type Field = (typeof FIELDS)[number] | 'note';

/** The one sentence per field a refusal gives, whatever zod found wrong with it. */
const REASONS: Record<Field, string> = {
  schema: `unsupported schema (this van speaks schema ${SCHEMA})`,
  alertId: 'alertId missing or does not match the topic',
  outcome: 'outcome must be one of ' + ADJUDICATION_OUTCOMES.join(', '),
  engagement: 'engagement must be one of ' + ENGAGEMENT_OUTCOMES.join(', '),
  decidedAt: 'decidedAt must be an ISO-8601 time such as 2026-11-27T16:05:00.000Z',
  note: 'notes are not taken over MQTT: send the decision without it, and the note over HTTPS (POST /api/alerts/<id>/note); nothing was recorded',
  officerId: 'officerId is not the signed-in officer',
  deploymentId: 'deploymentId must be a deployment id or null',
  photoCheck: 'photoCheck must be the id of a photo check (chk- and 16 hex digits)',
};
const ENGAGEMENT_AFTER_MATCH = 'an engagement outcome follows a confirmed match only';

/**
 * The decision message. Strict: a field it does not name is refused. Topic binding (alertId and
 * officerId must be the topic's) is checked after it, in parseDecision, because the topic is not
 * part of the payload.
 */
export const DecisionSchema = z
  .strictObject({
    schema: z.literal(SCHEMA),
    alertId: z.string(),
    outcome: z.enum(ADJUDICATION_OUTCOMES),
    engagement: z.enum(ENGAGEMENT_OUTCOMES).optional(),
    // Strict ISO-8601 (Date.parse also takes free text such as "Tue 1 Dec 2026 seen by PC Smith",
    // which would land in the audit trail), then a real date (month 13 is refused); stored in UTC.
    decidedAt: z
      .string()
      .regex(ISO_TIME_RE)
      .refine((s) => !Number.isNaN(new Date(s).getTime()))
      .transform((s) => new Date(s).toISOString()),
    // Named by the schema only to be refused with its own reason (not as "an unknown field"): any
    // value, even "" or null, is a note sent the wrong way. JSON has no `undefined`, so a message
    // that carries the key always fails here.
    note: z.undefined().optional(),
    officerId: z.string().optional(),
    deploymentId: z.string().regex(DEPLOYMENT_ID_RE).nullable().optional(),
    photoCheck: z.string().regex(PHOTO_CHECK_ID_RE).optional(),
  })
  .refine((d) => d.engagement === undefined || d.outcome === 'confirmed_match', { message: ENGAGEMENT_AFTER_MATCH, path: ['engagement'], params: { rule: 'engagementAfterMatch' } });

/** One plain reason for a refused decision, from the schema's side of its first problem. */
export function decisionRefusal(issues: readonly z.core.$ZodIssue[]): string {
  // A note first, whatever else is wrong: it tells a tablet of the old page where notes go now.
  if (issues.some((i) => i.path[0] === 'note')) return REASONS.note;
  const unknown = issues.find((i) => i.code === 'unrecognized_keys');
  // Then unknown fields, as they are the likeliest sign of a tablet speaking another version.
  if (unknown && unknown.code === 'unrecognized_keys') return `${unknown.keys.length} unknown field(s); allowed: ${FIELDS.join(', ')}`;
  if (issues.some((i) => i.path.length === 0)) return 'not a JSON object';
  const order = (i: z.core.$ZodIssue) => FIELDS.indexOf(i.path[0] as (typeof FIELDS)[number]);
  const first = [...issues].sort((a, b) => order(a) - order(b))[0];
  if (!first) return 'not a valid decision';
  if (first.code === 'custom' && (first.params as { rule?: string } | undefined)?.rule === 'engagementAfterMatch') return ENGAGEMENT_AFTER_MATCH;
  return REASONS[first.path[0] as Field] ?? 'not a valid decision';
}

/**
 * Strict parse of a decision from a tablet. `topic` names the officer (bound to the broker account
 * by the ACL) and the alert; `retained` is the message's retain flag. Returns the decision, or a
 * reason string when the message is refused (the caller audits it and answers the tablet).
 */
export function parseDecision(topic: { officerId: string; alertId: string }, raw: Buffer, retained = false): DecisionPayload | string {
  if (retained) return 'retained messages are refused: a decision is sent once, never kept on the broker';
  if (raw.length > MAX_ADJUDICATION_BYTES) return `message too large (${raw.length} bytes, limit ${MAX_ADJUDICATION_BYTES})`;
  let v: unknown;
  try {
    v = JSON.parse(raw.toString('utf8'));
  } catch {
    return 'not valid JSON';
  }
  const r = DecisionSchema.safeParse(v);
  if (!r.success) return decisionRefusal(r.error.issues);
  const d = r.data;
  if (d.alertId !== topic.alertId) return REASONS.alertId;
  if (d.officerId !== undefined && d.officerId !== topic.officerId) return `officerId is not the signed-in officer (${topic.officerId})`;
  // The officer is the topic's: a payload's officerId, once checked, is dropped.
  return {
    schema: SCHEMA,
    alertId: d.alertId,
    outcome: d.outcome,
    ...(d.engagement !== undefined ? { engagement: d.engagement } : {}),
    decidedAt: d.decidedAt,
    ...(d.deploymentId !== undefined ? { deploymentId: d.deploymentId } : {}),
    ...(d.photoCheck !== undefined ? { photoCheck: d.photoCheck } : {}),
  };
}
