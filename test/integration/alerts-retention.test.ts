// Retention on a real SQLite file with an injected clock: an alert older than the limit is gone
// from alerts.db and alerts.db-wal, its ciphertext bytes cannot be found in either, and its key
// is destroyed; a younger alert stays. The broker is down throughout (nothing is published).
import test from 'ava';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { AuditLog } from '../../src/audit/log.js';
import { AlertService } from '../../src/alerts/service.js';
import type { MqttLink } from '../../src/mqtt/client.js';
import { RetentionScheduler } from '../../src/retention/scheduler.js';
import { silentLogger } from '../../src/log.js';
import Database from 'better-sqlite3';
import { candidate, tempConfig } from '../helpers/alert-fixture.js';

/** The broker is unreachable for this whole test: a link that never connects. */
const unreachable: MqttLink = {
  connected: false,
  publish: () => Promise.reject(new Error('not connected')),
  subscribe: async () => undefined,
  onConnect: () => () => undefined,
};

const H = 3600_000;

function fileBytes(file: string): Buffer {
  return Buffer.concat([file, `${file}-wal`].filter((f) => existsSync(f)).map((f) => readFileSync(f)));
}

test('an alert past its age limit is purged at start-up and periodically, irretrievably', async (t) => {
  const { cfg } = await tempConfig(null, { alerts: { retentionHours: 24 } });
  let now = Date.UTC(2026, 10, 23, 8);
  const clock = () => now;
  const audit = new AuditLog(path.join(cfg.paths.stateDir, 'audit.db'), clock).open();
  const svc = new AlertService({ config: cfg, log: silentLogger(), clock, audit, mqtt: unreachable });
  await svc.start(new AbortController().signal);
  const oldRef = 'SUBJ-OLDMARKER-4242';
  const oldId = await svc.raise(await candidate(now, oldRef));
  now += 2 * H;
  const youngId = await svc.raise(await candidate(now, 'SUBJ-YOUNG-1'));
  const file = svc.store.file;

  // Positive controls: the ciphertext is in the file, the plaintext never is, the key exists.
  const raw = new Database(file, { readonly: true });
  const sealed = (raw.prepare('SELECT sealed FROM alerts WHERE id = ?').get(oldId) as { sealed: Buffer }).sealed;
  raw.close();
  const probe = sealed.subarray(100, 164); // 64 bytes from inside the ciphertext
  t.true(fileBytes(file).includes(probe), 'ciphertext present before the purge');
  t.false(fileBytes(file).includes(Buffer.from(oldRef)), 'subject reference never stored in clear');
  t.false(fileBytes(file).includes(Buffer.from(`FACEMARK-${oldRef}`)), 'JPEG marker never stored in clear');
  const keyFile = path.join(cfg.paths.runtimeDir, cfg.alerts.keyDir, `${oldId}.key`);
  t.true(existsSync(keyFile));
  t.is(svc.store.content(oldId)?.subjectRef, oldRef);

  const sched = new RetentionScheduler([svc], { intervalMs: 60_000, clock, log: silentLogger(), audit });
  now += 22 * H - 1; // 1 ms before the old alert's 24 h
  t.deepEqual((await sched.runNow()).results.alerts, { alerts: 0, orphanKeys: 0 });
  now += 1;
  t.deepEqual((await sched.runNow()).results.alerts, { alerts: 1, orphanKeys: 0 });

  t.is(svc.store.get(oldId), null);
  t.truthy(svc.store.get(youngId), 'the younger alert stays');
  t.false(existsSync(keyFile), 'key destroyed (crypto-shredded)');
  const after = fileBytes(file);
  t.false(after.includes(probe), 'ciphertext bytes gone from alerts.db and alerts.db-wal');
  t.false(after.includes(sealed.subarray(sealed.length - 64)), 'tail of the ciphertext gone too');
  t.false(after.includes(Buffer.from(oldRef)));
  await svc.stop();

  // Start-up enforcement: a daemon that was off when the young alert expired purges it at once.
  now += 10 * H;
  const svc2 = new AlertService({ config: cfg, log: silentLogger(), clock, audit, mqtt: unreachable });
  await svc2.start(new AbortController().signal);
  t.is(svc2.store.count(), 0);
  await svc2.stop();
  const purges = audit.list(100, 'alert.purged').map((e) => e.fields.alertId);
  t.deepEqual(purges.sort(), [oldId, youngId].sort());
  t.true(audit.list(10, 'retention.purge').length >= 1, 'the scheduler audits the purge that deleted something');
  t.true(audit.verify().ok);
  audit.close();
});

test('keys lost with a power cut: the unreadable alerts are deleted at start and audited', async (t) => {
  const { cfg } = await tempConfig(null);
  const now = Date.now();
  const audit = new AuditLog(path.join(cfg.paths.stateDir, 'audit.db'), () => now).open();
  const svc = new AlertService({ config: cfg, log: silentLogger(), clock: () => now, audit, mqtt: unreachable });
  await svc.start(new AbortController().signal);
  const id = await svc.raise(await candidate(now));
  await svc.stop();
  const { rmSync } = await import('node:fs');
  rmSync(path.join(cfg.paths.runtimeDir, cfg.alerts.keyDir), { recursive: true }); // tmpfs emptied
  const svc2 = new AlertService({ config: cfg, log: silentLogger(), clock: () => now, audit, mqtt: unreachable });
  await svc2.start(new AbortController().signal);
  t.is(svc2.store.count(), 0);
  t.like(audit.list(5, 'alert.purged')[0]?.fields, { alertId: id, reason: 'key lost' });
  await svc2.stop();
  audit.close();
});
