// Deployment start/end through the real `lfr` CLI against the real daemon (`lfr run`: control
// socket, SQLite records, encrypted watchlist import with the real models, purge, automatic end).
// No camera here: the counts are zero; e2e-mqtt.test.ts counts a real face and alert.
import test from 'ava';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { runCli, lastJson } from '../helpers/cli.js';
import { DeploymentStore, deploymentsFile } from '../../src/deployment/store.js';
import { loadConfig } from '../../src/config/load.js';
import { ZERO_COUNTS, type DeploymentRecord, type DeploymentReport } from '../../src/deployment/types.js';
import type { StatusSummary } from '../../src/health/status.js';
import { auditEntries, makeEnv, startHost } from './fixtures/fieldops-env.js';

const auditLines = auditEntries;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test.serial('start records the authorisation and composition, end stops, purges and reports', async (t) => {
  const env = await makeEnv();
  const host = await startHost(env);
  t.teardown(async () => {
    await host.stop();
    env.cleanup();
  });
  const c = ['-c', env.cfgFile];
  const storeFile = path.join(env.dir, 'run', 'watchlist.db');
  const base = ['deployment', 'start', '--authorisation', 'AUTH-2026-117', '--location', 'High St, north end', '--watchlist', env.bundleFile, '--threshold', '0.62', '--ends-at', '+1h'];

  // No authorising officer: refused with a plain message, nothing recorded, nothing imported.
  const noOfficer = await runCli([...c, ...base, '--json']);
  t.is(noOfficer.code, 3, noOfficer.stderr);
  t.regex(noOfficer.stderr, /authorising officer is required/);
  t.false(existsSync(storeFile));
  t.deepEqual(auditLines(env.auditFile).map((a) => a.type).filter((ty) => !ty.startsWith('daemon.')), [], 'nothing but the daemon start audited');

  const badThreshold = await runCli([...c, ...base.map((a) => (a === '0.62' ? '1.5' : a)), '--officer', 'Supt A. Example']);
  t.is(badThreshold.code, 3);
  t.regex(badThreshold.stderr, /between 0 and 1/);

  const started = await runCli([...c, ...base, '--officer', 'Supt A. Example', '--json']);
  t.is(started.code, 0, started.stderr);
  const rec = lastJson<DeploymentRecord>(started.stdout);
  t.is(rec.authorisationRef, 'AUTH-2026-117');
  t.is(rec.authorisingOfficer, 'Supt A. Example');
  t.is(rec.threshold, 0.62);
  t.is(rec.watchlist.subjects, 2);
  t.deepEqual(rec.watchlist.categories, { wanted: 1, 'missing person': 1 });
  t.regex(rec.watchlist.bundleSha256, /^[0-9a-f]{64}$/);
  t.true(existsSync(storeFile), 'watchlist store on the runtime dir');
  const startAudit = auditLines(env.auditFile).find((a) => a.type === 'deployment.start');
  t.truthy(startAudit);
  t.is(startAudit!.fields.authorisationRef, 'AUTH-2026-117');
  t.is(startAudit!.fields.threshold, 0.62);
  t.deepEqual(JSON.parse(startAudit!.fields['watchlist.categories'] as string), { wanted: 1, 'missing person': 1 });
  t.is(startAudit!.fields['watchlist.subjects'], 2);
  t.is(startAudit!.actor, os.userInfo().username);

  // A second deployment cannot start while one runs.
  const again = await runCli([...c, ...base, '--officer', 'Supt A. Example']);
  t.is(again.code, 1);
  t.regex(again.stderr, /still running/);

  const st = await runCli([...c, 'status', '--json']);
  t.is(st.code, 0, st.stderr);
  const status = lastJson<StatusSummary & { running: boolean }>(st.stdout);
  t.is(status.deployment?.id, rec.id);
  t.is(status.deployment?.counts.facesAnalysed, 0);
  t.is(status.deployment?.watchlist.subjects, 2);

  // --out must be an existing folder on a mounted filesystem other than the root disk (tmpfs here).
  const outDir = mkdtempSync('/dev/shm/lfr-reports-');
  t.teardown(() => rmSync(outDir, { recursive: true, force: true }));
  const ended = await runCli([...c, 'deployment', 'end', '--out', outDir, '--json']);
  t.is(ended.code, 0, ended.stderr);
  const rep = lastJson<DeploymentReport>(ended.stdout);
  t.is(rep.deploymentId, rec.id);
  t.is(rep.endReason, 'ended_by_operator');
  t.is(rep.facesAnalysed, 0);
  t.is(rep.alerts, 0);
  t.is(rep.confirmed + rep.falseAlerts + rep.undecided, 0);
  t.is(rep.threshold, 0.62);
  t.true(rep.watchlistPurged);
  t.false(existsSync(storeFile), 'watchlist purged at deployment end');
  t.regex(readFileSync(path.join(outDir, `${rec.id}.txt`), 'utf8'), /People seen:\s+0 \(face tracks; 0 face images analysed; none stored\)/);
  t.deepEqual(JSON.parse(readFileSync(path.join(outDir, `${rec.id}.json`), 'utf8')), rep);
  const endAudit = auditLines(env.auditFile).find((a) => a.type === 'deployment.end');
  t.is(endAudit?.fields.watchlistPurged, true);

  // The report is on record and readable without the daemon's help.
  const again2 = await runCli([...c, 'deployment', 'report', '--json']);
  t.is(again2.code, 0, again2.stderr);
  t.deepEqual(lastJson(again2.stdout), rep as unknown as Record<string, unknown>);
  const none = await runCli([...c, 'deployment', 'end']);
  t.is(none.code, 1);
  t.regex(none.stderr, /no deployment is running/);
});

