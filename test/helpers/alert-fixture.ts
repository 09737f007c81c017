// Shared pieces of the alert tests: a config in a temp dir pointing at a TestMosquitto, a
// candidate with real JPEGs and a known marker, a tablet client on the WebSocket-over-TLS
// listener, and a capturing log destination.
import { randomBytes } from 'node:crypto';
import { mkdtemp } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import mqtt, { type MqttClient } from 'mqtt';
import sharp from 'sharp';
import { configSchema, type Config } from '../../src/config/schema.js';
import type { AlertCandidate } from '../../src/alerts/types.js';
import type { AlertMessage, Topics } from '../../src/mqtt/topics.js';
import { createLogger, type Logger } from '../../src/log.js';
import type { TestMosquitto } from './mosquitto.js';

export async function tempConfig(broker: TestMosquitto | null, extra: Record<string, unknown> = {}): Promise<{ cfg: Config; dir: string }> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'lfr-alerts-'));
  const cfg = configSchema.parse({
    van: { id: 'van-7' },
    paths: { stateDir: path.join(dir, 'state'), runtimeDir: path.join(dir, 'run') },
    ...(broker ? { mqtt: broker.fragment().mqtt, broker: broker.fragment().broker } : {}),
    ...extra,
  });
  return { cfg, dir };
}

/** A JPEG shaped like a real photo (smooth gradient, mild noise) plus a trailing marker. */
export async function jpeg(width: number, height: number, marker = ''): Promise<Buffer> {
  const raw = Buffer.alloc(width * height * 3);
  const noise = randomBytes(raw.length);
  for (let y = 0; y < height; y++)
    for (let x = 0; x < width; x++)
      for (let ch = 0; ch < 3; ch++) {
        const i = (y * width + x) * 3 + ch;
        raw[i] = ((x * 255) / width + y * (ch + 1) + (noise[i]! & 15)) & 0xff;
      }
  const j = await sharp(raw, { raw: { width, height, channels: 3 } }).jpeg({ quality: 85 }).toBuffer();
  return Buffer.concat([j, Buffer.from(marker)]); // decoders ignore bytes after EOI
}

export async function candidate(now: number, subjectRef = `SUBJ-${randomBytes(6).toString('hex')}`, sizes = { face: 112, context: 1280 }): Promise<AlertCandidate> {
  return {
    camera: 'north-1',
    trackId: 1,
    subjectId: 's1',
    subjectRef,
    category: 'wanted',
    score: 0.7123,
    threshold: 0.6,
    capturedAt: now,
    faceBox: { x: 100, y: 80, width: 120, height: 150 },
    frameWidth: 1280,
    frameHeight: 720,
    faceJpeg: await jpeg(sizes.face, sizes.face, `FACEMARK-${subjectRef}`),
    contextJpeg: await jpeg(sizes.context, Math.round((sizes.context * 9) / 16)),
    referenceJpeg: await jpeg(sizes.face, sizes.face),
  };
}

export interface Tablet {
  client: MqttClient;
  received: AlertMessage[];
  /** The officer account it signed in with. */
  officer: string;
  receivedAt: Map<string, number>;
  close(): Promise<void>;
}

/** A browser-like tablet: MQTT 5 over WebSocket over TLS as an officer, session kept, QoS 1. */
export async function tablet(broker: TestMosquitto, topics: Topics, clientId = 'tablet-test', account = broker.tablet): Promise<Tablet> {
  const client = mqtt.connect(broker.wsUrl, {
    username: account.user,
    password: account.password,
    protocolVersion: 5,
    properties: { sessionExpiryInterval: 300 },
    ca: await import('node:fs/promises').then((f) => f.readFile(broker.caFile)),
    clientId,
    clean: false,
    reconnectPeriod: 500,
  });
  const received: AlertMessage[] = [];
  const receivedAt = new Map<string, number>();
  client.on('message', (topic, payload) => {
    if (!topic.includes('/alerts/')) return;
    const p = JSON.parse(payload.toString()) as AlertMessage;
    received.push(p);
    if (!receivedAt.has(p.alertId)) receivedAt.set(p.alertId, performance.now());
  });
  await new Promise<void>((resolve, reject) => {
    client.once('connect', () => resolve());
    client.once('error', reject);
  });
  await client.subscribeAsync(topics.alertsWildcard, { qos: 1 });
  return { client, received, receivedAt, officer: account.user, close: () => client.endAsync() };
}

export function capturingLogger(): { log: Logger; lines: string[] } {
  const lines: string[] = [];
  const dest = new Writable({
    write(chunk: Buffer, _enc, cb) {
      lines.push(chunk.toString());
      cb();
    },
  });
  return { log: createLogger({ level: 'debug', destination: dest }), lines };
}

export async function until(cond: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
