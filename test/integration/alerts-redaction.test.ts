// Logs are evidence and a leak risk: run the whole alert path (raise, publish through the real
// broker, adjudication, a decision refused for carrying a note, junk adjudication, the note over
// the HTTPS note route, purge; the parts wired by hand) with a capturing pino destination at debug
// level and assert that no image, subject reference, note, key or password reaches a log line.
import { readFileSync, readdirSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { NoteRoute } from '../../src/tablet/notes.js';
import { AuditLog } from '../../src/audit/log.js';
import { AlertService } from '../../src/alerts/service.js';
import { LfrMqttClient } from '../../src/mqtt/client.js';
import { SCHEMA, topicsFor } from '../../src/mqtt/topics.js';
import { TestMosquitto } from '../helpers/mosquitto.js';
import { candidate, capturingLogger, tablet, tempConfig, until } from '../helpers/alert-fixture.js';
import { needs } from '../helpers/prereq.js';

const { test } = needs(['mosquitto']);

test('the alert path logs no image, subject reference, note, key or password', async (t) => {
  const broker = await new TestMosquitto().setup();
  const { cfg } = await tempConfig(broker);
  const { log, lines } = capturingLogger();
  const audit = new AuditLog(path.join(cfg.paths.stateDir, 'audit.db'), Date.now).open();
  const topics = topicsFor('lfr', cfg.van.id);
  const link = new LfrMqttClient({ url: cfg.mqtt.url, username: cfg.mqtt.username, passwordFile: cfg.mqtt.passwordFile, caFile: cfg.mqtt.caFile, clientId: 'lfr-van-7', topics }, log.child({ module: 'mqtt' }));
  let now = Date.now();
  const svc = new AlertService({ config: cfg, log: log.child({ module: 'alerts' }), clock: () => now, audit, mqtt: link });
  await link.start(new AbortController().signal);
  await svc.start(new AbortController().signal);
  const tab = await tablet(broker, topics);
  const secrets: { what: string; value: string }[] = [
    { what: 'daemon password', value: broker.daemon.password },
    { what: 'officer password', value: broker.tablet.password },
  ];
  try {
    await until(() => link.connected, 5000, 'connect');
    const subjectRef = 'SUBJ-REDACTME-77';
    const c = await candidate(now, subjectRef);
    const context64 = c.contextJpeg.toString('base64');
    const face64 = c.faceJpeg.toString('base64');
    const ref64 = c.referenceJpeg.toString('base64');
    const id = await svc.raise(c);
    const keyBytes = readFileSync(path.join(cfg.paths.runtimeDir, cfg.alerts.keyDir, `${id}.key`));
    secrets.push(
      { what: 'subject reference', value: subjectRef },
      { what: 'face JPEG (base64)', value: face64.slice(200, 260) },
      { what: 'reference JPEG (base64)', value: ref64.slice(200, 260) },
      { what: 'JPEG marker', value: `FACEMARK-${subjectRef}` },
      { what: 'alert key (hex)', value: keyBytes.toString('hex') },
      { what: 'alert key (base64)', value: keyBytes.toString('base64') },
    );
    await until(() => tab.received.length === 1, 10_000, 'alert');
    secrets.push({ what: 'context JPEG (base64)', value: context64.slice(200, 260) }, { what: 'note', value: 'NOTE-REDACTME' });
    // A note in the MQTT decision is refused (and logged as a refusal, without the note)...
    await tab.client.publishAsync(topics.adjudication(tab.officer, id), JSON.stringify({ schema: SCHEMA, alertId: id, outcome: 'false_alert', decidedAt: new Date().toISOString(), note: 'NOTE-REDACTME' }), { qos: 1 });
    await tab.client.publishAsync(topics.adjudication(tab.officer, id), JSON.stringify({ schema: SCHEMA, alertId: id, outcome: 'false_alert', decidedAt: new Date().toISOString() }), { qos: 1 });
    await tab.client.publishAsync(topics.adjudication(tab.officer, id), `{"schema":2,"alertId":"${id}","faceJpeg":"${face64.slice(0, 300)}"}`, { qos: 1 });
    await until(() => svc.counts.adjudications === 1 && svc.counts.rejectedAdjudications === 2, 5000, 'adjudications');
    // ...and the note goes over the HTTPS note route (here on plain loopback HTTP: the route is what logs).
    const notes = new NoteRoute({ alerts: svc, audit, clock: () => now, log: log.child({ module: 'tablet' }) });
    const server = http.createServer((req, res) => void notes.handle(req, res, tab.officer, id, (r, status, type, body) => r.writeHead(status, { 'Content-Type': type }).end(body)));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const status = await new Promise<number>((resolve, reject) => {
      const body = JSON.stringify({ note: 'NOTE-REDACTME' });
      http
        .request({ host: '127.0.0.1', port: (server.address() as AddressInfo).port, method: 'POST', path: '/', headers: { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) } }, (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        })
        .on('error', reject)
        .end(body);
    });
    await new Promise<void>((r) => server.close(() => r()));
    t.is(status, 201);
    t.deepEqual(svc.store.notes(id).map((n) => n.text), ['NOTE-REDACTME']);
    now += 25 * 3600_000;
    await svc.purge(now);
    t.is(readdirSync(path.join(cfg.paths.runtimeDir, cfg.alerts.keyDir)).length, 0);
  } finally {
    await tab.close();
    await svc.stop();
    await link.stop();
    audit.close();
    await broker.cleanup();
  }
  const text = lines.join('');
  t.true(lines.length >= 5, `the path logged something (${lines.length} lines)`); // positive control
  t.regex(text, /alert raised/);
  t.regex(text, /adjudication rejected/);
  t.regex(text, /officer note saved with the alert/);
  for (const s of secrets) t.false(text.includes(s.value), `${s.what} leaked into the log`);
  t.false(/\/9j\//.test(text), 'no base64 JPEG start-of-image in the log');
});
