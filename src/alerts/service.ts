// The alert service: AlertSink for the matcher, outbox to the tablets, decision intake, and the
// alerts' retention task. raise() stores the alert encrypted (durably) BEFORE anything is
// published; the outbox publishes every unpublished alert in store order whenever the broker is
// reachable, at least once (a daemon restart re-publishes what the broker never acknowledged;
// tablets de-duplicate by alertId). What is published is the AlertMessage only (no image, no
// subject reference: src/mqtt/topics.ts); the content is read by the tablet page over HTTPS
// (contentJson(), src/tablet/). Images are wiped from the candidate's buffers once sealed.
import path from 'node:path';
import { createHmac, randomBytes } from 'node:crypto';
import type { Config } from '../config/schema.js';
import type { Clock, Component } from '../lifecycle.js';
import type { Logger } from '../log.js';
import type { AuditRecorder } from '../audit/log.js';
import { AlertKeyStore } from '../crypto/alert-keys.js';
import { wipe } from '../crypto/secure.js';
import type { MqttLink } from '../mqtt/client.js';
import { CLOSING_ENGAGEMENTS, SCHEMA, decisionTopicParts, topicsFor, type AckPayload, type AdjudicationOutcome, type AlertSummary, type EngagementOutcome, type StatusPayload, type Topics } from '../mqtt/topics.js';
import { parseDecision } from '../mqtt/decision.js';
import { expiresAt, policyFromHours, type RetentionPolicy } from '../retention/policy.js';
import type { PurgeTask } from '../retention/scheduler.js';
import { AlertStore, type AlertRow } from './store.js';
import { messageOf, newAlertId, sealedContent, summaryOf } from './content.js';
import type { AlertCandidate, AlertSink } from './types.js';

/** Refusals audited one by one per minute; a real tablet sends a handful a day. */
const REJECT_AUDIT_MAX = 60;
/**
 * Per-officer decision budget (token bucket): a card decision sends one message per sighting
 * (rarely over 20), so a burst of 60 and 2 a second more is far above any real tablet. Beyond it
 * a message is dropped at once, before parsing, any database write or answer, so one officer's
 * flood costs the daemon next to nothing and it keeps taking everyone else's decisions off the
 * broker (whose per-client queue, max_queued_messages, would otherwise overflow and drop them).
 */
const OFFICER_BURST = 60;
const OFFICER_PER_SECOND = 2;

/** A decision (or the engagement outcome after one) as recorded. No note: notes stay sealed with the alert. */
export interface AdjudicationRecord {
  alertId: string;
  deploymentId: string | null;
  outcome: AdjudicationOutcome;
  engagement: EngagementOutcome | null;
  /** The authenticated officer (the broker account that published it). */
  officerId: string;
  decidedAt: string;
  recordedAt: number;
  /** 'decision' for the first message, 'engagement' for the second step after a confirmed match. */
  step: 'decision' | 'engagement';
  /** The photo check the decision cites (its id and outcome), or null. */
  photoCheck: { checkId: string; verdict: string } | null;
}

/**
 * Notes one officer may keep on one alert: the page sends one with a decision; a second and third
 * allow a correction or an afterthought, and the cap keeps one account from growing a sealed blob
 * without end (each note re-seals all of them).
 */
export const MAX_NOTES_PER_OFFICER = 3;

/** What addOfficerNote did: stored, or why not (the route maps the code to an HTTP answer). */
export type NoteOutcome = { ok: true; deploymentId: string | null } | { ok: false; code: 'unknown_alert' | 'no_decision' | 'too_many_notes' };

/** Finds a photo check an officer made on an alert (src/tablet/photo-check.ts): its outcome, or null. */
export type CheckLookup = (alertId: string, officerId: string, checkId: string) => string | null;

