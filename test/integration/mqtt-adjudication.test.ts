// Decisions from tablets through the real broker (the alert service and MQTT link wired by hand,
// as the daemon wires them: a test of the PARTS; the officer-binding proof through `lfr run` is
// test/integration/officers-van.test.ts). A valid decision is recorded, audited, acknowledged
// (not retained) and raised as an event; the engagement step follows a confirmed match; a decision
// carrying a note (notes go over HTTPS now, issue 21), malformed, oversized, unknown, repeated,
// retained and impersonating ones are refused, audited and answered, and the daemon carries on.
import path from 'node:path';
import { readFile } from 'node:fs/promises';
import mqtt from 'mqtt';
import { AuditLog } from '../../src/audit/log.js';
import { AlertService, type AdjudicationRecord } from '../../src/alerts/service.js';
import { LfrMqttClient } from '../../src/mqtt/client.js';
import { MAX_ADJUDICATION_BYTES, SCHEMA, topicsFor, type AckPayload } from '../../src/mqtt/topics.js';
import { silentLogger } from '../../src/log.js';
import { TestMosquitto } from '../helpers/mosquitto.js';
import { candidate, tablet, tempConfig, until } from '../helpers/alert-fixture.js';
import { needs } from '../helpers/prereq.js';

const { test } = needs(['mosquitto']);

