// One van process (issue 20): a technician "just checking" starts a second `lfr run` while the
// service runs a deployment. Two real processes against one config: the second exits at once with
// "lfr is already running (pid N)" and touches nothing of the first (its deployment, control
// socket, uploads folder, MQTT client id, retained availability). The CLI's offline mode is refused
// while the first holds the lock, even when the first's control socket is gone.
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { AuditLog, type AuditEntry } from '../../src/audit/log.js';
import { configSchema } from '../../src/config/schema.js';
import { topicsFor } from '../../src/mqtt/topics.js';
import { runCli } from '../helpers/cli.js';
import { tablet } from '../helpers/alert-fixture.js';
import { demoVideo, referenceFace } from '../helpers/faces.js';
import type { DeploymentReport } from '../../src/deployment/types.js';
import { needs } from '../helpers/prereq.js';
import { Van, sleep } from '../helpers/van.js';

const { serial } = needs(['mosquitto', 'rtsp', 'models', 'demo-photos']);

/** The van's audit trail, oldest first, read read-only (as an auditor would, daemon running or not). */
function audit(van: Van): AuditEntry[] {
  const log = new AuditLog(path.join(van.stateDir, 'audit.db'), Date.now, true).open();
  try {
    return log.list(100_000).reverse();
  } finally {
    log.close();
  }
}

serial('a second lfr run exits at once and leaves the running van and its deployment untouched', async (t) => {
  t.timeout(240_000);
  // No camera: this is about the process, not analysis (the kill -9 test below has one).
  const van = await Van.create(t);
  const bundle = await van.buildBundle([{ ref: 'WL-7', images: [await referenceFace(1)] }]);
  const other = await van.buildBundle([{ ref: 'WL-8', images: [await referenceFace(2)] }], 'other');
  const cfg = configSchema.parse(van.config);
  const topics = topicsFor(cfg.mqtt.topicPrefix, cfg.van.id);
  await van.start();
  const dep = await van.startDeployment(['--watchlist', bundle]);

  // Watch the van's retained availability: a second process taking the client id kicks the first
  // (it reconnects and says "online" again) and publishes "stopped" on its way out.
  const tab = await tablet(van.broker!, topics, 'tablet-van-process');
  t.teardown(() => tab.close());
  const availability: string[] = [];
  tab.client.on('message', (topic, payload) => {
    if (topic === topics.availability) availability.push(payload.toString());
  });
  await tab.client.subscribeAsync(topics.availability, { qos: 1 });
  await sleep(500);
  t.deepEqual(availability, ['online'], 'the retained availability of the running van');

  const socket = path.join(van.runtimeDir, 'control.sock');
  const socketIno = statSync(socket).ino;
  // Something in the uploads folder stands for a bundle upload in transit.
  const marker = path.join(van.runtimeDir, 'uploads', 'in-transit');
  writeFileSync(marker, 'x');

  const t0 = Date.now();
  mkdirSync(van.tmpDir, { recursive: true });
  const second = await runCli(['-c', van.cfgFile, 'run'], { timeoutMs: 60_000, env: { TMPDIR: van.tmpDir } });
  const seconds = (Date.now() - t0) / 1000;
  t.is(second.code, 1, second.stderr);
  t.regex(second.stderr, new RegExp(`lfr is already running \\(pid ${van.pid}`));
  // "At once": no longer than the CLI takes to start at all on this (shared, loaded) box plus a
  // margin; a second run that loaded models or waited on the broker would take far longer.
  const b0 = Date.now();
  await runCli(['--version']);
  const baseline = (Date.now() - b0) / 1000;
  t.true(seconds < baseline + 10, `the second exits at once (${seconds.toFixed(1)} s; lfr --version took ${baseline.toFixed(1)} s)`);
  t.log(`second lfr run exited after ${seconds.toFixed(1)} s (lfr --version: ${baseline.toFixed(1)} s)`);
  t.notRegex(second.stderr, /control socket listening|mqtt|"daemon running"/i, 'it started nothing');

  t.is(statSync(socket).ino, socketIno, 'the control socket is the first van\'s, not rebound or deleted');
  t.true(existsSync(marker), 'the uploads folder was not emptied');
  await sleep(1500);
  t.deepEqual(availability, ['online'], 'no "stopped", no reconnect of the first van (its client id was not taken)');
  t.true(van.running);
  const status = (await van.status()).deployment as { id: string } | null;
  t.is(status?.id, dep.id as string, 'the deployment still runs, reachable through the control socket');

  // The offline mode: with the control socket gone (as the old second process left it), an import
  // into the store must not happen behind the running deployment's back.
  rmSync(marker);
  rmSync(socket);
  const imp = await van.cli('watchlist', 'import', other);
  t.is(imp.code, 4, imp.stderr);
  t.regex(imp.stderr, new RegExp(`lfr is already running \\(pid ${van.pid}.*nothing was changed`));
  const purge = await van.cli('watchlist', 'purge');
  t.is(purge.code, 4, purge.stderr);
  t.true(readdirSync(van.runtimeDir).includes(path.basename(cfg.watchlist.storeFile)), 'the running deployment\'s store is still there');

  // The lock goes with the process, however it ends: after a stop, the offline mode works again.
  t.like(await van.stop(), { code: 0 });
  const after = await van.cli('watchlist', 'purge', '--json');
  t.is(after.code, 0, after.stderr);
});

