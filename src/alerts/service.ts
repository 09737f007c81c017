// The alert service: AlertSink for the matcher, outbox to the tablets, adjudication intake, and
// the alerts' retention task. raise() stores the alert encrypted (durably) BEFORE it is
// published; the outbox publishes every unpublished alert in store order whenever the broker is
// reachable, at least once (a daemon restart re-publishes what the broker never acknowledged;
// tablets de-duplicate by alertId). Images are wiped from the candidate's buffers once sealed.
import path from 'node:path';
import type { Config } from '../config/schema.js';
import type { Clock, Component } from '../lifecycle.js';
import type { Logger } from '../log.js';
import type { AuditRecorder } from '../audit/log.js';
import { AlertKeyStore } from '../crypto/alert-keys.js';
import { wipe } from '../crypto/secure.js';
import type { MqttLink } from '../mqtt/client.js';
import { MAX_ALERT_BYTES, SCHEMA, alertIdFromTopic, parseAdjudication, topicsFor, type AckPayload, type AdjudicationOutcome, type StatusPayload, type Topics } from '../mqtt/topics.js';
import { expiresAt, policyFromHours, type RetentionPolicy } from '../retention/policy.js';
import type { PurgeTask } from '../retention/scheduler.js';
import { AlertStore, type AlertRow } from './store.js';
import { b64len, buildPayload, fitContext, newAlertId } from './payload.js';
import type { AlertCandidate, AlertSink } from './types.js';

/** Refusals audited one by one per minute; a real tablet sends a handful a day. */
const REJECT_AUDIT_MAX = 60;

export interface AdjudicationRecord {
  alertId: string;
  outcome: AdjudicationOutcome;
  officerId: string;
  decidedAt: string;
  recordedAt: number;
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
  private draining: Promise<void> | null = null;
  private again = false;
  private stopping = false;
  private lastStatus: string | null = null;
  private offConnect: (() => void) | null = null;
  private rejectWindow = { start: 0, n: 0, suppressed: 0 };
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
    if (signal.aborted) return;
    await this.deps.mqtt.subscribe(this.topics.adjudicationsWildcard, (topic, payload) => this.onAdjudicationMessage(topic, payload));
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

  async raise(c: AlertCandidate): Promise<string> {
    const now = this.deps.clock();
    const id = newAlertId(now);
    const exp = expiresAt({ capturedAt: c.capturedAt }, this.policy);
    // Size of the alert without a context frame, to fit the frame into what is left.
    const bare = Buffer.byteLength(JSON.stringify(buildPayload(id, this.deps.config.van.id, { ...c, faceJpeg: Buffer.alloc(0), referenceJpeg: Buffer.alloc(0) }, Buffer.alloc(0), exp)));
    const fixed = bare + b64len(c.faceJpeg.length) + b64len(c.referenceJpeg.length);
    let context: Buffer = Buffer.alloc(0);
    try {
      context = await fitContext(c.contextJpeg, this.deps.config.alerts.contextFrameWidth, (n) => fixed + b64len(n) <= MAX_ALERT_BYTES);
    } catch (err) {
      this.deps.log.warn({ err, alertId: id }, 'context frame could not be decoded; alert sent without it');
    }
    if (!context.length) this.deps.log.warn({ alertId: id }, 'context frame left out: the alert would not fit in one message');
    const payload = buildPayload(id, this.deps.config.van.id, c, context, exp);
    try {
      this.store.insert(payload, c.capturedAt, exp);
    } finally {
      wipe(c.faceJpeg);
      wipe(c.contextJpeg);
      wipe(c.referenceJpeg);
      if (context !== c.contextJpeg) wipe(context);
      payload.faceJpeg = payload.contextJpeg = payload.referenceJpeg = '';
    }
    this.counts.raised++;
    // No subject reference: the alert id is the pseudonym; the reference lives in the encrypted alert (24 h).
    this.deps.audit.record('alert.raised', { alertId: id, camera: c.camera, score: payload.likelihood, threshold: c.threshold, category: c.category });
    this.deps.log.info({ alertId: id, camera: c.camera, score: payload.likelihood }, 'alert raised');
    this.kick();
    return id;
  }

