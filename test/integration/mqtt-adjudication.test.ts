// Adjudications from a tablet through the real broker: a valid one is recorded, audited,
// acknowledged (retained) and raised as an event; malformed, oversized, unknown and repeated
// ones are refused, audited and answered, and the daemon carries on publishing alerts.
import test from 'ava';
import path from 'node:path';
import { readFile } from 'node:fs/promises';
import mqtt from 'mqtt';
import { AuditLog } from '../../src/audit/log.js';
import { AlertService, type AdjudicationRecord } from '../../src/alerts/service.js';
import { LfrMqttClient } from '../../src/mqtt/client.js';
import { MAX_ADJUDICATION_BYTES, SCHEMA, topicsFor, type AckPayload } from '../../src/mqtt/topics.js';
import { silentLogger } from '../../src/log.js';
import { MOSQUITTO, TestMosquitto } from '../helpers/mosquitto.js';
import { candidate, tablet, tempConfig, until } from '../helpers/alert-fixture.js';
import { requirePrereqs } from '../helpers/prereq.js';

test('adjudication intake: strict, audited, acknowledged, and the daemon unaffected by junk', async (t) => {
  requirePrereqs(['mosquitto']);
  const broker = await new TestMosquitto().setup();
  const { cfg } = await tempConfig(broker);
  const audit = new AuditLog(path.join(cfg.paths.stateDir, 'audit.db'), Date.now).open();
  const topics = topicsFor('lfr', cfg.van.id);
  const link = new LfrMqttClient({ url: cfg.mqtt.url, username: cfg.mqtt.username, passwordFile: cfg.mqtt.passwordFile, caFile: cfg.mqtt.caFile, clientId: 'lfr-van-7', topics }, silentLogger());
  const svc = new AlertService({ config: cfg, log: silentLogger(), clock: Date.now, audit, mqtt: link });
  const ac = new AbortController();
  await link.start(ac.signal);
  await svc.start(ac.signal);
  const tab = await tablet(broker, topics);
  const acks: AckPayload[] = [];
  tab.client.on('message', (topic, p) => {
    if (topic.includes('/acks/') && p.length) acks.push(JSON.parse(p.toString()) as AckPayload);
  });
  await tab.client.subscribeAsync(topics.acksWildcard, { qos: 1 });
  const events: AdjudicationRecord[] = [];
  svc.onAdjudication((r) => events.push(r));
  try {
    await until(() => link.connected, 5000, 'daemon connect');
    const id = await svc.raise(await candidate(Date.now()));
    await until(() => tab.received.length === 1, 10_000, 'the alert');
    const good = { schema: SCHEMA, alertId: id, outcome: 'confirmed_match', officerId: 'PC1234', decidedAt: new Date().toISOString() };
    const send = (alertId: string, body: string | Buffer) => tab.client.publishAsync(topics.adjudication(alertId), body, { qos: 1 });

    await send(id, '{not json');
    await send(id, Buffer.alloc(MAX_ADJUDICATION_BYTES + 1000, 0x41));
    await send(id, JSON.stringify({ ...good, outcome: 'arrested' }));
    await send(id, JSON.stringify({ ...good, faceJpeg: 'AAAA' }));
    await send('zzzzzzzzzzzz', JSON.stringify({ ...good, alertId: 'zzzzzzzzzzzz' }));
    await send(id, JSON.stringify(good));
    await send(id, JSON.stringify({ ...good, outcome: 'false_alert', officerId: 'PC9' }));
    await until(() => acks.length >= 7, 10_000, 'seven answers');

    const accepted = acks.filter((a) => a.accepted);
    t.is(accepted.length, 1);
    t.like(accepted[0], { alertId: id, outcome: 'confirmed_match', officerId: 'PC1234' });
    const reasons = acks.filter((a) => !a.accepted).map((a) => a.reason ?? '');
    t.true(reasons.some((r) => /JSON/.test(r)));
    t.true(reasons.some((r) => /too large/.test(r)));
    t.true(reasons.some((r) => /outcome/.test(r)));
    t.true(reasons.some((r) => /unknown field/.test(r)));
    t.true(reasons.some((r) => /unknown alert/.test(r)));
    t.true(reasons.some((r) => /already decided/.test(r)));

    t.is(events.length, 1);
    t.like(events[0], { alertId: id, outcome: 'confirmed_match', officerId: 'PC1234' });
    t.like(svc.store.get(id), { outcome: 'confirmed_match', officerId: 'PC1234' });
    const rec = audit.list(10, 'adjudication.recorded');
    t.is(rec.length, 1);
    t.is(rec[0]!.actor, 'PC1234');
    t.is(audit.list(20, 'adjudication.rejected').length, 6);

    // The retained decision is what a tablet that connects later sees.
    const late = await mqtt.connectAsync(broker.wsUrl, { ca: await readFile(broker.caFile), username: broker.tablet.user, password: broker.tablet.password, reconnectPeriod: 0 });
    const retained = new Promise<AckPayload>((r) => late.on('message', (_t, p) => r(JSON.parse(p.toString()) as AckPayload)));
    await late.subscribeAsync(topics.ack(id), { qos: 1 });
    t.like(await retained, { accepted: true, outcome: 'confirmed_match' });
    await late.endAsync();

    // A flood of junk is counted, but only 60 refusals a minute are itemised in the audit trail.
    for (let i = 0; i < 70; i++) await send(id, 'junk');
    await until(() => svc.counts.rejectedAdjudications === 76, 10_000, 'flood counted');
    t.is(audit.list(200, 'adjudication.rejected').length, 60);

    // The daemon is unaffected: the next alert goes out as usual.
    const id2 = await svc.raise(await candidate(Date.now()));
    await until(() => tab.received.some((p) => p.alertId === id2), 10_000, 'the next alert');
    t.true(audit.verify().ok);
  } finally {
    await tab.close();
    await svc.stop();
    await link.stop();
    audit.close();
    await broker.cleanup();
  }
});

