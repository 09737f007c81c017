// The whole product path as deployed: `lfr watchlist import` (real CLI), then `lfr run` (real
// process) with a real mosquitto (TLS), a real RTSP server streaming the demo video, the real
// models; a tablet client on the broker receives the alert (ONVIF-style payload with the three
// images), and the encrypted alert store plus the audit log were written by the daemon. Nothing is
// analysed before `lfr deployment start`; the daemon serves the tablet page, publishes the
// retained status with the deployment, and counts the officer's decision in the results report.
import test from 'ava';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseConfig } from '../../src/config/load.js';
import { createFaceEngine } from '../../src/vision/engine.js';
import { silentLogger } from '../../src/log.js';
import { CLI_ENTRY } from '../../src/paths.js';
import { topicsFor } from '../../src/mqtt/topics.js';
import { AuditLog } from '../../src/audit/log.js';
import { buildDemoBundle, cropReferenceFace, demoPhoto, makeDemoVideo } from '../../src/tools/demo/kit.js';
import { RtspServer, rtspServerAvailable } from '../helpers/rtsp.js';
import { MOSQUITTO, TestMosquitto } from '../helpers/mosquitto.js';
import { tempConfig, tablet } from '../helpers/alert-fixture.js';
import { runCli } from '../helpers/cli.js';
import { freePort } from '../helpers/rtsp.js';
import { SCHEMA, type StatusPayload } from '../../src/mqtt/topics.js';
import type { DeploymentReport } from '../../src/deployment/types.js';
import https from 'node:https';
import { requirePrereqs } from '../helpers/prereq.js';

function httpsGet(url: string, ca: Buffer): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    https.get(url, { ca }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    }).on('error', reject);
  });
}

const ready = rtspServerAvailable() && Boolean(MOSQUITTO) && existsSync(demoPhoto(1));

