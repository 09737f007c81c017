// The tablet's in-memory list of alerts: de-duplicated by alertId (a persistent MQTT session
// re-delivers QoS 1 messages after a reconnect), newest first, dropped at expiresAt. Pure: no DOM,
// no timers, no storage; time comes in as an argument so the rules are easy to reason about.

/** @typedef {import('./lib/topics.js').AlertPayload} AlertPayload */
/** @typedef {import('./lib/topics.js').AckPayload} AckPayload */

/**
 * @typedef {object} Entry
 * @property {AlertPayload} alert
 * @property {number} capturedMs
 * @property {number} expiresMs
 * @property {'none'|'sending'|'acked'|'refused'} decision
 * @property {string|null} sentOutcome   what this tablet sent, if anything
 * @property {AckPayload|null} ack       the daemon's answer (possibly for another officer)
 */

export class AlertList {
  constructor() {
    /** @type {Map<string, Entry>} */
    this.byId = new Map();
    /** Acks that arrived before their alert (retained acks come first on a fresh subscribe). */
    /** @type {Map<string, AckPayload>} */
    this.earlyAcks = new Map();
  }

  /**
   * Adds an alert unless it is a duplicate, malformed or already expired.
   * @returns {Entry|null} the new entry, or null when nothing was added
   */
  add(alert, nowMs) {
    if (!alert || typeof alert !== 'object' || typeof alert.alertId !== 'string') return null;
    if (this.byId.has(alert.alertId)) return null;
    const capturedMs = Date.parse(alert.capturedAt);
    const expiresMs = Date.parse(alert.expiresAt);
    if (!Number.isFinite(capturedMs) || !Number.isFinite(expiresMs) || expiresMs <= nowMs) return null;
    /** @type {Entry} */
    const entry = { alert, capturedMs, expiresMs, decision: 'none', sentOutcome: null, ack: null };
    const early = this.earlyAcks.get(alert.alertId);
    if (early) {
      this.earlyAcks.delete(alert.alertId);
      this.applyAck(entry, early);
    }
    this.byId.set(alert.alertId, entry);
    return entry;
  }

  /** Newest capture first. */
  ordered() {
    return [...this.byId.values()].sort((a, b) => b.capturedMs - a.capturedMs || (a.alert.alertId < b.alert.alertId ? 1 : -1));
  }

  /**
   * Marks an alert as being decided. Refuses a second decision for the same alert.
   * @returns {boolean} true when the caller may publish
   */
  beginDecision(alertId, outcome) {
    const e = this.byId.get(alertId);
    if (!e || e.decision !== 'none') return false;
    e.decision = 'sending';
    e.sentOutcome = outcome;
    return true;
  }

  /** @returns {Entry|null} the entry the ack belongs to (null when the alert is not shown yet) */
  ack(ack) {
    if (!ack || typeof ack !== 'object' || typeof ack.alertId !== 'string') return null;
    const e = this.byId.get(ack.alertId);
    if (!e) {
      this.earlyAcks.set(ack.alertId, ack);
      return null;
    }
    this.applyAck(e, ack);
    return e;
  }

  /** @param {Entry} e @param {AckPayload} ack */
  applyAck(e, ack) {
    // A recorded decision stands: a later refusal (someone else's second try) does not undo it.
    if (e.decision === 'acked' && !ack.accepted) return;
    e.ack = ack;
    e.decision = ack.accepted ? 'acked' : 'refused';
  }

  /**
   * Removes every alert whose deletion time has passed and forgets its images.
   * @returns {string[]} the ids removed
   */
  expire(nowMs) {
    const gone = [];
    for (const [id, e] of this.byId) {
      if (e.expiresMs <= nowMs) {
        // Drop the only references to the base64 images so they can be garbage-collected.
        e.alert.faceJpeg = '';
        e.alert.contextJpeg = '';
        e.alert.referenceJpeg = '';
        this.byId.delete(id);
        gone.push(id);
      }
    }
    return gone;
  }

  /** Forget everything (sign-out). */
  clear() {
    this.expire(Number.POSITIVE_INFINITY);
    this.earlyAcks.clear();
  }
}
