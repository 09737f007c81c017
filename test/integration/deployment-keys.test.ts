// One deployment, one record (issue 20, items 1 and 5), on the real van: `lfr run`, mosquitto,
// an RTSP camera showing the same watchlisted face every 4 s, the tablet page in Chromium.
//  - deployment A: an officer (PC1001) confirms and records "arrested": later sightings of that
//    person in A are repeats (repeatOf), not new undecided alerts, and a decision on one is refused;
//    the report counts people and decisions, the repeats apart;
//  - deployment B on the same van with the same subject: an officer on B only (PC1002) cannot
//    decide A's alerts (not named: "belongs to deployment A"; named: "ended and not on it"), cannot
//    list or read them over HTTPS; refusals audited; A's report is unchanged;
//  - the tablet of an officer who was on both shows B's cards live and A's cards apart, read-only;
//    held upright (800x1280) the decision buttons are on the first screen.
// LFR_PORTRAIT_SHOT=FILE keeps the portrait screenshot (real demo faces: never commit it).
import { readFileSync } from 'node:fs';
import path from 'node:path';
import os from 'node:os';
import mqtt from 'mqtt';
import { configSchema } from '../../src/config/schema.js';
import { SCHEMA, topicsFor, type AckPayload, type AlertMessage, type TabletState } from '../../src/mqtt/topics.js';
import type { DeploymentReport } from '../../src/deployment/types.js';
import { demoVideo, referenceFace } from '../helpers/faces.js';
import { needs } from '../helpers/prereq.js';
import { Van } from '../helpers/van.js';
import { until } from '../helpers/alert-fixture.js';
import { newVanPage } from '../helpers/tablet-env.js';

const { serial } = needs(['mosquitto', 'rtsp', 'models', 'demo-photos', 'chromium']);