/** An alert as raised, for the deployment record (no content). */
export interface RaisedRecord {
  alertId: string;
  deploymentId: string | null;
  camera: string;
  category: string;
  capturedAt: number;
  score: number;
  /** A later sighting of a person already closed in this deployment: the alert that closed them. */
  repeatOf: string | null;
}

/**
 * What the alert service asks the deployment record (src/deployment/service.ts) before it accepts
 * a decision: whether the deployment exists, has ended, and had this officer on it.
 */
export interface DeploymentMembership {
  membership(deploymentId: string, officerId: string): { known: boolean; ended: boolean; onIt: boolean };
  /** The officer decided in the running deployment: they are on it. */
  noteOfficer(officerId: string): void;
}

export function alertStoreFile(cfg: Config): string {
  return path.resolve(cfg.paths.stateDir, cfg.alerts.storeFile);
}
export function alertKeyDir(cfg: Config): string {
  return path.resolve(cfg.paths.runtimeDir, cfg.alerts.keyDir);
}

export interface AlertServiceDeps {
  config: Config;
  log: Logger;
  clock: Clock;
  audit: AuditRecorder;
  mqtt: MqttLink;
}

export class AlertService implements Component, AlertSink, PurgeTask {
  readonly name = 'alerts';
  readonly store: AlertStore;
  readonly topics: Topics;
  private readonly policy: RetentionPolicy;
  private readonly adjudicationListeners = new Set<(r: AdjudicationRecord) => void>();
  private readonly raisedListeners = new Set<(r: RaisedRecord) => void>();
  private draining: Promise<void> | null = null;
  private again = false;
  private stopping = false;
  private lastStatus: string | null = null;
  private offConnect: (() => void) | null = null;
  private rejectWindow = { start: 0, n: 0, suppressed: 0 };
  private readonly buckets = new Map<string, { tokens: number; at: number; dropped: number }>();
  private deploymentId: string | null = null;
  private deployments: DeploymentMembership | null = null;
  /**
   * deployment id -> subject key -> the alert whose engagement closed that person. The key is an
   * HMAC of the subject reference under a key of this process only: no reference is kept in clear
   * outside the sealed content. Rebuilt at start from the sealed content of closing alerts.
   */
  private readonly closed = new Map<string, Map<string, string>>();
  private readonly subjectKeySecret = randomBytes(32);
  private checkLookup: CheckLookup | null = null;
  /** Counters for metrics and the status summary. */
  readonly counts = { raised: 0, published: 0, adjudications: 0, rejectedAdjudications: 0 };

  constructor(private readonly deps: AlertServiceDeps) {
    const cfg = deps.config;
    this.store = new AlertStore(alertStoreFile(cfg), new AlertKeyStore(alertKeyDir(cfg)));
    this.topics = topicsFor(cfg.mqtt.topicPrefix, cfg.van.id);
    this.policy = policyFromHours(cfg.alerts.retentionHours);
  }

  async start(signal: AbortSignal): Promise<void> {
    this.stopping = false;
    this.store.open();
    const lost = this.store.dropKeyless();
    if (lost.length) {
      // Keys live on tmpfs: after a power cut these alerts cannot be read, so they are gone.
      this.deps.log.warn({ count: lost.length }, 'alerts whose keys were lost (power cut) deleted unpublished');
      for (const id of lost) this.deps.audit.record('alert.purged', { alertId: id, reason: 'key lost' });
    }
    await this.purge(this.deps.clock()); // retention is enforced before anything is published
    for (const row of this.store.closing(CLOSING_ENGAGEMENTS)) this.closePerson(row.id, row.deploymentId);
    if (signal.aborted) return;
    await this.deps.mqtt.subscribe(this.topics.adjudicationsWildcard, (topic, payload, meta) => this.onDecisionMessage(topic, payload, meta.retain));
    this.offConnect = this.deps.mqtt.onConnect(() => {
      if (this.lastStatus) void this.deps.mqtt.publish(this.topics.status, this.lastStatus, { qos: 1, retain: true }).catch(() => undefined);
      this.kick();
    });
    this.kick();
  }

