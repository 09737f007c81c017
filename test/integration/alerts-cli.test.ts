// `lfr alerts list` and `lfr alerts purge` as real processes on a store written by the service.
import test from 'ava';
import { writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { AuditLog } from '../../src/audit/log.js';
import { AlertService } from '../../src/alerts/service.js';
import type { MqttLink } from '../../src/mqtt/client.js';
import { silentLogger } from '../../src/log.js';
import { lastJson, runCli } from '../helpers/cli.js';
import { candidate, tempConfig } from '../helpers/alert-fixture.js';

const ME = os.userInfo().username;

const unreachable: MqttLink = {
  connected: false,
  publish: () => Promise.reject(new Error('not connected')),
  subscribe: async () => undefined,
  onConnect: () => () => undefined,
};

test('list (no images unless asked), purge of expired alerts, purge --all, all audited', async (t) => {
  const { cfg, dir } = await tempConfig(null);
  const cfgFile = path.join(dir, 'lfr.json');
  writeFileSync(cfgFile, JSON.stringify({ van: { id: 'van-7' }, paths: cfg.paths }));
  const now = Date.now();
  const audit = new AuditLog(path.join(cfg.paths.stateDir, 'audit.db'), () => now).open();
  const svc = new AlertService({ config: cfg, log: silentLogger(), clock: () => now, audit, mqtt: unreachable });
  await svc.start(new AbortController().signal);
  const oldId = await svc.raise(await candidate(now - 25 * 3600_000, 'SUBJ-OLD-1'));
  const newId = await svc.raise(await candidate(now - 60_000, 'SUBJ-NEW-1'));
  await svc.stop();
  audit.close();

  const list = await runCli(['-c', cfgFile, 'alerts', 'list', '--json']);
  t.is(list.code, 0, list.stderr);
  const rows = lastJson<{ alerts: Record<string, unknown>[] }>(list.stdout).alerts;
  t.deepEqual(rows.map((r) => r.id), [newId, oldId]);
  t.like(rows[0], { subjectRef: 'SUBJ-NEW-1', camera: 'north-1', published: false, readable: true });
  t.false('faceJpeg' in rows[0]!, 'no images unless asked');
  const human = await runCli(['-c', cfgFile, 'alerts', 'list']);
  t.regex(human.stdout, /SUBJ-NEW-1.*queued.*undecided/);
  const withImages = await runCli(['-c', cfgFile, 'alerts', 'list', '--json', '--with-images']);
  t.regex(String(lastJson<{ alerts: { faceJpeg: string }[] }>(withImages.stdout).alerts[0]?.faceJpeg), /^\/9j\//);
  const exported = lastJson<{ entries: { actor: string; fields: Record<string, unknown> }[] }>((await runCli(['-c', cfgFile, 'audit', 'show', '--json', '--type', 'alerts.exported'])).stdout).entries;
  t.deepEqual(exported.map((e) => [e.actor, e.fields.alerts, e.fields.withImages]), [[ME, 2, true]], 'an export with faces is audited under the kernel actor');

  // A caller-chosen actor is refused, not recorded.
  const claimed = await runCli(['-c', cfgFile, 'alerts', 'purge', '--json', '--operator', 'sgt-smith']);
  t.is(claimed.code, 2);
  t.regex(claimed.stderr, /--operator is not accepted/);
  const purge = await runCli(['-c', cfgFile, 'alerts', 'purge', '--json']);
  t.is(purge.code, 0, purge.stderr);
  t.like(lastJson(purge.stdout), { purged: 1 });
  const after = lastJson<{ alerts: { id: string }[] }>((await runCli(['-c', cfgFile, 'alerts', 'list', '--json'])).stdout).alerts;
  t.deepEqual(after.map((r) => r.id), [newId]);

  const all = await runCli(['-c', cfgFile, 'alerts', 'purge', '--all', '--json']);
  t.like(lastJson(all.stdout), { purged: 1 });

  const verify = await runCli(['-c', cfgFile, 'audit', 'verify', '--json']);
  t.is(verify.code, 0, verify.stdout);
  const cli = await runCli(['-c', cfgFile, 'audit', 'show', '--json', '--type', 'cli']);
  const entries = lastJson<{ entries: { actor: string; fields: { command: string } }[] }>(cli.stdout).entries;
  t.deepEqual(entries.map((e) => [e.actor, e.fields.command]), [[ME, 'alerts purge --all'], [ME, 'alerts purge']]);
  t.false(JSON.stringify(entries).includes('sgt-smith'));
});
