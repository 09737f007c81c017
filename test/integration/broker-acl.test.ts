// The van's broker with THE project's config: authentication, TLS, and the ACL.
import test from 'ava';
import { readFile } from 'node:fs/promises';
import mqtt, { type IClientOptions } from 'mqtt';
import { MOSQUITTO, TestMosquitto } from '../helpers/mosquitto.js';
import { topicsFor } from '../../src/mqtt/topics.js';
import { requirePrereqs } from '../helpers/prereq.js';

const T = topicsFor('lfr', 'van-7');
let broker: TestMosquitto;

test.before(async () => {
  if (MOSQUITTO) broker = await new TestMosquitto().setup();
});
test.after.always(async () => {
  await broker?.cleanup();
});

async function connect(url: string, o: IClientOptions): Promise<mqtt.MqttClient> {
  return mqtt.connectAsync(url, { ca: await readFile(broker.caFile), reconnectPeriod: 0, connectTimeout: 5000, protocolVersion: 5, ...o });
}

test.serial('a client without credentials or with a wrong password is refused', async (t) => {
  requirePrereqs(['mosquitto']);
  await t.throwsAsync(connect(broker.url, {}), { message: /Not authorized|Bad User Name or Password|not authori[sz]ed/i });
  await t.throwsAsync(connect(broker.wsUrl, { username: broker.tablet.user, password: 'wrong' }), { message: /Bad User Name or Password|Not authorized/i });
});

test.serial('there is no plaintext access: MQTT without TLS on the TLS port fails', async (t) => {
  requirePrereqs(['mosquitto']);
  await t.throwsAsync(mqtt.connectAsync(`mqtt://127.0.0.1:${broker.mqttPort}`, { username: broker.daemon.user, password: broker.daemon.password, reconnectPeriod: 0, connectTimeout: 3000 }));
});

test.serial('a tablet may read alerts but not publish one; its publish never reaches anyone', async (t) => {
  requirePrereqs(['mosquitto']);
  const daemon = await connect(broker.url, { username: broker.daemon.user, password: broker.daemon.password });
  const tab = await connect(broker.wsUrl, { username: broker.tablet.user, password: broker.tablet.password });
  const seen: string[] = [];
  tab.on('message', (topic, p) => seen.push(`${topic}=${p.toString()}`));
  daemon.on('message', (topic, p) => seen.push(`daemon:${topic}=${p.toString()}`));
  const granted = await tab.subscribeAsync(T.alertsWildcard, { qos: 1 });
  t.true(granted[0]!.qos < 128, 'tablet may subscribe to alerts');
  await daemon.subscribeAsync(T.alertsWildcard, { qos: 1 });
  // MQTT 5: mosquitto answers an unauthorised QoS 1 publish with reason 0x87 (not authorised).
  await t.throwsAsync(tab.publishAsync(T.alert('forged12345'), 'forged', { qos: 1 }), { message: /Not authorized|135/i });
  await tab.publishAsync(T.status, 'forged', { qos: 1, retain: true }).catch(() => undefined);
  await daemon.publishAsync(T.alert('genuine1234'), 'genuine', { qos: 1 });
  await new Promise((r) => setTimeout(r, 500));
  t.true(seen.includes(`${T.alert('genuine1234')}=genuine`), 'the daemon may publish alerts and the tablet receives them');
  t.false(seen.some((s) => s.includes('forged')), `forged messages delivered: ${seen.join(', ')}`);
  await tab.endAsync();
  await daemon.endAsync();
});

test.serial('a tablet subscribing outside its ACL gets nothing from there (adjudications, other topics, $SYS)', async (t) => {
  requirePrereqs(['mosquitto']);
  // mosquitto 2.0's acl_file grants every SUBSCRIBE and checks READ on each message it would
  // deliver (docs/mqtt.md): the refusal shows as nothing delivered, which is what matters.
  const tab = await connect(broker.wsUrl, { username: broker.tablet.user, password: broker.tablet.password, clientId: 'tab-a' });
  const seen: string[] = [];
  tab.on('message', (topic) => seen.push(topic));
  for (const filter of ['#', '$SYS/#', T.adjudicationsWildcard]) await tab.subscribeAsync(filter, { qos: 1 });
  const other = await connect(broker.wsUrl, { username: broker.tablet.user, password: broker.tablet.password, clientId: 'tab-b' });
  const daemon = await connect(broker.url, { username: broker.daemon.user, password: broker.daemon.password });
  await t.notThrowsAsync(other.publishAsync(T.adjudication('abcdef123456'), '{}', { qos: 1 }), 'a tablet may write an adjudication');
  await daemon.publishAsync('lfr/van-7/internal/x', 'daemon only', { qos: 1 });
  await daemon.publishAsync(T.alert('genuine1234'), 'genuine', { qos: 1 });
  await new Promise((r) => setTimeout(r, 1500)); // $SYS publishes every 10 s by default; any earlier retained $SYS would show at once
  t.true(seen.includes(T.alert('genuine1234')), 'positive control: the alert is delivered');
  t.deepEqual(seen.filter((s) => s !== T.alert('genuine1234') && !/\/(availability|status)$/.test(s)), []);
  await other.endAsync();
  await daemon.endAsync();
  await tab.endAsync();
});

test.serial('the tablet reads retained availability and status over WebSocket/TLS', async (t) => {
  requirePrereqs(['mosquitto']);
  const daemon = await connect(broker.url, { username: broker.daemon.user, password: broker.daemon.password });
  await daemon.publishAsync(T.availability, 'online', { qos: 1, retain: true });
  const tab = await connect(broker.wsUrl, { username: broker.tablet.user, password: broker.tablet.password });
  const got = new Promise<string>((r) => tab.on('message', (_t, p) => r(p.toString())));
  await tab.subscribeAsync(T.availability, { qos: 1 });
  t.is(await got, 'online');
  await tab.endAsync();
  await daemon.endAsync();
});