  async stop(): Promise<void> {
    this.stopping = true;
    this.offConnect?.();
    // Let an in-flight batch finish briefly; anything unacknowledged is re-sent after restart.
    if (this.draining) await Promise.race([this.draining, new Promise((r) => setTimeout(r, 2000))]);
    this.store.close();
  }

  /** The running deployment (set by the deployment hooks): new alerts are raised in it. */
  setDeployment(id: string | null): void {
    this.deploymentId = id;
  }

  /** The deployment record, asked before a decision is accepted (set by the composition root). */
  setMembership(m: DeploymentMembership): void {
    this.deployments = m;
  }

  private subjectKey(ref: string): string {
    return createHmac('sha256', this.subjectKeySecret).update(ref, 'utf8').digest('base64');
  }

  /** An engagement closed the person of `alertId` for its deployment (reads the sealed subject). */
  private closePerson(alertId: string, deploymentId: string | null): void {
    if (!deploymentId) return;
    const ref = this.store.content(alertId)?.subjectRef;
    if (!ref) return;
    let m = this.closed.get(deploymentId);
    if (!m) this.closed.set(deploymentId, (m = new Map()));
    const k = this.subjectKey(ref);
    if (!m.has(k)) m.set(k, alertId);
  }

  /** Where a decision's cited photo check is looked up (the tablet's photo check, when on). */
  setCheckLookup(fn: CheckLookup | null): void {
    this.checkLookup = fn;
  }

  async raise(c: AlertCandidate): Promise<string> {
    const now = this.deps.clock();
    const id = newAlertId(now);
    // A person already dealt with in this deployment: stored and shown as a sighting on that card.
    const repeatOf = this.deploymentId ? (this.closed.get(this.deploymentId)?.get(this.subjectKey(c.subjectRef)) ?? null) : null;
    const exp = expiresAt({ capturedAt: c.capturedAt }, this.policy);
    const score = Math.round(c.score * 10000) / 10000;
    const content = sealedContent(c);
    try {
      this.store.insert({ id, deploymentId: this.deploymentId, camera: c.camera, category: c.category, capturedAt: c.capturedAt, raisedAt: now, expiresAt: exp, likelihood: score, threshold: c.threshold, repeatOf }, content);
    } finally {
      wipe(c.faceJpeg);
      wipe(c.contextJpeg);
      wipe(c.referenceJpeg);
      content.faceJpeg = content.contextJpeg = content.referenceJpeg = content.subjectRef = content.reason = '';
    }
    this.counts.raised++;
    // Durable in the store: announce it now (the audit entry's own fsync need not delay the tablets).
    this.kick();
    // No subject reference here (issue 11.8: the audit keeps no personal data past 24 h).
    this.deps.audit.record('alert.raised', { alertId: id, deploymentId: this.deploymentId, camera: c.camera, score, threshold: c.threshold, category: c.category, repeatOf });
    this.deps.log.info({ alertId: id, camera: c.camera, score, repeatOf }, repeatOf ? 'alert raised (a later sighting of a person already dealt with)' : 'alert raised');
    const rec: RaisedRecord = { alertId: id, deploymentId: this.deploymentId, camera: c.camera, category: c.category, capturedAt: c.capturedAt, score, repeatOf };
    this.emit(this.raisedListeners, rec);
    return id;
  }

  onAdjudication(fn: (r: AdjudicationRecord) => void): () => void {
    this.adjudicationListeners.add(fn);
    return () => this.adjudicationListeners.delete(fn);
  }

  onRaised(fn: (r: RaisedRecord) => void): () => void {
    this.raisedListeners.add(fn);
    return () => this.raisedListeners.delete(fn);
  }

  private emit<T>(set: Set<(r: T) => void>, r: T): void {
    for (const fn of set) {
      try {
        fn(r);
      } catch (err) {
        this.deps.log.error({ err }, 'alert listener failed');
      }
    }
  }

