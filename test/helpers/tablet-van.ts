// The van side of a tablet test, built from the daemon's own parts: the real LfrMqttClient (TLS,
// availability with a last will), the real AlertService (encrypted store, outbox, strict
// adjudication intake, retained acks) and the real hash-chained AuditLog, wired the way the
// daemon wires them. The test raises alerts through AlertSink.raise() exactly as the matcher does.
import path from 'node:path';
import type { MqttClient } from 'mqtt';
import { AlertService } from '../../src/alerts/service.js';
import type { AlertCandidate } from '../../src/alerts/types.js';
import { AuditLog, type AuditEntry } from '../../src/audit/log.js';
import { configSchema, type Config } from '../../src/config/schema.js';
import { createLogger } from '../../src/log.js';
import { LfrMqttClient } from '../../src/mqtt/client.js';
import { topicsFor } from '../../src/mqtt/topics.js';

export interface VanOptions {
  dir: string;
  url: string;
  caFile: string;
  username: string;
  passwordFile: string;
  vanId: string;
  /** Alert retention for the test (hours, <= 24). */
  retentionHours: number;
}

export interface AlertSpec {
  camera: string;
  category: string;
  score: number;
  threshold: number;
  faceJpeg: Buffer;
  referenceJpeg: Buffer;
  capturedAt: number;
}

export class TestVan {
  readonly config: Config;
  readonly audit: AuditLog;
  private mqtt: LfrMqttClient | null = null;
  private alerts: AlertService | null = null;
  private readonly log = createLogger({ level: 'silent' });
  private trackId = 0;

  constructor(private readonly opts: VanOptions) {
    this.config = configSchema.parse({
      van: { id: opts.vanId },
      paths: { stateDir: path.join(opts.dir, 'state'), runtimeDir: path.join(opts.dir, 'run') },
      alerts: { retentionHours: opts.retentionHours },
      mqtt: { url: opts.url, username: opts.username, passwordFile: opts.passwordFile, caFile: opts.caFile },
    });
    this.audit = new AuditLog(path.join(opts.dir, 'state', 'audit.db'), Date.now);
  }

  async start(): Promise<void> {
    const cfg = this.config;
    this.audit.open();
    const mqtt = new LfrMqttClient(
      { url: cfg.mqtt.url, username: cfg.mqtt.username, passwordFile: cfg.mqtt.passwordFile, caFile: cfg.mqtt.caFile, clientId: `lfr-daemon-${cfg.van.id}`, topics: topicsFor(cfg.mqtt.topicPrefix, cfg.van.id), reconnectPeriodMs: 500 },
      this.log,
    );
    const alerts = new AlertService({ config: cfg, log: this.log, clock: Date.now, audit: this.audit, mqtt });
    const signal = new AbortController().signal;
    await mqtt.start(signal);
    await alerts.start(signal);
    this.mqtt = mqtt;
    this.alerts = alerts;
    await this.waitConnected(10_000);
  }

  async waitConnected(ms: number): Promise<void> {
    const deadline = Date.now() + ms;
    while (!this.mqtt?.connected) {
      if (Date.now() > deadline) throw new Error('the van did not connect to the broker');
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /** Clean stop, in the daemon's reverse order: the broker shows `stopped`. */
  async stop(): Promise<void> {
    await this.alerts?.stop();
    await this.mqtt?.stop();
    this.alerts = null;
    this.mqtt = null;
    this.audit.close();
  }

  /** The TCP link dies without a DISCONNECT (power or Wi-Fi lost): the broker sends the will.
   * mqtt.js reconnects by itself half a second later. */
  dropLink(): void {
    // The socket is private to LfrMqttClient; reaching in is the only way to fake a lost link
    // without also stopping the broker.
    const client = (this.mqtt as unknown as { client: MqttClient | null }).client;
    client?.stream.destroy();
  }

  /** AlertSink.raise(), as the matcher calls it; resolves once published to the broker. */
  async raise(spec: AlertSpec): Promise<string> {
    const c: AlertCandidate = {
      camera: spec.camera,
      trackId: ++this.trackId,
      subjectId: '1',
      subjectRef: 'S-0001',
      category: spec.category,
      score: spec.score,
      threshold: spec.threshold,
      capturedAt: spec.capturedAt,
      faceBox: { x: 400, y: 200, width: 120, height: 150 },
      frameWidth: 1280,
      frameHeight: 720,
      // raise() wipes the buffers it is given: hand it copies.
      faceJpeg: Buffer.from(spec.faceJpeg),
      contextJpeg: Buffer.from(spec.faceJpeg),
      referenceJpeg: Buffer.from(spec.referenceJpeg),
    };
    const id = await this.alerts!.raise(c);
    await this.alerts!.idle();
    return id;
  }

  /** Audit entries of one type, oldest first. */
  entries(type: string): AuditEntry[] {
    return this.audit.list(1000, type).reverse();
  }
}
