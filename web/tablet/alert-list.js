// The tablet's in-memory alerts, grouped into one card per person AND deployment (by the
// deployment id and the subject reference in the alert's content): a later sighting of the same
// subject in the same deployment updates that card (count, latest time, latest face) rather than
// adding another. Nothing is grouped or decided across deployments: the same person in an earlier
// deployment is another card, read-only, in its own list. De-duplicated by alertId (QoS 1 re-delivers),
// dropped at expiresAt (the van's clock). Pure: no DOM, no timers, no network, no storage; time
// comes in as an argument (van clock, ms) so the rules are easy to test.

/** @typedef {import('./lib/topics.js').AlertContent} AlertContent */
/** @typedef {import('./lib/topics.js').AlertSummary} AlertSummary */
/** @typedef {import('./lib/topics.js').AckPayload} AckPayload */
/** @typedef {import('./lib/topics.js').RecordedDecision} RecordedDecision */

/**
 * @typedef {object} Entry
 * @property {AlertContent} alert
 * @property {number} capturedMs
 * @property {number} expiresMs
 * @property {RecordedDecision|null} decision   what the van recorded (from /api/state or an ack)
 * @property {string|null} sending              outcome this tablet sent, awaiting the van
 * @property {string|null} engaging             engagement this tablet sent, awaiting the van
 * @property {string|null} refused              the van's reason for refusing this tablet's message
 * @property {{state: 'waiting'|'sending'|'saved'|'failed', detail: string}|null} note  this officer's note (app.js)
 */

/**
 * @typedef {object} Card
 * @property {string} key             deployment id + subject reference (the grouping key)
 * @property {string} subject         subject reference (shown to the officer)
 * @property {string|null} deploymentId
 * @property {boolean} previous       an ENDED deployment's card: read-only, shown apart
 * @property {Entry[]} entries        newest sighting first
 * @property {Entry} latest
 * @property {boolean} earlier        every sighting was captured before this officer signed in
 * @property {'open'|'sending'|'engage'|'engaging'|'done'} stage
 */

/** The card an alert belongs to: one person in one deployment. */
export const cardKey = (alert) => `${alert.deploymentId ?? '-'}\u0000${alert.subjectRef}`;

const byNewest = (a, b) => b.capturedMs - a.capturedMs || (a.alert.alertId < b.alert.alertId ? 1 : -1);

export class AlertBook {
  constructor() {
    /** @type {Map<string, Entry>} */
    this.byId = new Map();
  }

  has(alertId) {
    return this.byId.has(alertId);
  }

  /**
   * Adds an alert's content unless it is a duplicate, malformed or already expired.
   * @param {AlertContent} alert
   * @returns {Entry|null}
   */
  add(alert, vanNow) {
    if (!alert || typeof alert !== 'object' || typeof alert.alertId !== 'string' || typeof alert.subjectRef !== 'string') return null;
    if (this.byId.has(alert.alertId)) return null;
    const capturedMs = Date.parse(alert.capturedAt);
    const expiresMs = Date.parse(alert.expiresAt);
    if (!Number.isFinite(capturedMs) || !Number.isFinite(expiresMs) || expiresMs <= vanNow) return null;
    /** @type {Entry} */
    const e = { alert, capturedMs, expiresMs, decision: alert.decision ?? null, sending: null, engaging: null, refused: null, note: null };
    this.byId.set(alert.alertId, e);
    return e;
  }

  /** Decision state from GET /api/state (the van's record wins over anything in flight). */
  sync(summary) {
    const e = this.byId.get(summary.alertId);
    if (!e || !summary.decision) return;
    e.decision = summary.decision;
    if (e.sending) e.sending = null;
    if (e.engaging && summary.decision.engagement) e.engaging = null;
  }

  /**
   * The van's answer to a decision (any officer's, when accepted; this officer's, when refused).
   * @param {AckPayload} ack
   * @returns {Entry|null} the entry it changed
   */
  ack(ack, me) {
    if (!ack || typeof ack !== 'object') return null;
    const e = this.byId.get(ack.alertId);
    if (!e) return null;
    if (ack.accepted && ack.outcome) {
      e.decision = { outcome: ack.outcome, officerId: e.decision?.officerId ?? ack.officerId, decidedAt: e.decision?.decidedAt ?? ack.recordedAt, engagement: ack.engagement ?? e.decision?.engagement ?? null };
      if (ack.officerId === me) {
        e.sending = null;
        if (ack.engagement) e.engaging = null;
        e.refused = null;
      }
      return e;
    }
    if (!ack.accepted && ack.officerId === me) {
      e.refused = ack.reason ?? 'refused by the van';
      e.sending = null;
      e.engaging = null;
      return e;
    }
    return null;
  }

