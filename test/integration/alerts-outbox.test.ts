// Outbox through a real broker outage and a daemon restart (the alert service and MQTT link
// wired by hand, as the daemon wires them: a test of the parts): alerts raised while the broker is
// down for 30 s (and across a daemon restart in the middle) are all published once the broker
// returns, in the order raised, none twice. The broker keeps nothing across its restart
// (persistence off): a tablet re-reads missed alerts over HTTPS (tablet-browser test).
import { AuditLog } from '../../src/audit/log.js';
import { AlertService } from '../../src/alerts/service.js';
import { LfrMqttClient } from '../../src/mqtt/client.js';
import { systemClock } from '../../src/lifecycle.js';
import { silentLogger } from '../../src/log.js';
import { TestMosquitto } from '../helpers/mosquitto.js';
import { candidate, tablet, tempConfig, until } from '../helpers/alert-fixture.js';
import type { Config } from '../../src/config/schema.js';
import path from 'node:path';
import { needs } from '../helpers/prereq.js';

const { test } = needs(['mosquitto']);

async function daemon(cfg: Config, audit: AuditLog) {
  const log = silentLogger();
  const mqtt = new LfrMqttClient({ url: cfg.mqtt.url, username: cfg.mqtt.username, passwordFile: cfg.mqtt.passwordFile, caFile: cfg.mqtt.caFile, clientId: 'lfr-van-7', topics: (await import('../../src/mqtt/topics.js')).topicsFor('lfr', cfg.van.id), reconnectPeriodMs: 500 }, log);
  const alerts = new AlertService({ config: cfg, log, clock: systemClock, audit, mqtt });
  const ac = new AbortController();
  await mqtt.start(ac.signal);
  await alerts.start(ac.signal);
  return { mqtt, alerts, stop: async () => (await alerts.stop(), await mqtt.stop()) };
}

test('broker down 30 s and a daemon restart: every alert is published once, in order', async (t) => {
  t.timeout(120_000);
  const broker = await new TestMosquitto().setup();
  const { cfg } = await tempConfig(broker);
  const audit = new AuditLog(path.join(cfg.paths.stateDir, 'audit.db'), systemClock).open();
  let d = await daemon(cfg, audit);
  const tab = await tablet(broker, d.alerts.topics);
  try {
    await until(() => d.mqtt.connected, 5000, 'daemon connect');
    const raised: string[] = [];
    const raise = async () => raised.push(await d.alerts.raise(await candidate(Date.now())));
    for (let i = 0; i < 3; i++) await raise();
    await until(() => tab.received.length === 3, 10_000, 'first three alerts');

    await broker.stop();
    const down = Date.now();
    for (let i = 0; i < 4; i++) await raise();
    t.is(d.alerts.pendingCount(), 4, 'stored while the broker is down');
    // The daemon restarts during the outage: the outbox lives in SQLite and the keys on "tmpfs".
    await d.stop();
    d = await daemon(cfg, audit);
    for (let i = 0; i < 3; i++) await raise();
    t.is(d.alerts.pendingCount(), 7);
    await new Promise((r) => setTimeout(r, Math.max(0, 30_000 - (Date.now() - down))));
    t.is(tab.received.length, 3, 'nothing can arrive while the broker is down');
    await broker.start();

    await until(() => d.alerts.pendingCount() === 0, 30_000, 'all alerts published after the outage');
    await new Promise((r) => setTimeout(r, 1000)); // a late duplicate would show here
    const published = audit.list(100, 'alert.published').reverse().map((e) => e.fields.alertId);
    t.deepEqual(published, raised, 'every alert published once, in the order raised');
    // What a tablet that is connected receives: the message only, no image, no subject.
    const p = tab.received[0]!;
    t.is(p.schema, 2);
    t.is(p.camera, 'north-1');
    t.deepEqual(Object.keys(p).sort(), ['alertId', 'camera', 'capturedAt', 'category', 'decision', 'deploymentId', 'expiresAt', 'likelihood', 'raisedAt', 'schema', 'threshold', 'vanId']);
    t.true(audit.verify().ok);
  } finally {
    await tab.close().catch(() => undefined);
    await d.stop().catch(() => undefined);
    audit.close();
    await broker.cleanup();
  }
});
