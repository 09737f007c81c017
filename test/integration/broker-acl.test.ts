// The van's broker exactly as `lfr broker setup` writes it (src/mqtt/broker-setup.ts, the file
// install.sh and the demo use), against a real mosquitto: authentication per listener, TLS only,
// the per-officer ACL, client ids bound to accounts, the size cap, nothing on disk, and no
// warning on start. The daemon-side refusals (a retained decision, a decision naming another
// officer) are proven through `lfr run` in officers-van.test.ts.
import { existsSync, readdirSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import mqtt, { type IClientOptions } from 'mqtt';
import { TestMosquitto } from '../helpers/mosquitto.js';
import { topicsFor } from '../../src/mqtt/topics.js';
import { needs } from '../helpers/prereq.js';
import test, { type ExecutionContext } from 'ava';

const { serial } = needs(['mosquitto']);
const T = topicsFor('lfr', 'van-7');
let broker: TestMosquitto;
test.after.always(async () => broker?.cleanup());

async function connect(url: string, o: IClientOptions): Promise<mqtt.MqttClient> {
  return mqtt.connectAsync(url, { ca: await readFile(broker.caFile), reconnectPeriod: 0, connectTimeout: 5000, protocolVersion: 5, ...o });
}
const officer = (i: number, o: IClientOptions = {}) => connect(broker.wsUrl, { username: broker.officers[i]!.user, password: broker.officers[i]!.password, ...o });
const daemon = (o: IClientOptions = {}) => connect(broker.url, { username: broker.daemon.user, password: broker.daemon.password, ...o });
const wait = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function withBroker(t: ExecutionContext, fn: () => Promise<void>): Promise<void> {
  broker ??= await new TestMosquitto().setup();
  t.timeout(30_000);
  await fn();
}

serial('mosquitto starts on the generated config without a single warning', async (t) => {
  await withBroker(t, async () => {
    await wait(300);
    t.regex(broker.stderr, /mosquitto version .* running/);
    t.notRegex(broker.stderr, /warning|error/i, broker.stderr);
  });
});

serial('each listener knows its own accounts only; no anonymous, no plaintext', async (t) => {
  await withBroker(t, async () => {
    await t.throwsAsync(connect(broker.url, {}), { message: /Not authorized|Bad User Name or Password/i });
    await t.throwsAsync(officer(0, { password: 'wrong' }), { message: /Bad User Name or Password|Not authorized/i });
    // An officer's account does not open the daemon's listener, nor the daemon's the officers'.
    await t.throwsAsync(connect(broker.url, { username: broker.officers[0]!.user, password: broker.officers[0]!.password }), { message: /Bad User Name or Password|Not authorized/i });
    await t.throwsAsync(connect(broker.wsUrl, { username: broker.daemon.user, password: broker.daemon.password }), { message: /Bad User Name or Password|Not authorized/i });
    await t.throwsAsync(mqtt.connectAsync(`mqtt://127.0.0.1:${broker.mqttPort}`, { username: broker.daemon.user, password: broker.daemon.password, reconnectPeriod: 0, connectTimeout: 3000 }));
    const d = await daemon();
    const o = await officer(0);
    t.true(d.connected && o.connected, 'positive control: the right accounts connect');
    await d.endAsync();
    await o.endAsync();
  });
});

serial('an officer reads alerts but cannot publish one, nor a status, nor a decision as a colleague', async (t) => {
  await withBroker(t, async () => {
    const d = await daemon();
    const pc1 = await officer(0);
    const seen: string[] = [];
    pc1.on('message', (topic, p) => seen.push(`${topic}=${p.toString()}`));
    d.on('message', (topic, p) => seen.push(`daemon:${topic}=${p.toString()}`));
    await pc1.subscribeAsync(T.alertsWildcard, { qos: 1 });
    await d.subscribeAsync('lfr/#', { qos: 1 });
    // MQTT 5: mosquitto answers an unauthorised QoS 1 publish with reason 0x87 (not authorised).
    await t.throwsAsync(pc1.publishAsync(T.alert('forged12345'), 'forged', { qos: 1 }), { message: /Not authorized|135/i });
    await t.throwsAsync(pc1.publishAsync(T.status, 'forged', { qos: 1 }), { message: /Not authorized|135/i });
    const pc2Name = broker.officers[1]!.user;
    await t.throwsAsync(pc1.publishAsync(T.adjudication(pc2Name, 'abcdef123456'), 'forged-as-colleague', { qos: 1 }), { message: /Not authorized|135/i });
    await t.notThrowsAsync(pc1.publishAsync(T.adjudication(broker.officers[0]!.user, 'abcdef123456'), 'genuine-own', { qos: 1 }));
    await d.publishAsync(T.alert('genuine1234'), 'genuine', { qos: 1 });
    await wait(500);
    t.true(seen.includes(`${T.alert('genuine1234')}=genuine`), 'the daemon may publish alerts and officers receive them');
    t.true(seen.includes(`daemon:${T.adjudication(broker.officers[0]!.user, 'abcdef123456')}=genuine-own`), 'an officer may decide under their own name');
    t.false(seen.some((s) => s.includes('forged')), `forged messages delivered: ${seen.join(', ')}`);
    await pc1.endAsync();
    await d.endAsync();
  });
});

serial("no client-id takeover: a colleague using an officer's client id gets their own session", async (t) => {
  await withBroker(t, async () => {
    const pc1 = await officer(0, { clientId: 'tablet-PC1001' });
    let kicked = false;
    pc1.on('close', () => (kicked = true));
    const got: string[] = [];
    pc1.on('message', (topic) => got.push(topic));
    await pc1.subscribeAsync(T.alertsWildcard, { qos: 1 });
    // PC1002 tries PC1001's client id, and the daemon's: the broker replaces it with PC1002.
    const pc2 = await officer(1, { clientId: 'tablet-PC1001' });
    const pc2b = await officer(1, { clientId: broker.officers[0]!.user });
    await wait(500);
    t.false(kicked, 'PC1001 keeps its connection');
    const d = await daemon();
    await d.publishAsync(T.alert('after12345'), 'x', { qos: 1 });
    await wait(300);
    t.true(got.includes(T.alert('after12345')), 'and still receives alerts');
    t.true(pc1.connected);
    await Promise.all([pc2.endAsync(true), pc2b.endAsync(true), pc1.endAsync(), d.endAsync()]);
  });
});

serial('oversized messages are refused: the MQTT sender is cut off; over WebSocket nothing is delivered', async (t) => {
  await withBroker(t, async () => {
    const d = await daemon();
    const seen: string[] = [];
    d.on('message', (topic) => seen.push(topic));
    await d.subscribeAsync('lfr/#', { qos: 1 });
    // MQTT 3.1.1 clients: an MQTT 5 client already refuses to send past the advertised maximum.
    const big = Buffer.alloc(40_000, 0x41);
    const mqttSender = await connect(broker.url, { username: broker.daemon.user, password: broker.daemon.password, protocolVersion: 4 });
    const closed = new Promise<boolean>((r) => {
      mqttSender.once('close', () => r(true));
      setTimeout(() => r(false), 3000);
    });
    mqttSender.publish('lfr/van-7/bigbig123456', big, { qos: 1 }, () => undefined);
    t.true(await closed, 'max_packet_size: the broker cut the MQTT sender off');
    // mosquitto 2.0.11 does not apply max_packet_size to WebSocket clients; message_size_limit
    // stops the message all the same (docs/mqtt.md).
    const pc1 = await officer(0, { protocolVersion: 4 });
    await pc1.publishAsync(T.adjudication(broker.officers[0]!.user, 'bigbig123456'), big, { qos: 1 }).catch(() => undefined);
    await pc1.publishAsync(T.adjudication(broker.officers[0]!.user, 'small1234567'), Buffer.alloc(15_000, 0x41), { qos: 1 });
    await wait(300);
    t.true(seen.some((s) => s.includes('small1234567')), 'positive control: 15 KB passes');
    t.false(seen.some((s) => s.includes('bigbig123456')), 'nothing over 16 KB is delivered');
    await pc1.endAsync(true);
    await d.endAsync();
  });
});

serial('an officer subscribing outside the ACL gets nothing from there (decisions, other topics, $SYS)', async (t) => {
  await withBroker(t, async () => {
    // mosquitto 2.0's acl_file grants every SUBSCRIBE and checks READ on each message it would
    // deliver (docs/mqtt.md): the refusal shows as nothing delivered, which is what matters.
    const pc1 = await officer(0);
    const seen: string[] = [];
    pc1.on('message', (topic) => seen.push(topic));
    for (const filter of ['#', '$SYS/#', 'lfr/+/adjudications/#']) await pc1.subscribeAsync(filter, { qos: 1 });
    const pc2 = await officer(1);
    const d = await daemon();
    await pc2.publishAsync(T.adjudication(broker.officers[1]!.user, 'abcdef123456'), '{}', { qos: 1 });
    await d.publishAsync('lfr/van-7/internal/x', 'daemon only', { qos: 1 });
    await d.publishAsync(T.alert('genuine1234'), 'genuine', { qos: 1 });
    await wait(1500);
    t.true(seen.includes(T.alert('genuine1234')), 'positive control: the alert is delivered');
    t.deepEqual(seen.filter((s) => s !== T.alert('genuine1234') && !/\/(availability|status)$/.test(s)), []);
    await Promise.all([pc2.endAsync(), d.endAsync(), pc1.endAsync()]);
  });
});

serial('retained availability reaches officers; the broker keeps nothing on disk', async (t) => {
  await withBroker(t, async () => {
    const d = await daemon();
    await d.publishAsync(T.availability, 'online', { qos: 1, retain: true });
    const pc1 = await officer(0);
    const got = new Promise<string>((r) => pc1.on('message', (_t, p) => r(p.toString())));
    await pc1.subscribeAsync(T.availability, { qos: 1 });
    t.is(await got, 'online');
    await Promise.all([pc1.endAsync(), d.endAsync()]);
    await broker.stop();
    const files: string[] = [];
    const walk = (dir: string) => {
      for (const n of readdirSync(dir, { withFileTypes: true })) (n.isDirectory() ? walk(path.join(dir, n.name)) : files.push(n.name));
    };
    walk(broker.dir);
    t.false(files.some((f) => f.endsWith('.db')), `no persistence file: ${files.join(', ')}`);
    t.false(existsSync('/var/lib/mosquitto/mosquitto.db') && files.length === 0);
    await broker.cleanup();
  });
});
