// The van's side of the MQTT conversation for the tablet tests, speaking THE topics and payloads
// of src/mqtt/topics.ts: availability with a last will, alerts at QoS 1, adjudications parsed with
// the daemon's own strict parser, first decision wins, retained acks. Used until the alert
// service (src/alerts/) can be driven directly by the tablet test.
import { randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import mqtt, { type MqttClient } from 'mqtt';
import { SCHEMA, alertIdFromTopic, parseAdjudication, topicsFor, type AckPayload, type AdjudicationPayload, type AlertPayload, type Topics } from '../../src/mqtt/topics.js';

export interface VanOptions {
  url: string;
  ca: string;
  username: string;
  password: string;
  prefix: string;
  vanId: string;
}

export interface AlertSpec {
  camera: string;
  category: string;
  likelihood: number;
  threshold: number;
  faceJpeg: string;
  referenceJpeg: string;
  capturedAt: number;
  expiresAt: number;
}

export class VanStandIn {
  private client: MqttClient | null = null;
  readonly topics: Topics;
  readonly adjudications: AdjudicationPayload[] = [];
  readonly audit: { event: string; alertId: string; outcome?: string; officerId?: string; reason?: string }[] = [];
  private readonly known = new Set<string>();
  private readonly decided = new Map<string, AdjudicationPayload>();

  constructor(private readonly opts: VanOptions) {
    this.topics = topicsFor(opts.prefix, opts.vanId);
  }

  async start(): Promise<void> {
    const client = mqtt.connect(this.opts.url, {
      ca: await readFile(this.opts.ca),
      username: this.opts.username,
      password: this.opts.password,
      clientId: `lfr-daemon-${this.opts.vanId}`,
      clean: false,
      protocolVersion: 4,
      reconnectPeriod: 500,
      will: { topic: this.topics.availability, payload: Buffer.from('offline'), qos: 1, retain: true },
    });
    this.client = client;
    client.on('connect', () => {
      client.publish(this.topics.availability, 'online', { qos: 1, retain: true });
      client.subscribe(this.topics.adjudicationsWildcard, { qos: 1 });
    });
    client.on('message', (topic, raw) => this.onAdjudication(topic, raw));
    await this.waitConnected(10_000);
  }

  async waitConnected(ms: number): Promise<void> {
    const deadline = Date.now() + ms;
    while (!this.client?.connected) {
      if (Date.now() > deadline) throw new Error('van stand-in did not connect');
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /** Drops the TCP link without DISCONNECT, like a van losing power: the broker sends the will. */
  async crash(): Promise<void> {
    const c = this.client;
    this.client = null;
    if (!c) return;
    c.options.reconnectPeriod = 0;
    c.stream.destroy();
    await c.endAsync(true).catch(() => undefined);
  }

  async stop(): Promise<void> {
    const c = this.client;
    this.client = null;
    await c?.endAsync(true).catch(() => undefined);
  }

  async publishAlert(spec: AlertSpec): Promise<string> {
    const alertId = randomUUID();
    const payload: AlertPayload = {
      schema: SCHEMA,
      alertId,
      vanId: this.opts.vanId,
      camera: spec.camera,
      capturedAt: new Date(spec.capturedAt).toISOString(),
      expiresAt: new Date(spec.expiresAt).toISOString(),
      likelihood: spec.likelihood,
      threshold: spec.threshold,
      enrollmentId: 'S-0001',
      category: spec.category,
      boundingBox: { left: 0.4, top: 0.2, right: 0.5, bottom: 0.35 },
      faceJpeg: spec.faceJpeg,
      contextJpeg: spec.faceJpeg,
      referenceJpeg: spec.referenceJpeg,
      decision: 'suggestion',
    };
    this.known.add(alertId);
    await this.client!.publishAsync(this.topics.alert(alertId), JSON.stringify(payload), { qos: 1 });
    return alertId;
  }

  private onAdjudication(topic: string, raw: Buffer): void {
    const id = alertIdFromTopic(topic);
    if (!id) return;
    const parsed = parseAdjudication(id, raw);
    let ack: AckPayload;
    if (typeof parsed === 'string' || !this.known.has(id) || this.decided.has(id)) {
      const reason = typeof parsed === 'string' ? parsed : !this.known.has(id) ? 'unknown alert' : 'already decided';
      this.audit.push({ event: 'adjudication.refused', alertId: id, reason });
      ack = { schema: SCHEMA, alertId: id, accepted: false, reason, recordedAt: new Date().toISOString() };
      if (typeof parsed !== 'string') this.adjudications.push(parsed);
      this.client?.publish(this.topics.ack(id), JSON.stringify(ack), { qos: 1 });
      return;
    }
    this.adjudications.push(parsed);
    this.decided.set(id, parsed);
    this.audit.push({ event: 'adjudication.accepted', alertId: id, outcome: parsed.outcome, officerId: parsed.officerId });
    ack = { schema: SCHEMA, alertId: id, accepted: true, outcome: parsed.outcome, officerId: parsed.officerId, recordedAt: new Date().toISOString() };
    this.client?.publish(this.topics.ack(id), JSON.stringify(ack), { qos: 1, retain: true });
  }
}
