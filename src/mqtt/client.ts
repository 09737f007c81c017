// The daemon's MQTT connection (mqtt.js over TLS). Availability is three-state and retained
// (GUIDE practice 4): the broker publishes `offline` as our last will when the link dies,
// we publish `online` on every (re)connect and `stopped` on a clean stop. mqtt.js reconnects on
// its own and re-sends an unacknowledged QoS 1 publish after a reconnect, so a caller awaiting
// publish() simply waits through an outage. Password and CA are read in start() (no I/O in the
// constructor) from files named by the config: secrets by reference.
//
// MQTT 5: alert messages carry a message expiry (the alert's remaining life), and the daemon
// subscribes to decisions with "retain as published" so it sees, and refuses, a retained one.
import { readSmallFileSync } from '../util/files.js';
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import type { Component } from '../lifecycle.js';
import type { Logger } from '../log.js';
import type { Availability, Topics } from './topics.js';

export interface MqttOptions {
  url: string;
  username: string;
  passwordFile?: string | undefined;
  caFile?: string | undefined;
  clientId: string;
  topics: Topics;
  /** ms between reconnect attempts: 1 s finds a restarted broker quickly on loopback. */
  reconnectPeriodMs?: number;
}

export type MessageHandler = (topic: string, payload: Buffer, meta: { retain: boolean }) => void;

export interface PublishOptions {
  qos: 0 | 1;
  retain?: boolean;
  /** MQTT 5 message expiry: the broker drops the message (queued or retained) after this. */
  expirySeconds?: number;
}

/** What the alert service needs from a connection (a test can hand it a real client too). */
export interface MqttLink {
  readonly connected: boolean;
  publish(topic: string, payload: string | Buffer, opts: PublishOptions): Promise<void>;
  subscribe(filter: string, handler: MessageHandler): Promise<void>;
  onConnect(fn: () => void): () => void;
}

export class LfrMqttClient implements Component, MqttLink {
  readonly name = 'mqtt';
  private client: MqttClient | null = null;
  private readonly handlers = new Map<string, MessageHandler>();
  private readonly connectListeners = new Set<() => void>();

  constructor(
    private readonly opts: MqttOptions,
    private readonly log: Logger,
  ) {}

  get connected(): boolean {
    return this.client?.connected ?? false;
  }

  async start(signal: AbortSignal): Promise<void> {
    const o = this.opts;
    const options: IClientOptions = {
      clientId: o.clientId,
      username: o.username,
      protocolVersion: 5,
      // The daemon re-publishes from its own outbox, so it needs no broker-side session.
      clean: true,
      keepalive: 10, // a dead link is noticed within ~15 s, and `offline` goes out as the will
      reconnectPeriod: o.reconnectPeriodMs ?? 1000,
      connectTimeout: 10_000,
      will: { topic: o.topics.availability, payload: Buffer.from('offline'), qos: 1, retain: true },
      // Never queue QoS 0 while offline; alerts are QoS 1 and the outbox owns their queue.
      queueQoSZero: false,
    };
    if (o.passwordFile) options.password = readSmallFileSync(o.passwordFile, 64 * 1024).toString('utf8').trim();
    if (o.caFile) options.ca = readSmallFileSync(o.caFile);
    if (signal.aborted) return;
    const client = mqtt.connect(o.url, options);
    this.client = client;
    client.on('connect', () => {
      this.log.info({ broker: safeBroker(o.url) }, 'connected to the broker');
      void this.publish(o.topics.availability, 'online' satisfies Availability, { qos: 1, retain: true }).catch(() => undefined);
      for (const fn of this.connectListeners) {
        try {
          fn();
        } catch (err) {
          this.log.error({ err }, 'connect listener failed');
        }
      }
    });
    client.on('close', () => this.log.debug('broker connection closed'));
    client.on('offline', () => this.log.warn({ broker: safeBroker(o.url) }, 'broker unreachable; retrying'));
    client.on('error', (err) => this.log.warn({ err }, 'broker error'));
    client.on('message', (topic, payload, packet) => {
      for (const [filter, h] of this.handlers) {
        if (!matches(filter, topic)) continue;
        try {
          h(topic, payload, { retain: packet.retain === true });
        } catch (err) {
          this.log.error({ err }, 'message handler failed');
        }
      }
    });
  }

  onConnect(fn: () => void): () => void {
    this.connectListeners.add(fn);
    return () => this.connectListeners.delete(fn);
  }

  publish(topic: string, payload: string | Buffer, opts: PublishOptions): Promise<void> {
    const c = this.client;
    if (!c) return Promise.reject(new Error('mqtt client not started'));
    const expiry = opts.expirySeconds === undefined ? undefined : Math.max(1, Math.ceil(opts.expirySeconds));
    return new Promise((resolve, reject) => {
      c.publish(topic, payload, { qos: opts.qos, retain: opts.retain ?? false, ...(expiry ? { properties: { messageExpiryInterval: expiry } } : {}) }, (err) => (err ? reject(err) : resolve()));
    });
  }

  async subscribe(filter: string, handler: MessageHandler): Promise<void> {
    const c = this.client;
    if (!c) throw new Error('mqtt client not started');
    this.handlers.set(filter, handler);
    // mqtt.js re-subscribes after every reconnect (resubscribe: true by default).
    await new Promise<void>((resolve) => {
      // rap (retain as published): a retained message keeps its flag, so handlers can refuse it.
      c.subscribe(filter, { qos: 1, rap: true }, (err) => {
        if (err) this.log.warn({ err }, 'subscribe failed (will retry on reconnect)');
        resolve();
      });
    });
  }

  /** Publish `stopped` (retained) and close cleanly, so no last will follows. */
  async stop(): Promise<void> {
    const c = this.client;
    this.client = null;
    if (!c) return;
    if (c.connected) {
      await Promise.race([
        new Promise<void>((r) => c.publish(this.opts.topics.availability, 'stopped' satisfies Availability, { qos: 1, retain: true }, () => r())),
        new Promise((r) => setTimeout(r, 2000)),
      ]);
    }
    await new Promise<void>((r) => c.end(false, {}, () => r()));
  }
}

/** host:port only: never log a URL that might carry credentials. */
function safeBroker(url: string): string {
  try {
    const u = new URL(url);
    return `${u.hostname}:${u.port}`;
  } catch {
    return 'broker';
  }
}

/** MQTT topic filter matching (+ one level, # the rest). */
export function matches(filter: string, topic: string): boolean {
  const f = filter.split('/');
  const t = topic.split('/');
  for (let i = 0; i < f.length; i++) {
    if (f[i] === '#') return true;
    if (i >= t.length) return false;
    if (f[i] !== '+' && f[i] !== t[i]) return false;
  }
  return f.length === t.length;
}