  /**
   * The cards, newest sighting first. `signInAt`: van time of this officer's sign-in;
   * `runningId`: the deployment running now (null: none). A card of any other deployment is
   * `previous` (read-only).
   */
  cards(signInAt, runningId = null) {
    /** @type {Map<string, Entry[]>} */
    const groups = new Map();
    for (const e of this.byId.values()) {
      const k = cardKey(e.alert);
      const g = groups.get(k);
      if (g) g.push(e);
      else groups.set(k, [e]);
    }
    /** @type {Card[]} */
    const out = [];
    for (const [key, entries] of groups) {
      entries.sort(byNewest);
      const dep = entries[0].alert.deploymentId ?? null;
      out.push({ key, subject: entries[0].alert.subjectRef, deploymentId: dep, previous: dep !== null && dep !== runningId, entries, latest: entries[0], earlier: entries[0].capturedMs < signInAt, stage: stageOf(entries) });
    }
    return out.sort((a, b) => byNewest(a.latest, b.latest));
  }

  /**
   * What to publish for `outcome`: every undecided sighting of the card (never a later sighting
   * of a person already dealt with). Marks them sending. Nothing for a previous deployment's card
   * (`runningId`: the deployment running now): those are read-only here.
   * @returns {{ alertId: string, deploymentId: string|null }[]}
   */
  beginDecision(key, outcome, runningId = null) {
    const ids = [];
    for (const e of this.byId.values()) {
      if (cardKey(e.alert) !== key || e.decision || e.sending || e.alert.repeatOf) continue;
      if (e.alert.deploymentId && e.alert.deploymentId !== runningId) continue;
      e.sending = outcome;
      e.refused = null;
      ids.push({ alertId: e.alert.alertId, deploymentId: e.alert.deploymentId ?? null });
    }
    return ids;
  }

  /** What to publish the engagement outcome for: confirmed sightings without one yet. */
  beginEngagement(key, engagement, runningId = null) {
    const ids = [];
    for (const e of this.byId.values()) {
      if (cardKey(e.alert) !== key || e.decision?.outcome !== 'confirmed_match' || e.decision.engagement || e.engaging) continue;
      if (e.alert.deploymentId && e.alert.deploymentId !== runningId) continue;
      e.engaging = engagement;
      e.refused = null;
      ids.push({ alertId: e.alert.alertId, deploymentId: e.alert.deploymentId ?? null });
    }
    return ids;
  }

  /** Removes alerts whose deletion time has passed (or that the van no longer holds). */
  expire(vanNow, stillHeld = null) {
    const gone = [];
    for (const [id, e] of this.byId) {
      if (e.expiresMs <= vanNow || (stillHeld && !stillHeld.has(id))) {
        // Drop the only references to the base64 images so they can be garbage-collected.
        e.alert.faceJpeg = e.alert.contextJpeg = e.alert.referenceJpeg = '';
        this.byId.delete(id);
        gone.push(id);
      }
    }
    return gone;
  }

  /** Forget everything (sign-out). */
  clear() {
    this.expire(Number.POSITIVE_INFINITY);
  }
}

/**
 * Where a card stands: an undecided sighting keeps it open; then the engagement step. A later
 * sighting of a person already dealt with (repeatOf) is a sighting only: nothing to decide.
 */
function stageOf(entries) {
  const undecided = entries.filter((e) => !e.decision && !e.alert.repeatOf);
  if (undecided.some((e) => !e.sending)) return 'open';
  if (undecided.some((e) => e.sending)) return 'sending';
  if (entries.some((e) => e.decision?.outcome === 'confirmed_match' && !e.decision.engagement && e.engaging)) return 'engaging';
  if (entries.some((e) => e.decision?.outcome === 'confirmed_match' && !e.decision.engagement)) return 'engage';
  return 'done';
}