test('availability is retained and three-state: online, stopped on a clean stop, offline as the will', async (t) => {
  requirePrereqs(['mosquitto']);
  const broker = await new TestMosquitto().setup();
  const { cfg } = await tempConfig(broker);
  const topics = topicsFor('lfr', cfg.van.id);
  const opts = { url: cfg.mqtt.url, username: cfg.mqtt.username, passwordFile: cfg.mqtt.passwordFile, caFile: cfg.mqtt.caFile, clientId: 'lfr-van-7', topics };
  const watcher = await mqtt.connectAsync(broker.wsUrl, { ca: await readFile(broker.caFile), username: broker.tablet.user, password: broker.tablet.password });
  const seen: string[] = [];
  watcher.on('message', (_t, p) => seen.push(p.toString()));
  await watcher.subscribeAsync(topics.availability, { qos: 1 });
  try {
    const a = new LfrMqttClient(opts, silentLogger());
    await a.start(new AbortController().signal);
    await until(() => seen.at(-1) === 'online', 5000, 'online');
    await a.stop();
    await until(() => seen.at(-1) === 'stopped', 5000, 'stopped');
    const b = new LfrMqttClient(opts, silentLogger());
    await b.start(new AbortController().signal);
    await until(() => seen.at(-1) === 'online', 5000, 'online again');
    // Kill the link without a DISCONNECT (as a crash or a cable pull): the broker sends the will.
    (b as unknown as { client: { stream: { destroy(): void }; options: { reconnectPeriod: number } } }).client.options.reconnectPeriod = 0;
    (b as unknown as { client: { stream: { destroy(): void } } }).client.stream.destroy();
    await until(() => seen.at(-1) === 'offline', 5000, 'offline (last will)');
    await b.stop();
    t.deepEqual(seen.filter((s, i) => s !== seen[i - 1]), ['online', 'stopped', 'online', 'offline']);
  } finally {
    await watcher.endAsync();
    await broker.cleanup();
  }
});
