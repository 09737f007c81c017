// ALL MQTT topics and payload types, in one file, versioned (GUIDE practice 4). The tablet client
// (web/tablet) imports the compiled copy of this module, so the daemon and the tablets cannot
// drift. Change a payload only together with `schema` and docs/mqtt.md.
//
// NOTHING THAT SHOWS OR NAMES A PERSON PASSES THROUGH THE BROKER (schema 2). An alert message says
// that an alert exists (id, camera, times, score, threshold, category); the tablet fetches its
// content (face crop, context frame, reference image, subject reference, reason) over HTTPS from
// the van, signed in as the officer (src/tablet/). The broker keeps nothing on disk (persistence
// off) and every alert message expires with the alert (MQTT 5 message expiry).
//
// Topic tree under <prefix>/<vanId>/ (prefix from config mqtt.topicPrefix, default "lfr"):
//   availability                        retained "online" | "offline" (last will) | "stopped"
//   status                              retained StatusPayload (counts, cameras, deployment place)
//   alerts/<alertId>                    AlertMessage, QoS 1, never retained, expires with the alert
//   adjudications/<officer>/<alertId>   DecisionPayload from a tablet; the broker ACL lets only
//                                       the officer signed in as <officer> write there, so the
//                                       topic names the authenticated officer (a payload cannot)
//   acks/<alertId>                      AckPayload: the van's answer, QoS 1, never retained
// Field names follow ONVIF's face-recognition events where they fit (Likelihood), in camelCase.

export const SCHEMA = 2 as const;

/** Largest decision message accepted (bytes); anything bigger is refused and audited. */
export const MAX_ADJUDICATION_BYTES = 2048;
/**
 * Longest officer note (characters, as JavaScript counts them: UTF-16 code units, which is what the
 * page's textarea maxlength counts too). Notes live with the alert, encrypted, for its 24 h.
 */
export const MAX_NOTE_CHARS = 280;

export type Availability = 'online' | 'offline' | 'stopped';

export interface Topics {
  availability: string;
  status: string;
  alert(alertId: string): string;
  alertsWildcard: string;
  /** Where officer `officerId` publishes a decision on `alertId`. */
  adjudication(officerId: string, alertId: string): string;
  /** The daemon's subscription: every officer, every alert. */
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
    adjudication: (officer, id) => `${base}/adjudications/${officer}/${id}`,
    adjudicationsWildcard: `${base}/adjudications/+/+`,
    ack: (id) => `${base}/acks/${id}`,
    acksWildcard: `${base}/acks/+`,
  };
}

/** Alert ids: time-sortable, unguessable, topic-safe. */
export const ALERT_ID_RE = /^[0-9A-Za-z-]{8,40}$/;
/** Officer ids = broker user names: a collar number or similar, never a name. */
export const OFFICER_ID_RE = /^[A-Za-z0-9._-]{1,32}$/;

/** The alert id inside a topic ending in /<alertId>, or null when the topic is not of that shape. */
export function alertIdFromTopic(topic: string): string | null {
  const id = topic.slice(topic.lastIndexOf('/') + 1);
  return ALERT_ID_RE.test(id) ? id : null;
}

/** Officer and alert of an adjudications/<officer>/<alertId> topic, or null. */
export function decisionTopicParts(topic: string): { officerId: string; alertId: string } | null {
  const parts = topic.split('/');
  if (parts.length < 4 || parts[parts.length - 3] !== 'adjudications') return null;
  const officerId = parts[parts.length - 2]!;
  const alertId = parts[parts.length - 1]!;
  return OFFICER_ID_RE.test(officerId) && ALERT_ID_RE.test(alertId) ? { officerId, alertId } : null;
}

export interface BoundingBox {
  /** Normalised to the frame: 0..1, ONVIF-style. */
  left: number;
  top: number;
  right: number;
  bottom: number;
}

/** The alert message: that an alert exists, and nothing that shows or names a person. */
export interface AlertMessage {
  schema: typeof SCHEMA;
  alertId: string;
  vanId: string;
  /** The deployment the alert was raised in (null: raised outside one, e.g. on a bench rig). */
  deploymentId: string | null;
  camera: string;
  /** ISO-8601 time of the frame that raised the alert (the van's clock). */
  capturedAt: string;
  /** ISO-8601 time the van stored the alert (the van's clock; alert-to-screen is measured from it). */
  raisedAt: string;
  /** ISO-8601 time after which the alert and its content are deleted everywhere. */
  expiresAt: string;
  /** Cosine similarity, and the deployment threshold in force (ONVIF Likelihood analogue). */
  likelihood: number;
  threshold: number;
  /** Watchlist category ("wanted", "missing person"): what kind of alert, not who. */
  category: string;
  /** "suggestion": the system never decides; an officer does. */
  decision: 'suggestion';
}