  /** The alerts held now (not purged), newest first: what the tablet lists. */
  summaries(): AlertSummary[] {
    const now = this.deps.clock();
    return this.store.list(10_000).filter((r) => r.expiresAt > now).map(summaryOf);
  }

  /**
   * The tablet's view of one alert as JSON bytes (AlertContent of src/mqtt/topics.ts): the clear
   * summary, the camera's place, the notes and the sealed content, spliced without parsing the
   * images. null when unknown, expired or shredded. The caller wipes the buffer after sending.
   */
  contentJson(id: string): Buffer | null {
    const row = this.store.get(id);
    if (!row || row.expiresAt <= this.deps.clock()) return null;
    const sealed = this.store.contentJson(id);
    if (!sealed) return null;
    const cam = this.deps.config.cameras.find((c) => c.name === row.camera);
    const head = JSON.stringify({ ...summaryOf(row), cameraLocation: cam?.location ?? null, notes: this.store.notes(id) });
    // head is `{...}` and sealed is `{...}`: join them into one object.
    const out = Buffer.concat([Buffer.from(head.slice(0, -1) + ','), sealed.subarray(1)]);
    wipe(sealed);
    return out;
  }

  /**
   * The alert's row and its subject reference (for the photo check's 1:1 comparison), or null when
   * unknown, expired or shredded. Read from the sealed content without parsing its images; the
   * decrypted buffer is wiped before returning.
   */
  subjectOf(id: string): { row: AlertRow; subjectRef: string } | null {
    const row = this.store.get(id);
    if (!row || row.expiresAt <= this.deps.clock()) return null;
    const sealed = this.store.contentJson(id);
    if (!sealed) return null;
    try {
      // sealedContent() writes subjectRef first: a JSON string literal right after the key.
      const key = Buffer.from('"subjectRef":');
      const at = sealed.indexOf(key);
      if (at < 0) return null;
      let end = at + key.length + 1;
      while (end < sealed.length && sealed[end] !== 0x22) end += sealed[end] === 0x5c ? 2 : 1;
      const subjectRef = JSON.parse(sealed.subarray(at + key.length, end + 1).toString('utf8')) as unknown;
      return typeof subjectRef === 'string' && subjectRef ? { row, subjectRef } : null;
    } catch {
      return null;
    } finally {
      wipe(sealed);
    }
  }

  /** Retained status summary (content defined by health/status.ts); re-sent on every reconnect. */
  async publishStatus(summary: StatusPayload): Promise<void> {
    this.lastStatus = JSON.stringify(summary);
    if (!this.deps.mqtt.connected) return;
    await this.deps.mqtt.publish(this.topics.status, this.lastStatus, { qos: 1, retain: true });
  }

  pendingCount(): number {
    return this.store.pendingCount();
  }

  /** Outbox: start draining unless a drain is running (then it loops once more). */
  kick(): void {
    if (this.stopping) return;
    if (this.draining) {
      this.again = true;
      return;
    }
    this.draining = (async () => {
      try {
        do {
          this.again = false;
          await this.drainOnce();
        } while (this.again && this.deps.mqtt.connected && !this.stopping);
      } catch (err) {
        this.deps.log.warn({ err }, 'outbox drain interrupted; resumes on reconnect');
      } finally {
        this.draining = null;
      }
    })();
  }

  /** Resolves when the outbox is empty (for tests and a clean shutdown). */
  async idle(): Promise<void> {
    while (this.draining) await this.draining;
  }

  private async drainOnce(): Promise<void> {
    let after = 0;
    while (this.deps.mqtt.connected && !this.stopping) {
      const batch = this.store.pending(after, this.deps.config.alerts.maxInFlight);
      if (!batch.length) return;
      // One connection, QoS 1, publishes issued in seq order: the broker forwards them in order.
      await Promise.all(batch.map((row) => this.publishOne(row)));
      after = batch[batch.length - 1]!.seq;
    }
  }

