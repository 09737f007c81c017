// THE safeguards test: the promises a force makes, checked the way an auditor would, on the
// running van (`lfr run` from a config file, the one composition root), with a real mosquitto as
// the product configures it, a real RTSP camera, real SQLite files and the real models.
//
// The camera shows the watchlisted woman (enrolled from demo photo 1, shown in demo photo 3 with
// two other women beside her), then people not on the list (demo photo 5). Alerts are kept for
// a few seconds only (alerts.retentionHours), so the RUNNING daemon's retention must purge them.
//   (a) the alert reaches an officer's tablet page in headless Chromium (its content over HTTPS),
//       then the running daemon purges it: its id and ciphertext are
//       gone from the alert store and its WAL, its key is gone, the broker's data folder holds
//       nothing of it, the content API answers 404, and a tablet that signs in afterwards (a
//       new browser, and a new MQTT session) is shown and sent nothing of it;
//   (b) no file that the daemon or the broker wrote (state and runtime dirs, broker data, the
//       daemon's cwd and TMPDIR) holds a plaintext template (any run of template-like floats) or
//       any JPEG, though strangers' faces were detected and embedded;
//   (c) the context frame of the alert holds exactly one face the detector can find (bystanders
//       masked);
//   (d) the van's own frame and tensor buffers (main thread and every inference worker) are zero
//       once released (`lfr audit buffers`, the auditor's view: counts only);
//   (e) killed with SIGABRT under an unlimited core limit, the daemon leaves no core file.
import { readdirSync, existsSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import mqtt from 'mqtt';
import { readFileSync } from 'node:fs';
import { needs } from '../helpers/prereq.js';
import { Van, sleep } from '../helpers/van.js';
import { demoVideo, referenceFace } from '../helpers/faces.js';
import { scanFiles } from '../helpers/forensics.js';
import { parseConfig } from '../../src/config/load.js';
import { silentLogger } from '../../src/log.js';
import { createFaceEngine } from '../../src/vision/engine.js';
import { decodeImage } from '../../src/vision/decode.js';
import { configSchema } from '../../src/config/schema.js';
import { newVanPage } from '../helpers/tablet-env.js';
import type { Page } from 'playwright-core';
import type { ExecutionContext } from 'ava';

/**
 * The tablet page in headless Chromium, signed in with an officer's own account. The broker
 * allows one session per officer account (its client id is forced): each page and the alert feed
 * sign in as a different officer, or they knock each other off about once a second and an alert
 * can be lost between two sessions.
 */
async function tabletPage(t: ExecutionContext, van: Van, officer: { user: string; password: string }): Promise<Page> {
  const cfg = configSchema.parse(van.config);
  const page = await newVanPage(t, cfg);
  await page.goto(`https://127.0.0.1:${van.tabletPort}/`);
  await page.fill('#officer', officer.user);
  await page.fill('#password', officer.password);
  await page.click('#signin');
  await page.waitForSelector('#conn[data-state="connected"]', { timeout: 20_000 });
  return page;
}

const { serial } = needs(['mosquitto', 'rtsp', 'chromium', 'models', 'demo-photos']);

const RETENTION_S = 8;

serial('safeguards on the running van: alert purged everywhere by the running daemon, no template or image of anyone on disk, bystanders masked, no core file', async (t) => {
  const video = await demoVideo('safeguards', [['black', 1], [3, 4], ['black', 1], [5, 4]]);
  const van = await Van.create(t, {
    cameras: [{ name: 'north-1', video }],
    tablet: true,
    coreLimitUnlimited: true,
    config: {
      alerts: { retentionHours: RETENTION_S / 3600, purgeIntervalSeconds: 10 },
      // A debug log is evidence too: it must not carry faces either.
      log: { level: 'debug' },
    },
  });
  const bundle = await van.buildBundle([{ ref: 'WL-SAFE-1', category: 'wanted', images: [await referenceFace(1)] }]);
  // Three officers, one session each: the tablet page (PC1001), the alert feed (PC1002), and the
  // tablet that signs in after the purge (PC1003).
  const [officer, feedOfficer] = van.broker!.officers;
  const lateOfficer = van.broker!.addOfficer('PC1003');
  const feed = await van.alertFeed(t, feedOfficer);
  await van.start();
  // An officer's tablet, signed in before the deployment starts.
  const page = await tabletPage(t, van, officer!);
  await van.startDeployment(['--watchlist', bundle]);
  const t0 = Date.now();
  while (feed.alerts.length === 0) {
    // 60 s: the deployment's first alert came after 0.5 s on a quiet 2-core box and after 15 s with
    // another process taking a core (the inference workers run at nice 5 by design); the test is
    // about where the alert's bytes go, not how fast it comes. On failure: what analysis saw.
    if (Date.now() - t0 > 60_000) return t.fail(`no alert within 60 s; status: ${JSON.stringify(await van.status().catch((e: unknown) => String(e)))}; log: ${van.log().slice(-2000)}`);
    await sleep(100);
  }
  const alert = feed.alerts[0]!;
  const alertId = alert.alertId as string;
  t.log(`alert ${alertId} on the broker ${Date.now() - t0} ms after the deployment started`);
  // (a) ... and on the officer's screen: the card with the captured face and the watchlist image.
  const card = page.locator('li.alert[data-key="WL-SAFE-1"]');
  await card.locator('img.face').waitFor({ timeout: 20_000 });
  await page.waitForFunction(`[...document.querySelectorAll('li.alert[data-key="WL-SAFE-1"] img')].filter((i) => i.naturalWidth > 0).length >= 2`, undefined, { timeout: 20_000 });
  t.log(`alert card with both faces drawn ${Date.now() - t0} ms after the deployment started`);

  // (c) the context frame: exactly one face the detector can find, the subject's.
  const engine = await createFaceEngine(parseConfig({}), silentLogger());
  t.teardown(() => engine.close());
  // The MQTT message shows and names nobody; the content comes over HTTPS, as an officer.
  t.false('contextJpeg' in alert || 'subjectRef' in alert || 'faceJpeg' in alert, 'no image or subject in the broker message');
  const content = await van.tabletGet(`/api/alerts/${alertId}`);
  t.is(content.status, 200);
  const context = Buffer.from((JSON.parse(content.body) as { contextJpeg: string }).contextJpeg, 'base64');
  t.true(context.length > 1000, 'the alert carries a context frame');
  const faces = await engine.detect(await decodeImage(context));
  t.log(JSON.stringify(faces.map((f) => ({ box: f.box, score: f.score }))));
  t.is(faces.length, 1, `faces the detector finds in the context frame: ${faces.length}`);

  // (a) the running daemon purges the alert after RETENTION_S seconds.
  const alertsDb = path.join(van.stateDir, 'alerts.db');
  const sealed = (() => {
    const db = new Database(alertsDb, { readonly: true });
    try {
      return (db.prepare('SELECT sealed FROM alerts WHERE id = ?').get(alertId) as { sealed: Buffer } | undefined)?.sealed ?? null;
    } finally {
      db.close();
    }
  })();
  t.truthy(sealed, 'the alert was stored (sealed) before it was published');
  const cipher = sealed!.subarray(Math.floor(sealed!.length / 2), Math.floor(sealed!.length / 2) + 64);
  const t1 = Date.now();
  for (;;) {
    const list = await van.cliJson<{ alerts: Array<{ id?: string; alertId?: string }> }>(['alerts', 'list']);
    if (!list.alerts.some((a) => (a.id ?? a.alertId) === alertId)) break;
    if (Date.now() - t1 > (RETENTION_S + 20) * 1000) return t.fail('the running daemon did not purge the alert');
    await sleep(500);
  }
  t.log(`purged by the running daemon ${((Date.now() - t0) / 1000).toFixed(1)} s after the deployment started (retention ${RETENTION_S} s)`);
  const storeFiles = readdirSync(van.stateDir).filter((f) => f.startsWith('alerts.db')).map((f) => path.join(van.stateDir, f));
  const brokerFiles = van.filesWritten().filter((f) => f.startsWith(van.broker!.dir) && !f.includes(`${path.sep}tls${path.sep}`));
  const gone = scanFiles([...storeFiles, ...brokerFiles], [
    { what: 'the alert id', bytes: Buffer.from(alertId) },
    { what: 'the alert ciphertext', bytes: cipher },
  ]);
  t.deepEqual(gone, [], 'nothing of the purged alert in the alert store, its WAL or the broker');
  const keyDir = path.join(van.runtimeDir, 'alert-keys');
  t.false(existsSync(keyDir) && readdirSync(keyDir).some((f) => f.includes(alertId)), 'the alert key is destroyed');
  t.deepEqual(await van.tabletGet(`/api/alerts/${alertId}`), { status: 404, body: 'not found' }, 'the tablet page no longer has it');
  // The officer's screen dropped the card's images at the alert's expiry; a tablet signing in
  // now (a new browser, a new session) is shown nothing of it.
  // Polled from here: waitForFunction compiles its predicate with eval inside the page, which the
  // page's CSP (script-src 'self') refuses as soon as it has to poll.
  const shown = (): Promise<boolean> => page.evaluate(`[...document.querySelectorAll('li.alert img')].some((i) => i.src.startsWith('data:image'))`);
  for (const t2 = Date.now(); await shown(); await sleep(250)) if (Date.now() - t2 > 15_000) return t.fail('the purged alert\'s images are still on the officer\'s screen');
  const latePage = await tabletPage(t, van, lateOfficer);
  await sleep(3000);
  t.is(await latePage.locator('li.alert').count(), 0, 'a tablet signing in after the purge shows no card');
  t.false((await latePage.content()).includes('WL-SAFE-1'));
  // The first page's officer signs in again on a new MQTT session: close the pages first, or
  // their reconnects and this session take the officer's forced client id from each other.
  await latePage.close();
  await page.close();
  const late = await mqtt.connectAsync(van.broker!.wsUrl, { username: officer!.user, password: officer!.password, ca: readFileSync(van.broker!.caFile), clientId: `late-${Date.now()}`, clean: false });
  t.teardown(() => late.endAsync(true));
  const lateMsgs: string[] = [];
  late.on('message', (topic, payload) => lateMsgs.push(`${topic} ${payload.toString().slice(0, 200)}`));
  await late.subscribeAsync(['lfr/van-test/alerts/+', 'lfr/van-test/acks/+', 'lfr/van-test/status'], { qos: 1 });
  await sleep(2000);
  t.deepEqual(lateMsgs.filter((m) => m.includes(alertId)), [], 'a tablet signing in after the purge gets nothing of the alert');

  // (b) strangers were detected and embedded, and nothing of them reached a file.
  await sleep(6000); // the strangers' photo loops through
  const st = await van.status();
  const analysis = st.analysis as { facesAnalysed: number; embedded: number };
  t.true(analysis.embedded >= 3, `faces embedded and searched: ${analysis.embedded}`);
  await van.endDeployment();

  // (d) every released frame and tensor buffer is zero.
  await sleep(500);
  const buffers = await van.cliJson<{ ok: boolean; releasedNotZero: number; pools: Array<{ thread: string; pool: string; acquired: number; released: number; releasedNotZero: number }> }>(['audit', 'buffers']);
  t.true(buffers.ok);
  t.is(buffers.releasedNotZero, 0, JSON.stringify(buffers.pools.filter((p) => p.releasedNotZero > 0)));
  for (const pool of ['frame', 'detector-input', 'aligned', 'embedder-input']) {
    t.true(buffers.pools.some((p) => p.pool === pool && p.acquired > 0), `the ${pool} buffers were used and audited`);
  }
  const station = path.join(van.dir, 'station');
  const written = van.filesWritten().filter((f) => !f.startsWith(station) && !f.includes(`${path.sep}tls${path.sep}`) && !f.endsWith('.pass') && !f.endsWith('.pub') && !f.endsWith('.key'));
  t.true(written.some((f) => f.endsWith('audit.db')) && written.some((f) => f.startsWith(van.broker!.dir)), written.join(', '));
  t.deepEqual(scanFiles(written), [], 'no template and no image in any file the van wrote');
  t.false(van.log().includes('WL-SAFE-1'), 'the subject reference never reaches the log');
  t.deepEqual(scanFiles([]), []);

  // (e) a crash leaves no core file, whatever the core limit the daemon was started with.
  const r = await van.stop('SIGABRT');
  t.is(r.signal ?? 'SIGABRT', 'SIGABRT');
  const cores = van.filesWritten().filter((f) => /(^|\/)core(\.\d+)?$/.test(f));
  t.deepEqual(cores, [], 'no core file');
});