export const ADJUDICATION_OUTCOMES = ['confirmed_match', 'false_alert', 'not_engaged'] as const;
export type AdjudicationOutcome = (typeof ADJUDICATION_OUTCOMES)[number];

/**
 * What happened after a confirmed match: the second step on the card. These are the outcomes
 * forces publish for LFR deployments (Met and South Wales results tables: arrests, and people
 * engaged without arrest), plus "not located" so an unfound person is not counted as engaged.
 */
export const ENGAGEMENT_OUTCOMES = ['arrested', 'spoken_to', 'no_further_action', 'not_located'] as const;
export type EngagementOutcome = (typeof ENGAGEMENT_OUTCOMES)[number];

/**
 * Engagement outcomes that close a person for the deployment: the officers have dealt with them,
 * so later sightings of the same subject in the same deployment are folded into that card as
 * sightings ("repeats"), never new undecided alerts. "not_located" leaves the person open.
 */
export const CLOSING_ENGAGEMENTS: readonly EngagementOutcome[] = ['arrested', 'spoken_to', 'no_further_action'];

/** Deployment ids (dep-YYYY-MM-DD-xxxxxxxx, or a test's own): topic- and log-safe. */
export const DEPLOYMENT_ID_RE = /^[A-Za-z0-9._-]{1,64}$/;

/**
 * Tablet -> daemon, on adjudications/<officer>/<alertId>. The officer is the topic's, which the
 * broker ACL binds to the signed-in account; an `officerId` field, if sent, must be the same.
 * First message: the decision (outcome). After "confirmed_match", a second message with the
 * same outcome and `engagement` records what happened. No note: a message with a `note` field is
 * refused (notes stay off the broker, issue 21); a note goes over HTTPS, POST /api/alerts/<id>/note.
 */
export interface DecisionPayload {
  schema: typeof SCHEMA;
  alertId: string;
  outcome: AdjudicationOutcome;
  engagement?: EngagementOutcome;
  /** ISO-8601 time on the tablet when the officer decided. */
  decidedAt: string;
  /** Optional; if present it must name the signed-in officer (else the decision is refused). */
  officerId?: string;
  /**
   * The deployment the officer is deciding in (null: an alert raised outside any deployment).
   * Absent: the deployment running now. A decision on an alert of any other deployment is
   * refused, so one tap can never re-decide an earlier deployment's alerts.
   */
  deploymentId?: string | null;
  /**
   * Optional: the photo check (POST /api/alerts/<id>/photo-check) this decision cites. The van
   * accepts it only for a check this officer made on this alert, and records its outcome with
   * the decision (never the photo: that is gone).
   */
  photoCheck?: string;
}

export interface AckPayload {
  schema: typeof SCHEMA;
  alertId: string;
  accepted: boolean;
  /** The officer whose message this answers (a tablet shows refusals of its own messages only). */
  officerId: string;
  /** Present when accepted: the recorded decision (and engagement, once recorded). */
  outcome?: AdjudicationOutcome;
  engagement?: EngagementOutcome;
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
  deployment: { id: string; location: string; threshold: number; startedAt?: string; endsAt: string } | null;
  watchlist: { subjects: number; expiresAt: string } | null;
  cameras: CameraStatus[];
  counts: { facesAnalysed: number; alerts: number; pendingOutbox: number };
  health: 'ok' | 'warn' | 'fail';
  /** Plain-language lines of what is wrong, if anything (never personal data). */
  problems: string[];
  /** Result of the last USB auto-import, if any. */
  lastImport?: { at: string; ok: boolean; message: string };
  /** The newest audit head the van signed (audit/witness.ts): tablets keep the last ones they saw. */
  auditHead?: { value: string; keyId: string; signedAt: string };
}

// A decision is parsed by its schema in decision.ts (zod; the tablet page, which imports this
// module, has no zod).

/** Id of a photo check: random, unguessable, carries nothing about the person. */
export const PHOTO_CHECK_ID_RE = /^chk-[0-9a-f]{16}$/;

/** The tablet's photo check (issue 25): POST /api/alerts/<id>/photo-check, body: one JPEG. */
export const PHOTO_CHECK_PATH_RE = /^\/api\/alerts\/([^/]+)\/photo-check$/;