test.serial('a deployment ends by itself at --ends-at, and the watchlist goes with it', async (t) => {
  const env = await makeEnv();
  const host = await startHost(env);
  t.teardown(async () => {
    await host.stop();
    env.cleanup();
  });
  const c = ['-c', env.cfgFile];
  const started = await runCli([...c, 'deployment', 'start', '--authorisation', 'AUTH-9', '--location', 'Station forecourt', '--watchlist', env.bundleFile, '--threshold', '0.6', '--ends-at', '+3s', '--officer', 'Insp B', '--json']);
  t.is(started.code, 0, started.stderr);
  const rec = lastJson<DeploymentRecord>(started.stdout);
  await sleep(4500);
  const st = lastJson<StatusSummary>((await runCli([...c, 'status', '--json'])).stdout);
  t.is(st.deployment, null);
  t.is(st.lastReport?.deploymentId, rec.id);
  t.is(st.lastReport?.endReason, 'ends_at_reached');
  t.true(st.lastReport?.watchlistPurged);
  t.false(existsSync(path.join(env.dir, 'run', 'watchlist.db')));
  t.is(auditLines(env.auditFile).find((a) => a.type === 'deployment.end')?.actor, 'system');
});

test.serial('a deployment whose end passed while the daemon was down is ended at start-up', async (t) => {
  const env = await makeEnv();
  let host = await startHost(env);
  t.teardown(async () => {
    await host.stop();
    env.cleanup();
  });
  const c = ['-c', env.cfgFile];
  const started = await runCli([...c, 'deployment', 'start', '--authorisation', 'AUTH-10', '--location', 'Market', '--watchlist', env.bundleFile, '--threshold', '0.6', '--ends-at', '+3s', '--officer', 'Insp C', '--json']);
  t.is(started.code, 0, started.stderr);
  host.child.kill('SIGTERM'); // an orderly stop keeps the record "running" (suspended); kill -9 is "power lost" (van-process.test.ts)
  await new Promise((r) => host.child.once('exit', r));
  const down = await runCli([...c, 'status', '--json']);
  t.is(down.code, 4);
  t.is(lastJson<{ running: boolean }>(down.stdout).running, false);
  await sleep(3500);
  host = await startHost(env);
  const rep = await runCli([...c, 'deployment', 'report', '--json']);
  t.is(rep.code, 0, rep.stderr);
  t.is(lastJson<DeploymentReport>(rep.stdout).endReason, 'ends_at_reached');
  t.false(existsSync(path.join(env.dir, 'run', 'watchlist.db')));
});

test.serial('a daemon restarted mid-deployment resumes it with its watchlist', async (t) => {
  const env = await makeEnv();
  let host = await startHost(env);
  t.teardown(async () => {
    await host.stop();
    env.cleanup();
  });
  const c = ['-c', env.cfgFile];
  const started = await runCli([...c, 'deployment', 'start', '--authorisation', 'AUTH-11', '--location', 'Bridge', '--watchlist', env.bundleFile, '--threshold', '0.6', '--ends-at', '+1h', '--officer', 'Insp D', '--json']);
  t.is(started.code, 0, started.stderr);
  const rec = lastJson<DeploymentRecord>(started.stdout);
  // An orderly stop (SIGTERM: systemctl restart) marks the record suspended; kill -9 is a power
  // cut and ends the deployment at the next start (van-process.test.ts).
  host.child.kill('SIGTERM');
  await new Promise((r) => host.child.once('exit', r));
  // The counters the orderly stop checkpointed (no camera here to make real ones).
  const store = new DeploymentStore(deploymentsFile(loadConfig(env.cfgFile)));
  store.open();
  store.checkpoint(rec.id, { ...ZERO_COUNTS, facesAnalysed: 1200, peopleSeen: 41 }, null, Date.now(), true);
  store.close();
  host = await startHost(env);
  t.regex(host.log(), /"analysing":true/, 'analysis resumed before "daemon running"');
  const st = lastJson<StatusSummary>((await runCli([...c, 'status', '--json'])).stdout);
  t.is(st.deployment?.id, rec.id);
  // Analysis counts carry on from the checkpoint; alerts and decisions come from the ledger.
  t.like(st.deployment?.counts, { facesAnalysed: 1200, peopleSeen: 41, alerts: 0 }, 'the resumed deployment carries on from its checkpoint');
  t.true(existsSync(path.join(env.dir, 'run', 'watchlist.db')));
  t.is(auditLines(env.auditFile).filter((a) => a.type === 'deployment.resume').length, 1);
});

test.serial('without a daemon, deployment start says so and exits 4', async (t) => {
  const env = await makeEnv();
  t.teardown(() => env.cleanup());
  const r = await runCli(['-c', env.cfgFile, 'deployment', 'start', '--authorisation', 'A', '--location', 'L', '--watchlist', env.bundleFile, '--threshold', '0.6', '--ends-at', '+1h', '--officer', 'O']);
  t.is(r.code, 4);
  t.regex(r.stderr, /daemon is not running/);
});