  /** Seconds the alert has left: the MQTT 5 message expiry of everything published about it. */
  private lifeLeft(row: Pick<AlertRow, 'expiresAt'>): number {
    return Math.max(1, Math.ceil((row.expiresAt - this.deps.clock()) / 1000));
  }

  private async publishOne(row: AlertRow): Promise<void> {
    if (row.expiresAt <= this.deps.clock()) return; // due for purge: never announce it
    const text = JSON.stringify(messageOf(row, this.deps.config.van.id));
    await this.deps.mqtt.publish(this.topics.alert(row.id), text, { qos: 1, retain: false, expirySeconds: this.lifeLeft(row) });
    if (this.stopping) return;
    this.store.markPublished(row.id, this.deps.clock());
    this.counts.published++;
    this.deps.audit.record('alert.published', { alertId: row.id });
  }

  private reply(alertId: string, ack: Omit<AckPayload, 'schema' | 'alertId' | 'recordedAt'>): void {
    const body: AckPayload = { schema: SCHEMA, alertId, ...ack, recordedAt: new Date(this.deps.clock()).toISOString() };
    const row = this.store.get(alertId);
    // Never retained: a tablet that connects later reads decisions over HTTPS (GET /api/state).
    void this.deps.mqtt.publish(this.topics.ack(alertId), JSON.stringify(body), { qos: 1, retain: false, expirySeconds: row ? this.lifeLeft(row) : 60 }).catch(() => undefined);
  }

  private reject(alertId: string | null, officerId: string | null, reason: string, bytes: number): void {
    this.counts.rejectedAdjudications++;
    // A misbehaving tablet must not be able to flood the audit trail: at most REJECT_AUDIT_MAX
    // refusals per minute are written one by one; the rest are counted into one summary entry.
    const now = this.deps.clock();
    const w = this.rejectWindow;
    if (now - w.start >= 60_000) {
      if (w.suppressed) this.deps.audit.record('adjudication.rejected', { alertId: null, reason: 'further refusals not itemised (rate limit)', count: w.suppressed });
      this.rejectWindow = { start: now, n: 0, suppressed: 0 };
    }
    if (this.rejectWindow.n++ < REJECT_AUDIT_MAX) {
      this.deps.audit.record('adjudication.rejected', { alertId, reason: reason.slice(0, 200), bytes }, officerId ?? undefined);
      this.deps.log.warn({ alertId, officerId, reason, bytes }, 'adjudication rejected');
    } else this.rejectWindow.suppressed++;
    if (alertId && officerId && this.store.get(alertId)) this.reply(alertId, { accepted: false, officerId, reason });
  }

  /** The officer's decision budget: false (message dropped, counted, audited once a minute) when spent. */
  private takeToken(officerId: string): boolean {
    const now = this.deps.clock();
    let b = this.buckets.get(officerId);
    if (!b) {
      if (this.buckets.size > 1000) this.buckets.clear();
      this.buckets.set(officerId, (b = { tokens: OFFICER_BURST, at: now, dropped: 0 }));
    }
    b.tokens = Math.min(OFFICER_BURST, b.tokens + ((now - b.at) / 1000) * OFFICER_PER_SECOND);
    b.at = now;
    if (b.tokens >= 1) {
      b.tokens -= 1;
      if (b.dropped) {
        this.deps.audit.record('adjudication.rejected', { alertId: null, reason: `officer's decisions over the rate limit (${OFFICER_BURST} at once, ${OFFICER_PER_SECOND}/s) dropped unread`, count: b.dropped }, officerId);
        b.dropped = 0;
      }
      return true;
    }
    if (b.dropped++ === 0) this.deps.log.warn({ officerId }, 'decisions over the per-officer rate limit: dropped unread');
    this.counts.rejectedAdjudications++;
    return false;
  }