/**
 * An officer's note on an alert they decided (src/tablet/notes.ts): POST /api/alerts/<id>/note,
 * body `{"note": "..."}` (JSON, at most MAX_NOTE_CHARS). Never through the broker.
 */
export const NOTE_PATH_RE = /^\/api\/alerts\/([^/]+)\/note$/;

/** The van's answer to a note: 201 saved (sealed with the alert), or a refusal ({schema, refused}). */
export interface NoteSaved {
  schema: typeof SCHEMA;
  alertId: string;
  saved: true;
  /** Characters stored (the note is never echoed back). */
  chars: number;
}

/** A refused note (4xx): the reason in plain words; nothing was stored. */
export type NoteRefusal = PhotoCheckRefusal;

export type PhotoCheckVerdict = 'same_person_likely' | 'not_supported' | 'photo_unusable';

/** The van's answer to a photo check (200, or 422 when the photo was unusable). */
export interface PhotoCheckAnswer {
  schema: typeof SCHEMA;
  checkId: string;
  alertId: string;
  verdict: PhotoCheckVerdict;
  /** Plain words: "same person likely", "not supported", "photo unusable: eyes not visible, ...". */
  text: string;
  /** Cosine similarity against the alert's subject (null when the photo was unusable). */
  score: number | null;
  /** The 1:1 threshold at the configured false-match rate, and that rate. */
  threshold: number;
  falseMatchRate: number;
  /** Why the photo was unusable (codes; empty otherwise). */
  reasons: string[];
}

/** A refused check (4xx other than 422): the reason in plain words; nothing was kept. */
export interface PhotoCheckRefusal {
  schema: typeof SCHEMA;
  refused: string;
}

// The tablet's HTTPS API (src/tablet/server.ts), typed here beside the MQTT payloads so the page
// and the van share one definition. Every /api/ request carries the officer's broker account.

/** A decision as the van recorded it. */
export interface RecordedDecision {
  outcome: AdjudicationOutcome;
  officerId: string;
  decidedAt: string;
  engagement: EngagementOutcome | null;
}

/** One alert in GET /api/state: what the message carries, plus its decision state. */
export interface AlertSummary extends Omit<AlertMessage, 'schema' | 'vanId' | 'decision'> {
  decision: RecordedDecision | null;
  /**
   * A later sighting of a person already dealt with in this deployment (an engagement that closes
   * them, CLOSING_ENGAGEMENTS): the id of the alert that closed them. Nothing to decide; the
   * tablet folds it into that card as a sighting and the report counts it as a repeat.
   */
  repeatOf: string | null;
}

/** GET /api/state: the van's clock, the deployment, the cameras, the live alerts. */
export interface TabletState {
  schema: typeof SCHEMA;
  /** The van's clock (ms since epoch) when the answer was made: tablets correct their offset. */
  serverTime: number;
  officerId: string;
  vanId: string;
  brokerConnected: boolean;
  deployment: { id: string; location: string; startedAt: string; endsAt: string } | null;
  cameras: { name: string; location: string | null }[];
  /**
   * The running deployment's alerts (and alerts raised outside any deployment), plus the alerts
   * still held (< 24 h) of ENDED deployments this officer was on: those are shown read-only,
   * apart. Another deployment's alerts are never listed to an officer who was not on it.
   */
  alerts: AlertSummary[];
  /** The van's time zone (config van.timeZone): the tablet shows times in it. */
  timeZone: string;
  /** The photo check, when this van offers it (config tablet.photoCheck.enabled). */
  photoCheck?: { enabled: boolean; threshold: number | null; falseMatchRate: number } | null;
}

/** A note an officer wrote on an alert. */
export interface AlertNote {
  officerId: string;
  at: string;
  text: string;
}

/** GET /api/alerts/<id>: the content that never passes through the broker. */
export interface AlertContent extends AlertSummary {
  cameraLocation: string | null;
  /** Pseudonymous subject reference and the bundle's reason text (CSV reason column). */
  subjectRef: string;
  reason: string;
  /** Subject's box in the context frame, normalised 0..1. */
  boundingBox: BoundingBox;
  /** Base64 JPEGs: the captured face, the context frame (bystanders masked), the watchlist image. */
  faceJpeg: string;
  contextJpeg: string;
  referenceJpeg: string;
  notes: AlertNote[];
}

