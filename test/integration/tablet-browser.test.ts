// The officer tablet page in a real headless Chromium, against a real mosquitto (TLS + WebSocket
// over TLS), served by the real TabletServer. One browser for the whole file: launching Chromium
// costs seconds on a 2-core box, so the steps run in order in one test, each asserted.
import test from 'ava';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import sharp from 'sharp';
import { TabletServer } from '../../src/tablet/server.js';
import { chromiumAvailable, launchBrowser, type TestBrowser } from '../helpers/browser.js';
import { TestMosquitto } from '../helpers/mosquitto.js';
import { CutSwitch, spkiHash } from '../helpers/tablet-env.js';
import { TestVan } from '../helpers/tablet-van.js';
import { requirePrereqs } from '../helpers/prereq.js';


/** A drawn cartoon face (no real person's image belongs in a test or a screenshot), 112 px JPEG. */
async function jpeg(skin: string, hair: string, bg: string): Promise<Buffer> {
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="112" height="112">
    <rect width="112" height="112" fill="${bg}"/>
    <ellipse cx="56" cy="60" rx="32" ry="40" fill="${skin}"/>
    <path d="M24 50 Q56 0 88 50 Q80 24 56 22 Q32 24 24 50Z" fill="${hair}"/>
    <ellipse cx="43" cy="58" rx="5" ry="3.5" fill="#222"/><ellipse cx="69" cy="58" rx="5" ry="3.5" fill="#222"/>
    <path d="M56 62 L52 76 L60 76" stroke="#7a5a44" stroke-width="2" fill="none"/>
    <path d="M45 86 Q56 92 67 86" stroke="#6b2b2b" stroke-width="3" fill="none"/></svg>`;
  return sharp(Buffer.from(svg)).jpeg({ quality: 85 }).toBuffer();
}

test('tablet: alert with both images, one decision acknowledged, missed alerts after a cut, broker restart, expiry, nothing stored', async (t) => {
  requirePrereqs(['chromium']);
  t.timeout(150_000);
  // The project's own broker config, certificate and user scripts (config/mosquitto, scripts/).
  const broker = await new TestMosquitto().setup();
  const certFile = path.join(broker.dir, 'tls/broker.crt');
  const keyFile = path.join(broker.dir, 'tls/broker.key');
  const OFFICER = broker.tablet.user;
  const cutSwitch = new CutSwitch(broker.wsPort);
  await cutSwitch.start();
  const log = pino({ level: 'silent' });
  const server = new TabletServer({ host: '127.0.0.1', port: 0, certFile, keyFile, vanId: 'van-7', topicPrefix: 'lfr', brokerWsPort: cutSwitch.port, log });
  await server.start(new AbortController().signal);
  const vanDir = await mkdtemp(path.join(os.tmpdir(), 'lfr-tablet-van-'));
  // Retention of 1 h: an alert captured 59:56 ago expires 4 s from now (step 7).
  const van = new TestVan({ dir: vanDir, url: broker.url, caFile: broker.caFile, username: broker.daemon.user, passwordFile: path.join(broker.dir, 'daemon.pass'), vanId: 'van-7', retentionHours: 1 });
  const HOUR = 3_600_000;
  await van.start();
  let browser: TestBrowser | null = null;
  t.teardown(async () => {
    await browser?.close();
    await van.stop();
    await server.stop();
    await cutSwitch.stop();
    await broker.cleanup();
    await rm(vanDir, { recursive: true, force: true });
  });

  browser = await launchBrowser({ spkiHashes: [await spkiHash(certFile)] });
  const page = await browser.context.newPage();
  const pageErrors: string[] = [];
  page.on('pageerror', (e) => pageErrors.push(e.message));
  page.on('console', (m) => {
    if (m.type() === 'error') pageErrors.push(m.text());
  });
  // Count vibrations (the new-alert signal) to prove a re-delivered alert does not buzz again.
  await page.addInitScript(`Object.defineProperty(navigator, 'vibrate', { value: () => { window.__buzz = (window.__buzz || 0) + 1; return true; } });`);
  const res = await page.goto(`https://127.0.0.1:${server.port}/`);
  t.is(res?.status(), 200);
  t.is(res?.headers()['cache-control'], 'no-store');
  t.regex(res?.headers()['content-security-policy'] ?? '', /img-src data:/);

  // A wrong password is refused plainly, and the form stays for another try.
  await page.fill('#officer', OFFICER);
  await page.fill('#password', 'not the password');
  await page.click('#signin');
  await page.waitForSelector('#conn[data-state="refused"]', { timeout: 15_000 });
  t.regex((await page.textContent('#login-error')) ?? '', /refused this officer ID or password/);
  t.true(await page.isVisible('#login'));

  // Sign in with the officer's own broker credentials.
  await page.fill('#officer', OFFICER);
  await page.fill('#password', broker.tablet.password);
  await page.click('#signin');
  await page.waitForSelector('#conn[data-state="connected"]', { timeout: 15_000 });
  await page.waitForSelector('#van[data-state="online"]', { timeout: 10_000 });
  t.is(await page.inputValue('#password'), '', 'the password does not stay in the DOM');
  t.false(await page.isVisible('#login'), 'the sign-in form goes away once connected');

  // 1. An alert appears with both images, score and threshold, camera, category, countdown.
  const [face, ref] = await Promise.all([jpeg('#c98f6b', '#3b2a1e', '#7d8a96'), jpeg('#e0b090', '#5a3a20', '#dfe6ee')]);
  const now = Date.now();
  const a1 = await van.raise({ camera: 'cam-north', category: 'wanted', score: 0.712, threshold: 0.6, faceJpeg: face, referenceJpeg: ref, capturedAt: now - 5000 });
  const card1 = page.locator(`li.alert[data-alert-id="${a1}"]`);
  await card1.waitFor({ timeout: 10_000 });
  const sizes = await card1.locator('img').evaluateAll((imgs) => imgs.map((i: any) => [i.naturalWidth, String(i.src).slice(0, 23)]));
  t.deepEqual(sizes, [[112, 'data:image/jpeg;base64,'], [112, 'data:image/jpeg;base64,']]);
  t.is(await card1.locator('.score').textContent(), '0.712 (threshold 0.600)');
  t.is(await card1.locator('.camera').textContent(), 'cam-north');
  t.is(await card1.locator('.category').textContent(), 'wanted');
  t.regex((await card1.locator('.countdown').textContent()) ?? '', /^59 min/);

  // A newer alert goes on top.
  const a2 = await van.raise({ camera: 'cam-south', category: 'missing', score: 0.65, threshold: 0.6, faceJpeg: face, referenceJpeg: ref, capturedAt: now - 1000 });
  await page.locator(`li.alert[data-alert-id="${a2}"]`).waitFor({ timeout: 10_000 });
  t.deepEqual(await page.locator('li.alert').evaluateAll((els) => els.map((e: any) => e.dataset.alertId as string)), [a2, a1]);

  // 2. A decision reaches the van, the acknowledgement is shown, and it cannot be sent twice.
  await card1.locator('button[data-outcome="false_alert"]').click();
  await page.waitForSelector(`li.alert[data-alert-id="${a1}"][data-decision="acked"]`, { timeout: 10_000 });
  t.regex((await card1.locator('.decision').textContent()) ?? '', new RegExp(`Recorded by the van: False alert by ${OFFICER}`));
  t.true(await card1.locator('button[data-outcome="confirmed_match"]').isDisabled());
  await card1.locator('button[data-outcome="confirmed_match"]').click({ force: true }).catch(() => undefined);
  await page.evaluate(() => new Promise((r) => setTimeout(r, 500)));
  // The screenshot in docs/: a new alert on top, the decided one below it.
  await page.evaluate('window.scrollTo(0, 0)');
  const shot = process.env.LFR_TABLET_SCREENSHOT;
  if (shot) {
    await page.screenshot({ path: shot, fullPage: false });
    await page.setViewportSize({ width: 800, height: 1280 }); // a tablet held upright
    await page.screenshot({ path: shot.replace(/\.png$/, '-portrait.png'), fullPage: false });
    await page.setViewportSize({ width: 1280, height: 900 });
  }
  // The daemon recorded it once, in its hash-chained audit trail, with the officer as actor.
  const recorded = van.entries('adjudication.recorded').filter((e) => e.fields.alertId === a1);
  t.is(recorded.length, 1, 'exactly one decision recorded for the alert');
  t.like(recorded[0], { actor: OFFICER, fields: { alertId: a1, outcome: 'false_alert' } });
  t.is(van.entries('adjudication.rejected').length, 0, 'the second tap never left the tablet');
  t.true(van.audit.verify().ok);

  // 3. The tablet's link drops: state shows reconnecting; an alert sent meanwhile arrives after
  // the reconnect (persistent session, QoS 1), and nothing shown earlier is duplicated.
  cutSwitch.disconnect();
  await page.waitForSelector('#conn[data-state="reconnecting"]', { timeout: 15_000 });
  t.is(await page.getAttribute('#van', 'data-state'), 'unknown', 'no stale van state without a link');
  const a3 = await van.raise({ camera: 'cam-east', category: 'wanted', score: 0.9, threshold: 0.6, faceJpeg: face, referenceJpeg: ref, capturedAt: Date.now() });
  await page.evaluate(() => new Promise((r) => setTimeout(r, 1000)));
  t.is(await page.locator(`li.alert[data-alert-id="${a3}"]`).count(), 0, 'not delivered while cut');
  cutSwitch.restore();
  await page.waitForSelector('#conn[data-state="connected"]', { timeout: 15_000 });
  await page.locator(`li.alert[data-alert-id="${a3}"]`).waitFor({ timeout: 10_000 });
  t.deepEqual(await page.locator('li.alert').evaluateAll((els) => els.map((e: any) => e.dataset.alertId as string)), [a3, a2, a1]);

  // 4. The van loses its link without a goodbye: VAN OFFLINE from its last will, then online
  // again when it reconnects; a clean daemon stop shows "Van stopped".
  van.dropLink();
  await page.waitForSelector('#van[data-state="offline"]', { timeout: 15_000 });
  await page.waitForSelector('#van[data-state="online"]', { timeout: 15_000 });
  await van.stop();
  await page.waitForSelector('#van[data-state="stopped"]', { timeout: 15_000 });
  await van.start();
  await page.waitForSelector('#van[data-state="online"]', { timeout: 15_000 });

  // 5. The broker restarts: the tablet reconnects by itself and receives the next alert.
  await broker.stop();
  await page.waitForSelector('#conn[data-state="reconnecting"]', { timeout: 15_000 });
  await broker.start();
  await page.waitForSelector('#conn[data-state="connected"]', { timeout: 20_000 });
  await van.waitConnected(20_000);
  const a4 = await van.raise({ camera: 'cam-west', category: 'wanted', score: 0.8, threshold: 0.6, faceJpeg: face, referenceJpeg: ref, capturedAt: Date.now() - HOUR + 4000 });
  const card4 = page.locator(`li.alert[data-alert-id="${a4}"]`);
  await card4.waitFor({ timeout: 15_000 });
  t.is(await page.locator('li.alert').count(), 4, 'no duplicates after the broker restart');
  await card4.locator('button[data-outcome="not_engaged"]').click();
  await page.waitForSelector(`li.alert[data-alert-id="${a4}"][data-decision="acked"]`, { timeout: 10_000 });


  // 6. At its deletion time the alert and its images leave the page.
  await card4.waitFor({ state: 'detached', timeout: 10_000 });
  t.is(await page.locator('li.alert').count(), 3);

  t.is(await page.evaluate('window.__buzz'), 4, 'one signal per new alert, none for re-deliveries');

  // 7. Nothing was stored in the browser.
  // (a string expression: the test is compiled without DOM types; this runs in the page)
  const stored = await page.evaluate(`(async () => ({
    local: localStorage.length,
    session: sessionStorage.length,
    idb: (await indexedDB.databases()).length,
    caches: (await caches.keys()).length,
    sw: (await navigator.serviceWorker.getRegistrations()).length,
    cookies: document.cookie,
  }))()`);
  t.deepEqual(stored, { local: 0, session: 0, idb: 0, caches: 0, sw: 0, cookies: '' });
  t.deepEqual(pageErrors.filter((e) => !/WebSocket connection .* failed|ERR_CONNECTION_REFUSED/.test(e)), []);
});