test.serial('lfr run: a watchlisted person on camera reaches the tablet over MQTT within seconds', async (t) => {
  requirePrereqs(['rtsp', 'mosquitto', 'demo-photos', 'models']);
  const broker = await new TestMosquitto().setup();
  t.teardown(() => broker.stop());
  const { cfg, dir } = await tempConfig(broker);
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const engine = await createFaceEngine(parseConfig({}), silentLogger());
  const ref = await cropReferenceFace(engine, demoPhoto(1), cfg.quality.enrolment);
  await engine.close();
  const wl = await buildDemoBundle(path.join(dir, 'station'), ref, 'WL-42');
  const video = path.join(dir, 'station', 'cam.mp4');
  await makeDemoVideo(video, ['black:1', `${demoPhoto(1)}:4`]);
  const server = await RtspServer.start({ mounts: { '/cam': `file:${video}` } });
  t.teardown(() => server.stop());
  const cfgFile = path.join(dir, 'lfr.json');
  const tabletPort = await freePort();
  writeFileSync(cfgFile, JSON.stringify({
    ...cfg,
    watchlist: { ...cfg.watchlist, vanKeyFile: wl.vanKeyFile, trustedSigningKeys: [wl.signingPubFile] },
    cameras: [{ name: 'north-1', url: server.url('/cam') }],
    health: { metricsPort: 0 },
    // The page served by `lfr run` itself, with the broker's certificate (as in the van).
    tablet: { host: '127.0.0.1', port: tabletPort, certFile: path.join(broker.dir, 'tls', 'broker.crt'), keyFile: path.join(broker.dir, 'tls', 'broker.key') },
  }));
  const imp = await runCli(['-c', cfgFile, 'watchlist', 'import', wl.bundle], { timeoutMs: 120_000 });
  t.is(imp.code, 0, imp.stderr);

  const topics = topicsFor(cfg.mqtt.topicPrefix, cfg.van.id);
  const tab = await tablet(broker, topics);
  t.teardown(() => tab.close());
  const p = spawn(process.execPath, [CLI_ENTRY, '-c', cfgFile, 'run'], { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, LFR_CONFIG: '', UV_THREADPOOL_SIZE: '8' } });
  let err = '';
  p.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const exit = new Promise<number | null>((r) => p.on('exit', (c) => r(c)));
  t.teardown(() => void p.kill('SIGKILL'));
  const t0 = Date.now();
  // Nothing is analysed until a deployment is recorded: start one with the imported watchlist.
  while (!err.includes('"daemon running"')) {
    if (Date.now() - t0 > 60_000 || p.exitCode !== null) return t.fail(`daemon did not start: ${err.slice(-1500)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  // The face is on screen 4 s of every 5 (the server loops the video) and alerts within a second
  // once analysed: 3 s with no alert shows nothing is matched before a deployment is recorded.
  await new Promise((r) => setTimeout(r, 3000));
  t.regex(err, /"analysing":false/);
  t.is(tab.received.length, 0, 'no alert before the deployment starts');
  const page = await httpsGet(`https://127.0.0.1:${tabletPort}/config.json`, readFileSync(broker.caFile));
  t.is(page.status, 200);
  t.is(JSON.parse(page.body).vanId, cfg.van.id);
  const statuses: StatusPayload[] = [];
  tab.client.on('message', (topic, payload) => {
    if (topic === topics.status) statuses.push(JSON.parse(payload.toString()) as StatusPayload);
  });
  await tab.client.subscribeAsync(topics.status, { qos: 1 });
  const dep = await runCli(['-c', cfgFile, 'deployment', 'start', '--authorisation', 'AUTH-E2E', '--location', 'Test rig', '--officer', 'Insp E', '--threshold', '0.61', '--ends-at', '+1h']);
  t.is(dep.code, 0, dep.stderr);
  while (tab.received.length === 0) {
    if (Date.now() - t0 > 45_000 || p.exitCode !== null) {
      t.fail(`no alert on the tablet; daemon log tail: ${err.slice(-1500)}`);
      return;
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  t.log(`alert on the tablet ${((Date.now() - t0) / 1000).toFixed(1)} s after lfr run started (includes model load and RTSP connect)`);
  const a = tab.received[0]!;
  t.is(a.camera, 'north-1');
  t.is(a.enrollmentId, 'WL-42');
  t.is(a.decision, 'suggestion');
  t.true(a.likelihood >= a.threshold);
  t.is(a.threshold, 0.61, "the deployment's recorded threshold, not the config default");
  for (const img of [a.faceJpeg, a.contextJpeg, a.referenceJpeg]) t.is(Buffer.from(img, 'base64').subarray(0, 3).toString('hex'), 'ffd8ff');
  t.false(err.includes('WL-42'), 'the subject reference never reaches the log');
  const st = await runCli(['-c', cfgFile, 'status', '--json']);
  const counts = JSON.parse(st.stdout.trim().split('\n').pop()!).deployment.counts as { facesAnalysed: number; alerts: number };
  t.true(counts.facesAnalysed >= 1 && counts.alerts >= 1, JSON.stringify(counts));
  // The retained status topic carries the running deployment (published on the change).
  t.true(statuses.some((s) => s.deployment?.location === 'Test rig'), JSON.stringify(statuses.at(-1)));
  // An officer's decision on the alert is counted in the deployment's results report.
  await tab.client.publishAsync(topics.adjudication(a.alertId), JSON.stringify({ schema: SCHEMA, alertId: a.alertId, outcome: 'confirmed_match', officerId: 'PC1', decidedAt: new Date().toISOString() }), { qos: 1 });
  let rep: DeploymentReport | null = null;
  for (let i = 0; i < 50 && !rep; i++) {
    await new Promise((r) => setTimeout(r, 100));
    const s2 = JSON.parse((await runCli(['-c', cfgFile, 'status', '--json'])).stdout.trim().split('\n').pop()!) as { deployment: { counts: { confirmed: number } } };
    if (s2.deployment.counts.confirmed === 1) {
      const end = await runCli(['-c', cfgFile, 'deployment', 'end', '--json']);
      t.is(end.code, 0, end.stderr);
      rep = JSON.parse(end.stdout.trim().split('\n').pop()!) as DeploymentReport;
    }
  }
  t.truthy(rep, 'the decision reached the deployment counts');
  t.is(rep?.confirmed, 1);
  t.true(rep!.alerts >= 1 && rep!.watchlistPurged);
  p.kill('SIGTERM');
  t.is(await exit, 0);
  const audit = new AuditLog(path.join(cfg.paths.stateDir, cfg.audit.file), Date.now, true).open();
  const types = audit.list(200).map((e) => e.type);
  audit.close();
  t.true(types.includes('alert.raised'), types.join(','));
});
