// Figures of the alert PATH's parts (the alert service and MQTT link wired by hand), through the
// real broker on loopback with TLS: raise() to receipt of the alert MESSAGE (schema 2, < 1 KB, no
// images) by a browser-like officer client (MQTT over WebSocket/TLS) and by a native client
// (MQTT/TLS), and the outbox drain rate after an outage with 1,000 queued alerts, in order, none
// twice. Numbers via t.log (ava --verbose), no timed assertion. Alert to SCREEN on the real van
// (HTTPS content, Chromium) is `lfr bench tablet`.
import test from 'ava';
import path from 'node:path';
import { AuditLog } from '../../src/audit/log.js';
import { AlertService } from '../../src/alerts/service.js';
import type { AlertCandidate } from '../../src/alerts/types.js';
import { LfrMqttClient } from '../../src/mqtt/client.js';
import { topicsFor } from '../../src/mqtt/topics.js';
import { silentLogger } from '../../src/log.js';
import { MOSQUITTO, TestMosquitto } from '../helpers/mosquitto.js';
import { candidate, tablet, tempConfig, until } from '../helpers/alert-fixture.js';
import { requirePrereqs } from '../helpers/prereq.js';

const LATENCY_N = Number(process.env.LFR_FIG_LATENCY_N ?? 30);
const DRAIN_N = Number(process.env.LFR_FIG_DRAIN_N ?? 1000);

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)]!;
};
const copy = (c: AlertCandidate): AlertCandidate => ({ ...c, faceJpeg: Buffer.from(c.faceJpeg), contextJpeg: Buffer.from(c.contextJpeg), referenceJpeg: Buffer.from(c.referenceJpeg) });

test('alert latency p50/p99 and outbox drain rate after an outage', async (t) => {
  requirePrereqs(['mosquitto']);
  t.timeout(170_000);
  const broker = await new TestMosquitto().setup();
  const { cfg } = await tempConfig(broker);
  const audit = new AuditLog(path.join(cfg.paths.stateDir, 'audit.db'), Date.now).open();
  const topics = topicsFor('lfr', cfg.van.id);
  const link = new LfrMqttClient({ url: cfg.mqtt.url, username: cfg.mqtt.username, passwordFile: cfg.mqtt.passwordFile, caFile: cfg.mqtt.caFile, clientId: 'lfr-van-7', topics, reconnectPeriodMs: 2000 }, silentLogger());
  const svc = new AlertService({ config: cfg, log: silentLogger(), clock: Date.now, audit, mqtt: link });
  await link.start(new AbortController().signal);
  await svc.start(new AbortController().signal);
  const tab = await tablet(broker, topics);
  // A native client on the MQTT/TLS listener: only the daemon's account exists there.
  const tcp = await tablet({ wsUrl: broker.url, caFile: broker.caFile, tablet: broker.daemon } as unknown as TestMosquitto, topics, 'figures-tcp', broker.daemon);
  try {
    await until(() => link.connected, 5000, 'connect');
    // 640 px context: what the matcher hands over after its own downscale (default config).
    const proto = await candidate(Date.now(), 'SUBJ-FIG', { face: 112, context: 640 });

    // Latency: one alert at a time (alerts are rare; this measures the path, not a queue).
    const latWs: number[] = [];
    const latTcp: number[] = [];
    const raiseMs: number[] = [];
    for (let i = 0; i < LATENCY_N; i++) {
      const t0 = performance.now();
      const id = await svc.raise({ ...copy(proto), capturedAt: Date.now() });
      raiseMs.push(performance.now() - t0);
      await until(() => tab.receivedAt.has(id) && tcp.receivedAt.has(id), 10_000, 'receipt');
      latWs.push(tab.receivedAt.get(id)! - t0);
      latTcp.push(tcp.receivedAt.get(id)! - t0);
    }
    const bytes = Buffer.byteLength(JSON.stringify(tab.received.at(-1)));
    const f = (xs: number[]) => `p50 ${pct(xs, 50).toFixed(1)} ms, p99 ${pct(xs, 99).toFixed(1)} ms`;
    t.log(`alert size ${bytes} B; n=${LATENCY_N}; raise() until durable: ${f(raiseMs)}`);
    t.log(`latency raise()->tablet over WebSocket/TLS: ${f(latWs)}`);
    t.log(`latency raise()->client over MQTT/TLS:      ${f(latTcp)}`);
    // Figures only (no timed assertion): the alert-to-screen figure is `lfr bench tablet`.
    t.is(latWs.length, LATENCY_N);

    // Drain: broker down, DRAIN_N alerts queued, broker back; time from broker start until the
    // outbox is empty (every alert acknowledged by the broker) and until the MQTT/TLS client has
    // them all. The WebSocket tablet is closed first: at ~40 KB/s through mosquitto 2.0.11's
    // WebSocket writer, 1,000 alerts would take ~20 minutes to reach it.
    await tab.close();
    await broker.stop();
    await until(() => !link.connected, 5000, 'disconnect');
    const q0 = performance.now();
    const raised: string[] = [];
    for (let i = 0; i < DRAIN_N; i++) raised.push(await svc.raise({ ...copy(proto), capturedAt: Date.now() }));
    const queueMs = performance.now() - q0;
    t.is(svc.pendingCount(), DRAIN_N);
    const before = tcp.received.length;
    const d0 = performance.now();
    await broker.start();
    // The broker keeps no session across a restart (persistence off): the subscriber (reconnect
    // every 0.5 s) resubscribes before the daemon's link (every 2 s) comes back and drains.
    await until(() => tcp.client.connected, 10_000, 'subscriber back');
    await until(() => svc.pendingCount() === 0, 150_000, 'outbox empty');
    const outboxS = (performance.now() - d0) / 1000;
    t.log(`queued ${DRAIN_N} alerts with the broker down in ${(queueMs / 1000).toFixed(1)} s (${(queueMs / DRAIN_N).toFixed(1)} ms per raise incl. fsync)`);
    t.log(`after broker start (incl. reconnect): outbox empty (every alert acknowledged by the broker) in ${outboxS.toFixed(1)} s = ${(DRAIN_N / outboxS).toFixed(0)} alerts/s`);
    // Order and "once", as the broker acknowledged them (alert.published is written on PUBACK).
    const published = audit.list(5 * DRAIN_N, 'alert.published').reverse().map((e) => e.fields.alertId as string).filter((id) => raised.includes(id));
    t.deepEqual(published, raised, 'all, once, in order');
    await new Promise((r) => setTimeout(r, 500));
    t.log(`received by the subscriber that was back first: ${tcp.received.length - before} of ${DRAIN_N} (the broker keeps no session across its restart; tablets re-read over HTTPS)`);
    await tcp.close();
  } finally {
    await tab.close().catch(() => undefined);
    await tcp.close().catch(() => undefined);
    await svc.stop();
    await link.stop();
    audit.close();
    await broker.cleanup();
  }
});