  /**
   * Why a decision may not touch this alert's deployment, or null. The decision names the
   * deployment it is made in (absent: the one running now); an alert of any other deployment is
   * refused. An ENDED deployment's alert takes a late decision only from an officer who was on it.
   */
  private deploymentRefusal(row: AlertRow, named: string | null | undefined, officerId: string): string | null {
    const meant = named === undefined ? this.deploymentId : named;
    if (row.deploymentId !== meant) {
      return `this alert belongs to ${row.deploymentId ? `deployment ${row.deploymentId}` : 'no deployment'}, not ${meant ? `deployment ${meant}` : 'the one running now (none)'}: nothing changed`;
    }
    if (!row.deploymentId || row.deploymentId === this.deploymentId || !this.deployments) return null;
    const m = this.deployments.membership(row.deploymentId, officerId);
    if (!m.known) return `deployment ${row.deploymentId} is not on this van's record: nothing changed`;
    if (m.ended && !m.onIt) return `deployment ${row.deploymentId} has ended and officer ${officerId} was not on it: nothing changed`;
    return null;
  }

  /** Strict intake: never throws; anything malformed is refused, audited and answered. */
  private onDecisionMessage(topic: string, raw: Buffer, retained: boolean): void {
    if (this.stopping) return;
    const parts = decisionTopicParts(topic);
    if (retained) {
      // Only the daemon may read decision topics (ACL), but the broker would keep a retained
      // one in memory: clear it at once, then refuse it.
      void this.deps.mqtt.publish(topic, '', { qos: 1, retain: true }).catch(() => undefined);
      if (raw.length === 0) return; // our own clearing message, or an empty retained one
    }
    if (!parts) return this.reject(null, null, 'topic does not name an officer and an alert', raw.length);
    if (!this.takeToken(parts.officerId)) return;
    const parsed = parseDecision(parts, raw, retained);
    if (typeof parsed === 'string') return this.reject(parts.alertId, parts.officerId, parsed, raw.length);
    const { alertId, officerId } = parts;
    const row = this.store.get(alertId);
    if (!row || row.expiresAt <= this.deps.clock()) return this.reject(alertId, officerId, 'unknown alert (never raised here, or already deleted)', raw.length);
    const refusal = this.deploymentRefusal(row, parsed.deploymentId, officerId);
    if (refusal) return this.reject(alertId, officerId, refusal, raw.length);
    if (row.repeatOf) return this.reject(alertId, officerId, 'a later sighting of a person already dealt with in this deployment: nothing to decide, nothing changed', raw.length);
    let photoCheck: AdjudicationRecord['photoCheck'] = null;
    if (parsed.photoCheck) {
      const verdict = this.checkLookup?.(alertId, officerId, parsed.photoCheck) ?? null;
      if (!verdict) return this.reject(alertId, officerId, 'the photo check cited was not made by this officer on this alert (or photo checks are off)', raw.length);
      photoCheck = { checkId: parsed.photoCheck, verdict };
    }
    let step: AdjudicationRecord['step'];
    let engagement: EngagementOutcome | null = parsed.engagement ?? null;
    if (row.outcome === null) {
      if (!this.store.adjudicate(alertId, parsed.outcome, officerId, parsed.decidedAt, engagement)) return this.reject(alertId, officerId, 'already decided', raw.length);
      step = 'decision';
    } else if (row.outcome === 'confirmed_match' && parsed.outcome === 'confirmed_match' && engagement && row.engagement === null) {
      if (!this.store.engage(alertId, engagement, officerId)) return this.reject(alertId, officerId, 'engagement already recorded', raw.length);
      step = 'engagement';
    } else {
      const what = row.engagement ? `${row.outcome}, ${row.engagement}` : row.outcome;
      return this.reject(alertId, officerId, `already decided (${what} by ${row.officerId ?? '?'})`, raw.length);
    }
    if (engagement && CLOSING_ENGAGEMENTS.includes(engagement)) this.closePerson(alertId, row.deploymentId);
    if (row.deploymentId && row.deploymentId === this.deploymentId) this.deployments?.noteOfficer(officerId);
    const rec: AdjudicationRecord = { alertId, deploymentId: row.deploymentId, outcome: parsed.outcome, engagement, officerId, decidedAt: parsed.decidedAt, recordedAt: this.deps.clock(), step, photoCheck };
    this.counts.adjudications++;
    // A note comes over HTTPS afterwards (addOfficerNote): nothing of it crosses the broker.
    this.deps.audit.record(step === 'decision' ? 'adjudication.recorded' : 'adjudication.engagement', { alertId, deploymentId: row.deploymentId, outcome: rec.outcome, engagement, decidedAt: rec.decidedAt, ...(photoCheck ? { photoCheck: photoCheck.checkId, photoCheckOutcome: photoCheck.verdict } : {}) }, officerId);
    this.deps.log.info({ alertId, outcome: rec.outcome, engagement, step }, 'adjudication recorded');
    const now = this.store.get(alertId);
    this.reply(alertId, { accepted: true, officerId, outcome: rec.outcome, ...(now?.engagement ? { engagement: now.engagement } : {}) });
    this.emit(this.adjudicationListeners, rec);
  }

