// The whole product path as deployed, through `lfr run` (the one composition root): a station-
// built bundle, a real mosquitto set up by the product's broker set-up, a real RTSP camera, the
// real models. Nothing is analysed before `lfr deployment start`; an officer's tablet client then
// gets an alert MESSAGE that shows and names nobody (schema 2: id, camera, times, score,
// threshold, category), fetches the content over HTTPS from the daemon with the officer's account
// (faces, subject reference, reason), and its decision is counted in the results report under the
// authenticated officer. The retained status carries the deployment; the subject reference never
// reaches the daemon's log.
import { readFileSync } from 'node:fs';
import https from 'node:https';
import { configSchema } from '../../src/config/schema.js';
import { SCHEMA, topicsFor, type AlertContent, type StatusPayload } from '../../src/mqtt/topics.js';
import type { DeploymentReport } from '../../src/deployment/types.js';
import { tablet } from '../helpers/alert-fixture.js';
import { demoVideo, referenceFace } from '../helpers/faces.js';
import { needs } from '../helpers/prereq.js';
import { Van, sleep } from '../helpers/van.js';

const { serial } = needs(['mosquitto', 'rtsp', 'models', 'demo-photos']);

function httpsGet(url: string, ca: Buffer, auth?: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    https
      .get(url, { ca, headers: auth ? { Authorization: `Basic ${Buffer.from(auth).toString('base64')}` } : {} }, (res) => {
        let body = '';
        res.on('data', (d: Buffer) => (body += d.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      })
      .on('error', reject);
  });
}

serial('lfr run: a watchlisted person on camera reaches the tablet as a content-free message; the content comes over HTTPS', async (t) => {
  t.timeout(180_000);
  const video = await demoVideo('e2e-mqtt', [['black', 1], [1, 4]]);
  const van = await Van.create(t, { cameras: [{ name: 'north-1', video }], tablet: true });
  const bundle = await van.buildBundle([{ ref: 'WL-42', category: 'wanted', reason: 'REASON-MARK test', images: [await referenceFace(1)] }]);
  const cfg = configSchema.parse(van.config);
  const topics = topicsFor(cfg.mqtt.topicPrefix, cfg.van.id);
  const tab = await tablet(van.broker!, topics);
  t.teardown(() => tab.close());
  await van.start();
  // The face is on screen 4 s of every 5 and alerts within a second once analysed: 3 s with no
  // alert shows nothing is matched before a deployment is recorded.
  await sleep(3000);
  t.regex(van.log(), /"analysing":false/);
  t.is(tab.received.length, 0, 'no alert before the deployment starts');
  const statuses: StatusPayload[] = [];
  tab.client.on('message', (topic, payload) => {
    if (topic === topics.status) statuses.push(JSON.parse(payload.toString()) as StatusPayload);
  });
  await tab.client.subscribeAsync(topics.status, { qos: 1 });
  const dep = (await van.startDeployment(['--watchlist', bundle, '--threshold', '0.61'])) as { id: string };
  t.regex(dep.id, /^dep-\d{4}-\d{2}-\d{2}-[0-9a-f]{8}$/);
  const t0 = Date.now();
  while (tab.received.length === 0) {
    if (Date.now() - t0 > 60_000) return t.fail(`no alert on the tablet; daemon log tail: ${van.log().slice(-1500)}`);
    await sleep(200);
  }
  const a = tab.received[0]!;
  t.deepEqual(Object.keys(a).sort(), ['alertId', 'camera', 'capturedAt', 'category', 'decision', 'deploymentId', 'expiresAt', 'likelihood', 'raisedAt', 'schema', 'threshold', 'vanId'], 'nothing that shows or names a person');
  t.like(a, { schema: SCHEMA, camera: 'north-1', category: 'wanted', decision: 'suggestion', threshold: 0.61 });
  t.true(a.likelihood >= a.threshold);
  // The alert belongs to THIS deployment (the running one), not merely to some deployment.
  t.is(a.deploymentId, dep.id);

  // The content, over HTTPS from the daemon, with the officer's own account only.
  const ca = readFileSync(cfg.mqtt.caFile!);
  const url = `https://127.0.0.1:${van.tabletPort}/api/alerts/${a.alertId}`;
  t.is((await httpsGet(url, ca)).status, 401);
  const got = await httpsGet(url, ca, `${van.broker!.tablet.user}:${van.broker!.tablet.password}`);
  t.is(got.status, 200);
  const c = JSON.parse(got.body) as AlertContent;
  t.like(c, { alertId: a.alertId, subjectRef: 'WL-42', reason: 'REASON-MARK test', camera: 'north-1' });
  for (const img of [c.faceJpeg, c.contextJpeg, c.referenceJpeg]) t.is(Buffer.from(img, 'base64').subarray(0, 3).toString('hex'), 'ffd8ff');
  t.false(van.log().includes('WL-42'), 'the subject reference never reaches the log');
  t.false(van.log().includes('REASON-MARK'), 'nor the reason');

  const counts = (await van.status()).deployment as { id: string; counts: { facesAnalysed: number; alerts: number } };
  t.is(counts.id, dep.id, 'lfr status names the same running deployment');
  t.true(counts.counts.facesAnalysed >= 1 && counts.counts.alerts >= 1, JSON.stringify(counts));
  t.true(statuses.some((s) => s.deployment?.id === dep.id && s.deployment.location === 'Test rig'), JSON.stringify(statuses.at(-1)));

  // The officer's decision, under their own name, is counted in the results report.
  await tab.client.publishAsync(topics.adjudication(tab.officer, a.alertId), JSON.stringify({ schema: SCHEMA, alertId: a.alertId, outcome: 'confirmed_match', decidedAt: new Date().toISOString() }), { qos: 1 });
  let rep: DeploymentReport | null = null;
  for (let i = 0; i < 50 && !rep; i++) {
    await sleep(100);
    const s = (await van.status()).deployment as { counts: { confirmed: number } };
    if (s.counts.confirmed === 1) rep = (await van.endDeployment()) as unknown as DeploymentReport;
  }
  t.truthy(rep, 'the decision reached the deployment counts');
  t.is(rep?.confirmed, 1);
  t.is(rep?.deploymentId, dep.id);
  t.true(rep!.alerts >= 1 && rep!.watchlistPurged);
  t.like(await van.stop(), { code: 0 });
  const audit = await van.cliJson<{ entries: Array<{ type: string; actor: string | null }> }>(['audit', 'show', '--limit', '500']);
  t.true(audit.entries.some((e) => e.type === 'adjudication.recorded' && e.actor === tab.officer));
});
