// HQ's MQTT side: one persistent MQTT 5 session per instance, subscribed with SHARED subscriptions
// ($share/<group>/<prefix>/+/status and .../fleet/#), so several HQ instances split the vans'
// messages between them. A message is acknowledged (PUBACK) only after the database has it: the
// ingest runs inside mqtt.js's handleMessage, whose callback sends the PUBACK. When the database
// fails, the message is NOT acknowledged; the connection is dropped and made again a few seconds
// later, and the broker re-sends what was not acknowledged (clean: false, session expiry). So HQ or
// its database down loses nothing: the vans' bridges and the HQ broker queue meanwhile.
import { readFileSync } from 'node:fs';
import mqtt, { type MqttClient } from 'mqtt';
import type { Component } from '../lifecycle.js';
import type { Logger } from '../log.js';
import type { HqConfig } from './config.js';
import { ingest, type IngestStore } from './ingest.js';

export interface IngestCounters {
  accepted: number;
  refused: number;
  /** Database failures: messages left unacknowledged for the broker to re-send. */
  retried: number;
  /** Delay van -> HQ of accepted fleet records (sentAt to received), last N, ms. */
  lastDelaysMs: number[];
}

export class HqSubscriber implements Component {
  readonly name = 'hq-mqtt';
  private client: MqttClient | null = null;
  private stopped = false;
  private retryTimer: NodeJS.Timeout | null = null;
  readonly counters: IngestCounters = { accepted: 0, refused: 0, retried: 0, lastDelaysMs: [] };

  constructor(
    private readonly cfg: HqConfig,
    private readonly store: IngestStore,
    private readonly log: Logger,
  ) {}

  get connected(): boolean {
    return this.client?.connected ?? false;
  }

  async start(): Promise<void> {
    this.stopped = false;
    this.connect();
  }

  private connect(): void {
    const m = this.cfg.mqtt;
    const client = mqtt.connect(m.url, {
      clientId: `lfr-${m.instance}`,
      protocolVersion: 5,
      clean: false,
      properties: { sessionExpiryInterval: m.sessionExpirySeconds },
      ca: readFileSync(m.caFile),
      cert: readFileSync(m.certFile),
      key: readFileSync(m.keyFile),
      reconnectPeriod: 2000,
      keepalive: 30,
      // We subscribe ourselves on EVERY connect (below). mqtt.js's own resubscribe skips topics it
      // believes the session still holds, and mosquitto 2.0.11 does not restore SHARED
      // subscriptions from its persistence file: after a broker restart the session is "present"
      // but subscribed to nothing (measured: SUBACK empty, queued records never delivered).
      resubscribe: false,
    });
    this.client = client;
    const p = this.cfg.topicPrefix;
    const g = m.shareGroup;
    client.on('connect', (ack) => {
      this.log.info({ sessionPresent: ack.sessionPresent }, 'connected to the HQ broker');
      client.subscribe([`$share/${g}/${p}/+/status`, `$share/${g}/${p}/+/fleet/#`], { qos: 1 }, (err) => {
        if (err) this.log.error({ err }, 'subscribe failed');
      });
    });
    client.on('error', (err) => this.log.warn({ err }, 'HQ broker error'));
    client.on('offline', () => this.log.warn('HQ broker unreachable; retrying'));
    client.handleMessage = (packet, done) => {
      const received = new Date();
      const payload = Buffer.isBuffer(packet.payload) ? packet.payload : Buffer.from(packet.payload);
      ingest(this.store, { prefix: p, maxSkewMs: this.cfg.maxClockSkewSeconds * 1000 }, packet.topic, payload, received).then(
        (r) => {
          if (r.ok) {
            this.counters.accepted++;
            // End to end: the van's sentAt to the database commit (not just receipt).
            if (r.what !== 'status' && r.what !== 'link') this.noteDelay(payload, new Date());
          } else {
            this.counters.refused++;
            this.log.warn({ topic: packet.topic.slice(0, 200), reason: r.reason }, 'message from a van refused');
          }
          done();
        },
        (err: unknown) => {
          // Not acknowledged: the broker keeps it for this session and re-sends it on reconnect.
          this.counters.retried++;
          this.log.error({ err }, 'the database did not take a message; reconnecting so the broker re-sends it');
          this.restart(client);
        },
      );
    };
  }

  private noteDelay(payload: Buffer, received: Date): void {
    try {
      const sent = Date.parse((JSON.parse(payload.toString('utf8')) as { sentAt: string }).sentAt);
      const d = this.counters.lastDelaysMs;
      d.push(received.getTime() - sent);
      if (d.length > 100_000) d.splice(0, d.length - 100_000);
    } catch {
      /* counted elsewhere */
    }
  }

  private restart(client: MqttClient): void {
    if (this.client !== client || this.stopped) return;
    this.client = null;
    client.end(true);
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      if (!this.stopped) this.connect();
    }, 3000);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    const c = this.client;
    this.client = null;
    if (c) await c.endAsync().catch(() => undefined);
  }
}