  onAdjudication(fn: (r: AdjudicationRecord) => void): () => void {
    this.adjudicationListeners.add(fn);
    return () => this.adjudicationListeners.delete(fn);
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

  private async publishOne(row: AlertRow): Promise<void> {
    const payload = this.store.payload(row.id);
    if (!payload) return; // shredded meanwhile (purge, lost key): nothing to send
    const text = JSON.stringify(payload);
    payload.faceJpeg = payload.contextJpeg = payload.referenceJpeg = '';
    await this.deps.mqtt.publish(this.topics.alert(row.id), text, { qos: 1, retain: false });
    if (this.stopping) return;
    this.store.markPublished(row.id, this.deps.clock());
    this.counts.published++;
    this.deps.audit.record('alert.published', { alertId: row.id });
  }

  private reply(alertId: string, ack: Omit<AckPayload, 'schema' | 'alertId' | 'recordedAt'>, retain: boolean): void {
    const body: AckPayload = { schema: SCHEMA, alertId, ...ack, recordedAt: new Date(this.deps.clock()).toISOString() };
    void this.deps.mqtt.publish(this.topics.ack(alertId), JSON.stringify(body), { qos: 1, retain }).catch(() => undefined);
  }

  private reject(alertId: string | null, reason: string, bytes: number): void {
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
      this.deps.audit.record('adjudication.rejected', { alertId, reason: reason.slice(0, 200), bytes });
      this.deps.log.warn({ alertId, reason, bytes }, 'adjudication rejected');
    } else this.rejectWindow.suppressed++;
    // A refusal is not retained: it must not overwrite the recorded decision of the alert.
    if (alertId) this.reply(alertId, { accepted: false, reason }, false);
  }

  /** Strict intake: never throws; anything malformed is refused, audited and answered. */
  private onAdjudicationMessage(topic: string, raw: Buffer): void {
    if (this.stopping) return;
    const alertId = alertIdFromTopic(topic);
    if (!alertId) return this.reject(null, 'topic does not name an alert', raw.length);
    const parsed = parseAdjudication(alertId, raw);
    if (typeof parsed === 'string') return this.reject(alertId, parsed, raw.length);
    const row = this.store.get(alertId);
    if (!row) return this.reject(alertId, 'unknown alert (never raised here, or already deleted)', raw.length);
    if (!this.store.adjudicate(alertId, parsed.outcome, parsed.officerId, parsed.decidedAt)) {
      const cur = this.store.get(alertId);
      return this.reject(alertId, `already decided (${cur?.outcome ?? 'deleted'} by ${cur?.officerId ?? '?'})`, raw.length);
    }
    const rec: AdjudicationRecord = { alertId, outcome: parsed.outcome, officerId: parsed.officerId, decidedAt: parsed.decidedAt, recordedAt: this.deps.clock() };
    this.counts.adjudications++;
    this.deps.audit.record('adjudication.recorded', { alertId, outcome: rec.outcome, decidedAt: rec.decidedAt, hasNote: Boolean(parsed.note) }, rec.officerId);
    this.deps.log.info({ alertId, outcome: rec.outcome }, 'adjudication recorded');
    this.reply(alertId, { accepted: true, outcome: rec.outcome, officerId: rec.officerId }, true);
    for (const fn of this.adjudicationListeners) {
      try {
        fn(rec);
      } catch (err) {
        this.deps.log.error({ err }, 'adjudication listener failed');
      }
    }
  }

  // PurgeTask -----------------------------------------------------------------------------------

  nextExpiry(): number | null {
    return this.store.nextExpiry();
  }

  async purge(now: number, all = false): Promise<Record<string, number>> {
    const { ids, orphanKeys } = this.store.purge(now, this.policy.maxAgeMs, all);
    for (const id of ids) {
      this.deps.audit.record('alert.purged', { alertId: id, reason: all ? 'purge all' : 'retention' });
      // Clear the retained decision too: nothing about the alert outlives it on the broker.
      if (this.deps.mqtt.connected) void this.deps.mqtt.publish(this.topics.ack(id), '', { qos: 1, retain: true }).catch(() => undefined);
    }
    if (ids.length) this.deps.log.info({ count: ids.length }, 'alerts purged');
    return { alerts: ids.length, orphanKeys };
  }
}