test('decision intake: strict, audited, acknowledged, notes refused, and the daemon unaffected by junk', async (t) => {
  t.timeout(60_000);
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
  const me = tab.officer;
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
    const good = { schema: SCHEMA, alertId: id, outcome: 'confirmed_match', decidedAt: new Date().toISOString() };
    const send = (alertId: string, body: string | Buffer, retain = false) => tab.client.publishAsync(topics.adjudication(me, alertId), body, { qos: 1, retain });

    await send(id, '{not json');
    await send(id, Buffer.alloc(MAX_ADJUDICATION_BYTES + 1000, 0x41));
    await send(id, JSON.stringify({ ...good, outcome: 'arrested' }));
    await send(id, JSON.stringify({ ...good, faceJpeg: 'AAAA' }));
    await send(id, JSON.stringify({ ...good, officerId: 'PC1002' }));
    await send(id, JSON.stringify(good), true);
    await send(id, JSON.stringify({ ...good, note: 'NOTE-MARKER by the bus stop' }));
    await send('zzzzzzzzzzzz', JSON.stringify({ ...good, alertId: 'zzzzzzzzzzzz' }));
    await send(id, JSON.stringify(good));
    await send(id, JSON.stringify({ ...good, outcome: 'false_alert' }));
    await send(id, JSON.stringify({ ...good, engagement: 'arrested' }));
    await send(id, JSON.stringify({ ...good, engagement: 'spoken_to' }));
    // Answers go to alerts the van holds; "zzzz..." (unknown) gets none, by design.
    await until(() => acks.length >= 11, 10_000, 'eleven answers');

    const accepted = acks.filter((a) => a.accepted);
    t.is(accepted.length, 2);
    t.like(accepted[0], { alertId: id, outcome: 'confirmed_match', officerId: me });
    t.like(accepted[1], { alertId: id, outcome: 'confirmed_match', engagement: 'arrested', officerId: me });
    const reasons = acks.filter((a) => !a.accepted).map((a) => a.reason ?? '');
    for (const re of [/JSON/, /too large/, /outcome/, /unknown field/, /not the signed-in officer/, /retained/, /notes are not taken over MQTT/, /already decided/, /engagement already recorded|already decided/]) {
      t.true(reasons.some((r) => re.test(r)), `a refusal matching ${re}: ${reasons.join(' | ')}`);
    }
    t.deepEqual(events.map((e) => [e.step, e.outcome, e.engagement, e.officerId]), [['decision', 'confirmed_match', null, me], ['engagement', 'confirmed_match', 'arrested', me]]);
    t.like(svc.store.get(id), { outcome: 'confirmed_match', officerId: me, engagement: 'arrested', engagementOfficer: me });
    // The decision that carried a note was refused whole: no note stored, none in the audit trail.
    t.deepEqual(svc.store.notes(id), []);
    const rec = audit.list(10, 'adjudication.recorded');
    t.is(rec.length, 1);
    t.is(rec[0]!.actor, me);
    t.false('hasNote' in rec[0]!.fields);
    t.false(JSON.stringify(audit.list(500)).includes('NOTE-MARKER'), 'no note text in the audit trail');
    t.is(audit.list(20, 'adjudication.engagement').length, 1);
    const rejected = audit.list(50, 'adjudication.rejected');
    t.is(rejected.length, 10);
    t.true(rejected.some((e) => e.actor === me && /notes are not taken over MQTT/.test(String(e.fields.reason))), 'the note refusal is audited');

    // The retained decision was cleared from the broker at once: nobody can find it there.
    const daemonEye = await mqtt.connectAsync(broker.url, { ca: await readFile(broker.caFile), username: broker.daemon.user, password: broker.daemon.password, protocolVersion: 5, reconnectPeriod: 0 });
    const retained: string[] = [];
    daemonEye.on('message', (topic, p, packet) => packet.retain && p.length && retained.push(topic));
    await daemonEye.subscribeAsync(`${topics.adjudicationsWildcard.replace('/+/+', '/#')}`, { qos: 1 });
    await daemonEye.subscribeAsync(`lfr/#`, { qos: 1 });
    await new Promise((r) => setTimeout(r, 500));
    t.deepEqual(retained.filter((x) => !/\/(availability|status)$/.test(x)), [], 'no retained decision or ack left on the broker');
    await daemonEye.endAsync();

    // A flood of junk is counted, but only 60 refusals a minute are itemised in the audit trail;
    // past the officer's budget (60 at once, 2/s) messages are dropped unread (counted too).
    for (let i = 0; i < 70; i++) await send(id, 'junk');
    await until(() => svc.counts.rejectedAdjudications === 80, 10_000, 'flood counted');
    t.true(audit.list(200, 'adjudication.rejected').length <= 60);

    // The daemon is unaffected: the next alert goes out as usual.
    const id2 = await svc.raise(await candidate(Date.now()));
    await until(() => tab.received.some((p) => p.alertId === id2), 10_000, 'the next alert');
    // One officer flooding (2,000 messages, not awaited one by one) does not cost another
    // officer's decision: PC1002's on a third alert is recorded while PC1001's flood is dropped.
    const id3 = await svc.raise(await candidate(Date.now()));
    const other = await tablet(broker, topics, 'tablet-other', broker.officers[1]!);
    try {
      await until(() => other.client.connected, 5000, 'second officer');
      const flood = Array.from({ length: 2000 }, () => send(id2, JSON.stringify({ ...good, alertId: id2, outcome: 'false_alert' })));
      await other.client.publishAsync(topics.adjudication(broker.officers[1]!.user, id3), JSON.stringify({ ...good, alertId: id3, outcome: 'not_engaged' }), { qos: 1 });
      await Promise.all(flood);
      await until(() => svc.store.get(id3)?.officerId === broker.officers[1]!.user, 15_000, "the other officer's decision recorded");
      t.is(svc.store.get(id3)?.outcome, 'not_engaged');
      // Measured 2026-12-04: the daemon saw only ~240 of the 2,000 (317 refusals counted in all);
      // the broker dropped the rest (max_queued_messages 200 per client). PC1002's decision got
      // through in that run, but the broker-side drop is NOT solved by the per-officer limit.
      t.true(svc.counts.rejectedAdjudications > 80, `flood refused or dropped: ${svc.counts.rejectedAdjudications}`);
    } finally {
      await other.close();
    }
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
  const broker = await new TestMosquitto().setup();
  const { cfg } = await tempConfig(broker);
  const topics = topicsFor('lfr', cfg.van.id);
  const opts = { url: cfg.mqtt.url, username: cfg.mqtt.username, passwordFile: cfg.mqtt.passwordFile, caFile: cfg.mqtt.caFile, clientId: 'lfr-van-7', topics };
  const watcher = await mqtt.connectAsync(broker.wsUrl, { ca: await readFile(broker.caFile), username: broker.tablet.user, password: broker.tablet.password, protocolVersion: 5 });
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