// The fleet: what a van sends its force's headquarters (src/fleet/ on the van, src/hq/ at HQ).
// The van's broker bridges ONLY these topics to HQ, outwards (src/mqtt/bridge.ts):
//   <prefix>/<vanId>/status                       the retained StatusPayload above (QoS 0: the
//                                                 latest one matters, a stale one is not queued)
//   <prefix>/<vanId>/fleet/deployments/<depId>    FleetEnvelope kind "deployment", QoS 1
//   <prefix>/<vanId>/fleet/reports/<depId>        FleetEnvelope kind "report" (every version), QoS 1
//   <prefix>/<vanId>/fleet/heads/<depId>          FleetEnvelope kind "head" (signed audit head), QoS 1
//   <prefix>/<vanId>/fleet/bridge                 "1"/"0", retained: mosquitto's bridge notification
// A deployment record and a report hold counts, places, times and hashes: never an alert, a subject
// reference, a note, an image or an officer's decision on an alert. HQ's broker binds <vanId> to
// the van's TLS client certificate (use_identity_as_username), and HQ checks each envelope's
// signature against the van key registered at HQ.

export const FLEET_SCHEMA = 1 as const;
/** Largest fleet message HQ accepts (a report with a dozen cameras is ~3 KB). */
export const MAX_FLEET_BYTES = 65_536;
export const FLEET_KINDS = ['deployment', 'report', 'head'] as const;
export type FleetKind = (typeof FLEET_KINDS)[number];
/** Van ids as they appear in topics (and as the CN of the van's HQ client certificate). */
export const VAN_ID_RE = /^[A-Za-z0-9._-]{1,64}$/;
// Deployment ids as they appear in topics: DEPLOYMENT_ID_RE above (one pattern for both).

export interface FleetTopics {
  deployment(id: string): string;
  report(id: string): string;
  head(id: string): string;
  bridge: string;
  /** Every fleet topic of this van: what the bridge forwards, besides status. */
  wildcard: string;
}

export function fleetTopicsFor(prefix: string, vanId: string): FleetTopics {
  const base = `${prefix}/${vanId}/fleet`;
  return { deployment: (id) => `${base}/deployments/${id}`, report: (id) => `${base}/reports/${id}`, head: (id) => `${base}/heads/${id}`, bridge: `${base}/bridge`, wildcard: `${base}/#` };
}

/** The parts of a topic HQ receives: van, kind (status, bridge or a FleetKind), deployment id. */
export function parseFleetTopic(prefix: string, topic: string): { vanId: string; kind: FleetKind | 'status' | 'bridge'; deploymentId: string | null } | null {
  const p = topic.split('/');
  const pre = prefix.split('/');
  if (p.length < pre.length + 2 || pre.some((x, i) => p[i] !== x)) return null;
  const [vanId, a, b, c, ...rest] = p.slice(pre.length);
  if (!vanId || !VAN_ID_RE.test(vanId) || rest.length) return null;
  if (a === 'status' && b === undefined) return { vanId, kind: 'status', deploymentId: null };
  if (a !== 'fleet') return null;
  if (b === 'bridge' && c === undefined) return { vanId, kind: 'bridge', deploymentId: null };
  const kind = ({ deployments: 'deployment', reports: 'report', heads: 'head' } as const)[b as 'deployments' | 'reports' | 'heads'];
  if (!kind || !c || !DEPLOYMENT_ID_RE.test(c)) return null;
  return { vanId, kind, deploymentId: c };
}

/**
 * Every fleet message: `body` is the JSON text that was signed, kept as a string so HQ verifies
 * exactly the bytes the van signed (no canonical-JSON step to get wrong). `sig`: base64url
 * Ed25519 over "lfr-fleet/1:" + kind + ":" + vanId + ":" + body, by the van's anchor key (the key
 * that signs its audit heads, crypto/van-derived.ts); `keyId` names it.
 */
export interface FleetEnvelope {
  schema: typeof FLEET_SCHEMA;
  kind: FleetKind;
  vanId: string;
  /** The van's clock when it handed the message to its broker (ISO-8601). */
  sentAt: string;
  keyId: string;
  body: string;
  sig: string;
}

/** kind "deployment": the record as HQ shows it (no counts per alert, no officer decisions). */
export interface FleetDeployment {
  deploymentId: string;
  authorisationRef: string;
  location: string;
  threshold: number;
  watchlistSubjects: number;
  watchlistExpiresAt: string;
  cameras: string[];
  startedAt: string;
  endsAt: string;
  endedAt: string | null;
  endReason: string | null;
  degraded: string[];
}

/** kind "head": a signed audit head (src/audit/anchor.ts), at a report version. */
export interface FleetHead {
  deploymentId: string;
  reportVersion: number;
  seq: number;
  hash: string;
  /** The anchor signature over "lfr-audit-head/1:SEQ:HASH" (checkable by `lfr audit verify --head`). */
  signature: string;
}