serial('kill -9 mid-deployment (a power cut): the next start ends it as "power lost" with its real counts, and its bundle is never imported again', async (t) => {
  t.timeout(300_000);
  const video = await demoVideo('van-process-kill', [['black', 1], [1, 4]]);
  const van = await Van.create(t, { cameras: [{ name: 'north-1', video }] });
  const bundle = await van.buildBundle([{ ref: 'WL-9', images: [await referenceFace(1)] }]);
  await van.start();
  // Degraded allowed: on a loaded box the camera may still be reconnecting; analysis is what counts.
  const dep = await van.startDeployment(['--watchlist', bundle, '--threshold', '0.61', '--allow-degraded']);
  type Counts = { facesAnalysed: number; peopleSeen: number; alerts: number };
  const counts = async (): Promise<Counts | null> => ((await van.status()).deployment as { counts: Counts } | null)?.counts ?? null;
  // Wait for real counts, then for a checkpoint after them (the deployment timer saves every 15 s).
  const t0 = Date.now();
  let live = await counts();
  while (!live || live.alerts < 1 || live.peopleSeen < 1) {
    if (Date.now() - t0 > 120_000) return t.fail(`no alert in 120 s: ${JSON.stringify(live)}; ${van.log().slice(-1500)}`);
    await sleep(500);
    live = await counts();
  }
  await sleep(16_000);
  const before = (await counts())!;
  const camDirs = (): string[] => readdirSync(van.tmpDir).filter((n) => n.startsWith('lfr-cam-'));
  t.true(camDirs().length >= 1, 'the live camera has its frame-socket folder');
  // The trail as the power cut finds it: what comes after this is the next start's doing.
  const beforeCut = audit(van);
  const lastSeqBeforeCut = beforeCut.at(-1)!.seq;
  const started = beforeCut.find((e) => e.type === 'deployment.start' && e.fields.deploymentId === dep.id);
  t.truthy(started, 'the deployment\'s start is in the trail before the cut');
  await van.stop('SIGKILL');
  t.true(camDirs().length >= 1, 'kill -9 leaves it behind');

  await van.start();
  t.deepEqual(camDirs().filter((n) => !n.startsWith(`lfr-cam-${van.pid}-`)), [], 'the stale folders of the killed process were removed at start');
  t.is((await van.status()).deployment, null, 'not resumed: ended at start');
  const rep = await van.cliJson<DeploymentReport>(['deployment', 'report', dep.id as string]);
  t.is(rep.endReason, 'power_lost');
  t.true(rep.alerts >= before.alerts && rep.alerts >= 1, `alerts from the ledger (${rep.alerts})`);
  t.true(rep.facesAnalysed > 0 && rep.peopleSeen > 0, `the checkpointed counts survive (${rep.facesAnalysed} faces, ${rep.peopleSeen} people; ${JSON.stringify(before)} 16 s before the kill)`);
  t.true(rep.peopleSeen <= before.peopleSeen + 1_000 && rep.facesAnalysed <= before.facesAnalysed + 100_000);
  t.is(rep.notCovered?.length, 1);
  t.is(rep.notCovered?.[0]?.why, 'power_lost');
  t.true(rep.watchlistPurged);
  const text = await van.cli('deployment', 'report', dep.id as string);
  t.regex(text.stdout, /NOT COVERED: .* \(\d+ min, power lost\)/);
  t.regex(text.stdout, /lost power/);
  t.notRegex(text.stdout, /in 0 people/);

  // The trail across the cut (M2 of docs/security-review-21.md): nothing written before the cut is
  // lost, no orderly stop was recorded, and the next start recorded what it did about the cut.
  const trail = audit(van);
  t.deepEqual(trail.slice(0, beforeCut.length).map((e) => e.hash), beforeCut.map((e) => e.hash), 'every entry before the cut is still there, unchanged');
  // Alerts may still be audited between the snapshot above and the kill: the next start is the
  // last daemon.start, and no orderly stop comes between the deployment's start and it.
  const restart = trail.filter((e) => e.type === 'daemon.start').at(-1)!;
  t.true(restart.seq > lastSeqBeforeCut, 'the next start is audited');
  t.deepEqual(trail.filter((e) => e.seq > started!.seq && e.seq < restart.seq && e.type.startsWith('daemon.')), [], 'a power cut leaves no orderly stop');
  const after = trail.filter((e) => e.seq > restart.seq);
  const types = after.map((e) => e.type);
  t.log(`audit entries after the next start: ${types.join(', ')}`);
  const one = (type: string, pred: (e: AuditEntry) => boolean = () => true): AuditEntry | undefined => {
    const found = after.filter((e) => e.type === type && pred(e));
    t.is(found.length, 1, `exactly one ${type} after the cut (${types.join(', ')})`);
    return found[0];
  };
  const ended = one('deployment.end', (e) => e.fields.deploymentId === dep.id);
  t.like(ended, { actor: 'system', fields: { reason: 'power_lost', watchlistPurged: true, alerts: rep.alerts, facesAnalysed: rep.facesAnalysed, peopleSeen: rep.peopleSeen } });
  const purged = one('watchlist.purged');
  t.like(purged, { actor: 'system', fields: { reason: 'deployment_end' } });
  t.is(purged?.fields.bundleSha256, started?.fields.bundleSha256 ?? purged?.fields.bundleSha256, 'the deployment\'s own bundle was purged');
  const bundleEnded = one('watchlist.bundle_ended');
  t.like(bundleEnded, { actor: 'system' });
  t.regex(String(bundleEnded?.fields.bundleId), /\S/, 'the ended bundle is named');
  const recordWritten = one('watchlist.record_written', (e) => e.fields.change === 'ended');
  // In order: the store purged and the bundle recorded as ended BEFORE the deployment's end entry
  // (whose signed head the report carries), so the report's head covers them.
  t.true(purged!.seq < ended!.seq && bundleEnded!.seq < ended!.seq && recordWritten!.seq < ended!.seq, `order: ${types.join(', ')}`);
  t.falsy(after.find((e) => e.type === 'deployment.resume'), 'not resumed');

  // `lfr audit verify` passes across the cut, alone and pinned to the head the report carries
  // (signed at the power-lost end, so it covers the entries from before the cut too).
  const verify = await van.cli('audit', 'verify', '--json');
  t.is(verify.code, 0, verify.stdout + verify.stderr);
  const head = /Audit head:\s+(\S+)/.exec(text.stdout)?.[1];
  t.truthy(head, text.stdout);
  t.true(Number(head!.split(':')[0]) >= ended!.seq, `the report's head covers the deployment.end entry (${head})`);
  const pinned = await van.cli('audit', 'verify', '--head', head!, '--json');
  t.is(pinned.code, 0, pinned.stdout + pinned.stderr);
  t.regex(pinned.stdout, /"signature":\s*"valid"/);

  // Re-inserting the stick: the bundle of the ended deployment is refused, nothing starts.
  const stick = path.join(van.dir, 'stick');
  mkdirSync(stick);
  writeFileSync(path.join(stick, 'watchlist.lfrwl'), readFileSync(bundle));
  const again = await van.cli('usb-import', stick);
  t.not(again.code, 0, again.stdout);
  t.regex(again.stderr, /used by a deployment that ended/);
  const refused = audit(van).filter((e) => e.seq > ended!.seq && e.type === 'watchlist.import_rejected');
  t.is(refused.length, 1, JSON.stringify(refused));
  t.like(refused[0], { fields: { code: 'bundle_ended', source: 'control-socket', claimedSource: 'usb' } });
  t.falsy(audit(van).find((e) => e.seq > ended!.seq && (e.type === 'watchlist.imported' || e.type === 'deployment.start')), 'nothing imported, nothing started');
  const verifyEnd = await van.cli('audit', 'verify');
  t.is(verifyEnd.code, 0, verifyEnd.stdout + verifyEnd.stderr);
});
