// A running-van test with officers on the broker: a van built as `lfr run` builds it (tablet page
// and broker), a one-person bundle of demo photo 1 shown on one camera, the van's topics and CA,
// two officer accounts, and MQTT clients that are all closed when the test ends. Shared by the
// tests of who may decide (officers-van) and of where notes go (notes-van).
import { readFileSync } from 'node:fs';
import type { ExecutionContext } from 'ava';
import mqtt, { type MqttClient } from 'mqtt';
import { configSchema, type Config } from '../../src/config/schema.js';
import { topicsFor, type Topics } from '../../src/mqtt/topics.js';
import { demoVideo, referenceFace } from './faces.js';
import { Van } from './van.js';

export interface Account {
  user: string;
  password: string;
}

export interface OfficersVan {
  van: Van;
  bundle: string;
  cfg: Config;
  T: Topics;
  ca: Buffer;
  pc1: Account;
  pc2: Account;
  /** The van's own account on the broker (what the daemon signs in as). */
  daemon: Account;
  /** The broker's log so far. */
  brokerLog(): string;
  /**
   * An MQTT 5 client on the broker's WebSocket listener (a tablet) or its TLS listener (`tls`),
   * closed at the end; no client id: the library's random one.
   */
  connect(acc: Account, clientId: string | undefined, listener?: 'ws' | 'tls'): Promise<MqttClient>;
}

export async function officersVan(t: ExecutionContext, name: string, ref: string): Promise<OfficersVan> {
  const video = await demoVideo(name, [['black', 1], [1, 3]]);
  const van = await Van.create(t, { cameras: [{ name: 'north-1', video }], tablet: true });
  const bundle = await van.buildBundle([{ ref, images: [await referenceFace(1)] }]);
  const cfg = configSchema.parse(van.config);
  const broker = van.broker!;
  const ca = readFileSync(cfg.mqtt.caFile!);
  const [pc1, pc2] = broker.officers as [Account, Account];
  const clients: MqttClient[] = [];
  t.teardown(async () => {
    for (const c of clients) await c.endAsync(true).catch(() => undefined);
  });
  const connect = async (acc: Account, clientId: string | undefined, listener: 'ws' | 'tls' = 'ws'): Promise<MqttClient> => {
    const c = await mqtt.connectAsync(listener === 'ws' ? broker.wsUrl : broker.url, { ca, username: acc.user, password: acc.password, ...(clientId !== undefined ? { clientId } : {}), protocolVersion: 5, reconnectPeriod: 0 });
    clients.push(c);
    return c;
  };
  return { van, bundle, cfg, T: topicsFor(cfg.mqtt.topicPrefix, cfg.van.id), ca, pc1, pc2, daemon: broker.daemon, brokerLog: () => broker.stderr, connect };
}