  /**
   * An officer's note on an alert (POST /api/alerts/<id>/note, src/tablet/notes.ts), stored where
   * notes have always been: with the alert, sealed under its key, gone with it (<= 24 h). Never on
   * the broker, never in the audit trail, the deployment record or the report.
   *
   * The officer must have decided this alert themselves (its decision or its engagement step):
   * the note belongs to THEIR adjudication. A note with no decision of theirs is refused (409)
   * rather than kept: the page sends it only once the van has acknowledged the decision, so a
   * refusal means the decision was not recorded (a colleague decided first, or it was refused),
   * and an officer reading "note not saved: decide first" knows where they stand; a note kept
   * without a decision would sit on a colleague's decision as if it were part of it.
   * The alert must be one this officer may act on, as for a decision: the running deployment's
   * (or one raised outside any deployment), or an ended deployment they were on; anything else is
   * "no such alert" (as GET /api/alerts/<id> answers: the reply never says which).
   */
  addOfficerNote(alertId: string, officerId: string, text: string): NoteOutcome {
    const row = this.store.get(alertId);
    if (!row || row.expiresAt <= this.deps.clock()) return { ok: false, code: 'unknown_alert' };
    if (this.deploymentRefusal(row, row.deploymentId, officerId)) return { ok: false, code: 'unknown_alert' };
    if (row.officerId !== officerId && row.engagementOfficer !== officerId) return { ok: false, code: 'no_decision' };
    const mine = this.store.notes(alertId).filter((n) => n.officerId === officerId).length;
    if (mine >= MAX_NOTES_PER_OFFICER) return { ok: false, code: 'too_many_notes' };
    if (!this.store.addNote(alertId, { officerId, at: new Date(this.deps.clock()).toISOString(), text })) return { ok: false, code: 'unknown_alert' }; // shredded meanwhile
    return { ok: true, deploymentId: row.deploymentId };
  }

  // PurgeTask -----------------------------------------------------------------------------------

  nextExpiry(): number | null {
    return this.store.nextExpiry();
  }

  async purge(now: number, all = false): Promise<Record<string, number>> {
    const { ids, orphanKeys } = this.store.purge(now, this.policy.maxAgeMs, all);
    for (const id of ids) this.deps.audit.record('alert.purged', { alertId: id, reason: all ? 'purge all' : 'retention' });
    if (ids.length) this.deps.log.info({ count: ids.length }, 'alerts purged');
    return { alerts: ids.length, orphanKeys };
  }
}