serial('two deployments, one subject: nothing decided, listed or grouped across them; an arrested person stays closed', async (t) => {
  t.timeout(600_000);
  const video = await demoVideo('keys', [['black', 2], [1, 2]]);
  const van = await Van.create(t, { tablet: true, cameras: [{ name: 'north-1', video, location: 'High St' }], config: { match: { cooldownSeconds: 0 } } });
  const bundle = await van.buildBundle([{ ref: 'WL-7', category: 'wanted', reason: 'test', images: [await referenceFace(1)] }]);
  await van.start();
  const cfg = configSchema.parse(van.config);
  const T = topicsFor(cfg.mqtt.topicPrefix, cfg.van.id);
  const b = van.broker!;
  const pc1 = b.tablet; // on deployment A (and B)
  const pc2 = b.officers[1]!; // PC1002: on deployment B only
  const ca = readFileSync(cfg.mqtt.caFile!);
  const state = async (who: { user: string; password: string }) => {
    const r = await van.tabletGet('/api/state', who);
    t.is(r.status, 200, r.body);
    return JSON.parse(r.body) as TabletState;
  };
  const officer = async (who: { user: string; password: string }) => {
    const c = await mqtt.connectAsync(b.wsUrl, { ca, username: who.user, password: who.password, protocolVersion: 5, reconnectPeriod: 0 });
    t.teardown(() => c.endAsync(true));
    const alerts: AlertMessage[] = [];
    const acks: AckPayload[] = [];
    c.on('message', (topic, p) => {
      if (!p.length) return;
      if (topic.includes('/alerts/')) alerts.push(JSON.parse(p.toString()) as AlertMessage);
      if (topic.includes('/acks/')) acks.push(JSON.parse(p.toString()) as AckPayload);
    });
    await c.subscribeAsync([T.alertsWildcard, T.acksWildcard], { qos: 1 });
    const decide = (id: string, body: object) => c.publishAsync(T.adjudication(who.user, id), JSON.stringify({ schema: SCHEMA, alertId: id, decidedAt: new Date().toISOString(), ...body }), { qos: 1 });
    const answer = async (id: string, n: number) => {
      await until(() => acks.filter((a) => a.alertId === id && a.officerId === who.user).length >= n, 15_000, `answer ${n} on ${id}`);
      return acks.filter((a) => a.alertId === id && a.officerId === who.user)[n - 1]!;
    };
    return { alerts, decide, answer, end: () => c.endAsync(true) };
  };

  // The start refuses while the camera is not live: on a loaded box its first connection can
  // take a while (readiness is tested elsewhere; here the camera must simply be up).
  const cameraLive = async () => {
    for (let i = 0; i < 120; i++) {
      const st = await van.status();
      if ((st.cameras as Array<{ state: string }>).every((c) => c.state === 'live')) return;
      await new Promise((r) => setTimeout(r, 1000));
    }
    throw new Error('the camera never came live');
  };
  await cameraLive();

  // Deployment A ------------------------------------------------------------------------------
  const depA = (await van.startDeployment(['--watchlist', bundle, '--authorisation', 'AUTH-A'])).id as string;
  await state(pc1); // PC1001 signs in to the tablet while A runs: on A
  const o1 = await officer(pc1);
  await until(() => o1.alerts.some((a) => a.deploymentId === depA), 90_000, 'a first alert in A');
  const a1 = o1.alerts.find((a) => a.deploymentId === depA)!.alertId;
  await o1.decide(a1, { outcome: 'confirmed_match' });
  t.like(await o1.answer(a1, 1), { accepted: true, outcome: 'confirmed_match' });
  await o1.decide(a1, { outcome: 'confirmed_match', engagement: 'arrested' });
  t.like(await o1.answer(a1, 2), { accepted: true, engagement: 'arrested' });
  const closedAt = o1.alerts.length;
  // Later sightings of the arrested person: stored and shown, but as repeats of a1.
  await until(() => o1.alerts.length >= closedAt + 2, 60_000, 'two sightings after the arrest');
  const later = o1.alerts.slice(closedAt).map((a) => a.alertId);
  const sA = await state(pc1);
  for (const id of later) t.is(sA.alerts.find((x) => x.alertId === id)?.repeatOf, a1, `sighting ${id} folds into the arrested person's card`);
  await o1.decide(later[0]!, { outcome: 'false_alert' });
  t.regex((await o1.answer(later[0]!, 1)).reason ?? '', /already dealt with/);
  const rA = (await van.endDeployment()) as unknown as DeploymentReport;
  t.like(rA, { version: 1, confirmed: 1, falseAlerts: 0 });
  t.is(rA.engagements.arrested, 1);
  t.true((rA.repeatSightings ?? 0) >= 2, `repeats ${rA.repeatSightings}`);
  t.is(rA.undecided, rA.alerts - 1, 'only the sightings between the first alert and the arrest are undecided');
  const aUndecided = sA.alerts.filter((x) => x.deploymentId === depA && !x.decision && !x.repeatOf).map((x) => x.alertId);

  // Deployment B: same van, same subject ------------------------------------------------------
  await cameraLive();
  // The station builds a new bundle for each deployment (same subject): an ended deployment's
  // bundle is never loaded again (issue 21, van-record.ts).
  const bundleB = await van.buildBundle([{ ref: 'WL-7', category: 'wanted', reason: 'test', images: [await referenceFace(1)] }], 'watchlist-b');
  const depB = (await van.startDeployment(['--watchlist', bundleB, '--authorisation', 'AUTH-B'])).id as string;
  t.not(depB, depA);
  await state(pc2); // PC1002 signs in while B runs: on B only
  await state(pc1); // PC1001 is on B too
  const o2 = await officer(pc2);
  await until(() => o2.alerts.some((a) => a.deploymentId === depB), 90_000, 'a first alert in B');
  const b1 = o2.alerts.find((a) => a.deploymentId === depB)!.alertId;

  // PC1002 (B only) on A's alerts: refused, plainly, whatever the message says.
  const target = aUndecided[0] ?? a1;
  await o2.decide(target, { outcome: 'false_alert' });
  t.regex((await o2.answer(target, 1)).reason ?? '', new RegExp(`belongs to deployment ${depA}, not deployment ${depB}`));
  await o2.decide(target, { outcome: 'false_alert', deploymentId: depA });
  t.regex((await o2.answer(target, 2)).reason ?? '', new RegExp(`deployment ${depA} has ended and officer PC1002 was not on it`));
  await o2.decide('0000000000unknown', { outcome: 'false_alert', deploymentId: depB });
  // ... and B's own alert is decided as usual.
  await o2.decide(b1, { outcome: 'false_alert', deploymentId: depB });
  t.like(await o2.answer(b1, 1), { accepted: true, outcome: 'false_alert' });

  // A's report is untouched by anything done in B.
  const rA2 = await van.cliJson<DeploymentReport>(['deployment', 'report', depA]);
  t.like(rA2, { version: 1, confirmed: rA.confirmed, falseAlerts: rA.falseAlerts, undecided: rA.undecided, alerts: rA.alerts });
  const rejected = await van.cliJson<{ entries: Array<{ actor: string; fields: Record<string, unknown> }> }>(['audit', 'show', '--type', 'adjudication.rejected']);
  const reasons = rejected.entries.map((e) => String(e.fields.reason));
  t.true(reasons.some((r) => /belongs to deployment/.test(r)), reasons.join(' | '));
  t.true(reasons.some((r) => /has ended and officer PC1002 was not on it/.test(r)), reasons.join(' | '));
  t.true(reasons.some((r) => /unknown alert/.test(r)), reasons.join(' | '));

  // Over HTTPS: PC1002 sees B only and cannot read A's alert; PC1001 sees both.
  const s2 = await state(pc2);
  t.true(s2.alerts.length > 0);
  t.deepEqual([...new Set(s2.alerts.map((a) => a.deploymentId))], [depB]);
  t.is((await van.tabletGet(`/api/alerts/${a1}`, pc2)).status, 404);
  t.is((await van.tabletGet(`/api/alerts/${a1}`, pc1)).status, 200);
  const s1 = await state(pc1);
  t.deepEqual([...new Set(s1.alerts.map((a) => a.deploymentId))].sort(), [depA, depB].sort());

  // The tablet of PC1001, held upright: B's cards live, A's apart and read-only. PC1001's MQTT
  // session above ends first: the broker allows one session per officer account (its client id
  // is forced), so the page and that session would knock each other off and the page would miss
  // B's new sightings.
  await o1.end();
  const page = await newVanPage(t, cfg);
  await page.setViewportSize({ width: 800, height: 1280 });
  await page.goto(`https://127.0.0.1:${van.tabletPort}/`);
  await page.fill('#officer', pc1.user);
  await page.fill('#password', pc1.password);
  await page.click('#signin');
  await page.waitForSelector('#conn[data-state="connected"]', { timeout: 15_000 });
  await page.locator(`#previous li.alert[data-deployment="${depA}"]`).first().waitFor({ timeout: 30_000 });
  // New sightings in B after the false alert re-open B's card: wait for it open.
  const open = page.locator(`li.alert[data-deployment="${depB}"][data-stage="open"]`);
  try {
    await open.first().waitFor({ timeout: 60_000 });
  } catch (err) {
    // Say what the page shows instead (each card's deployment, stage and count).
    const cards = await page.evaluate(`[...document.querySelectorAll('li.alert')].map((e) => [e.parentElement?.id, e.dataset.deployment, e.dataset.stage, e.dataset.count, e.dataset.readonly].join(' ')).join(' | ')`);
    const log = van.log().split('\n').filter((l) => /alert raised|deployment (started|ended)|camera state|analysis pace|slow/.test(l)).map((l) => l.slice(0, 240));
    throw new Error(`no open card of B within 60 s: ${String(cards)}; ${(err as Error).message.split('\n')[0]}; status: ${JSON.stringify((await van.status()).analysis)}; log:\n${log.slice(-25).join('\n')}`);
  }
  t.is(await page.locator(`#previous li.alert[data-deployment="${depB}"]`).count(), 0, "B's cards are not in the ended deployment's list");
  t.is(await page.locator(`#alerts li.alert[data-deployment="${depA}"], #earlier li.alert[data-deployment="${depA}"]`).count(), 0, "A's cards are not among the live ones");
  t.is(await page.locator(`li.alert[data-key="WL-7"]`).count(), 2, 'one card per deployment for the same person');
  const prev = page.locator(`#previous li.alert[data-deployment="${depA}"]`).first();
  t.is(await prev.getAttribute('data-readonly'), 'true');
  for (const btn of await prev.locator('button').all()) t.true(await btn.isDisabled() || !(await btn.isVisible()), 'no live button on an ended deployment card');
  await page.evaluate(() => (globalThis as unknown as { scrollTo(x: number, y: number): void }).scrollTo(0, 0));
  const box = await open.first().locator('.decide button[data-outcome="false_alert"]').boundingBox();
  t.truthy(box);
  t.true(box!.y + box!.height <= 1280, `decision buttons on the first screen when upright (bottom at ${box!.y + box!.height} px)`);
  const scene = await open.first().locator('figure.scene').boundingBox();
  if (scene) t.true(scene.y > box!.y, 'the context scene comes after the buttons');
  await page.screenshot({ path: process.env.LFR_PORTRAIT_SHOT ?? path.join(os.tmpdir(), `lfr-portrait-${process.pid}.png`) });
});
