// The photo check (issue 25) on the running van (`lfr run`, real mosquitto, real RTSP camera, real
// models, SQLite), driven from the tablet page in headless Chromium with a FAKE CAMERA: Chromium's
// --use-file-for-fake-video-capture plays a Y4M file made here from the MIT demo photos of
// @vladmandic/face-api (never ../shared/data).
//
// The camera shows the watchlisted woman (enrolled from demo photo 1) in demo photo 3; once her
// alert is on the officer's card:
//   (a) the tablet's camera sees a crop of HER face from photo 3 -> "same person likely";
//   (b) the tablet's camera sees a face from photo 5 (not on the list) -> "not supported", and the
//       officer's decision cites that check (the audit records its outcome with the decision);
//   (c) bad input is refused plainly, audited, nothing kept: not a JPEG, a JPEG with no face, a
//       photo with three faces, too large, an unknown alert, over the rate limit, and after the
//       deployment ended (an alert of a deployment that is not running);
//   (d) nothing of either photo on the van: no JPEG or template in any file it wrote, no released
//       buffer that is not zero (`lfr audit buffers`); nothing in the browser's storage or profile;
//   (e) the audit holds the checks (who, which alert, outcome) and no image; the results report
//       counts them and the deployment record says the check was on.
import { readdirSync, statSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import type { ExecutionContext } from 'ava';
import type { Page } from 'playwright-core';
import { needs } from '../helpers/prereq.js';
import { Van, sleep } from '../helpers/van.js';
import { demoPhoto, demoVideo, referenceFace } from '../helpers/faces.js';
import { scanFiles } from '../helpers/forensics.js';
import { launchBrowser, type TestBrowser } from '../helpers/browser.js';
import { spkiHash } from '../helpers/tablet-env.js';
import { parseConfig } from '../../src/config/load.js';
import { configSchema } from '../../src/config/schema.js';
import { brokerPaths } from '../../src/mqtt/broker-setup.js';
import { silentLogger } from '../../src/log.js';
import { createFaceEngine } from '../../src/vision/engine.js';
import { decodeImage, decodeImageFile } from '../../src/vision/decode.js';
import { cosine } from '../../src/vision/embedder.js';
import { cropRect } from '../../src/vision/jpeg.js';
import sharp from '../../src/vision/sharp.js';

const { serial } = needs(['mosquitto', 'rtsp', 'chromium', 'models', 'demo-photos']);

/** Every face of a demo photo that passes the enrolment gate, as a JPEG crop (35 % margin), and the reference's embedding: one engine. */
async function testPhotos(reference: Buffer): Promise<{ crops: (n: number) => Promise<Array<{ jpeg: Buffer; embedding: Float32Array }>>; refVec: Float32Array; close(): Promise<void> }> {
  const cfg = parseConfig({});
  const engine = await createFaceEngine(cfg, silentLogger());
  const ref = await decodeImage(reference);
  const refVec = await engine.embed(engine.analyse(ref, (await engine.detect(ref))[0]!, cfg.quality.enrolment).aligned);
  return {
    refVec,
    close: () => engine.close(),
    async crops(n) {
      const img = await decodeImageFile(demoPhoto(n));
      const out = [];
      for (const d of await engine.detect(img)) {
        const f = engine.analyse(img, d, { ...cfg.quality.enrolment, minSharpness: 0 });
        if (!f.quality.ok) continue;
        const r = cropRect(img, d.box, 0.35);
        const jpeg = await sharp(img.data, { raw: { width: img.width, height: img.height, channels: 3 } }).extract(r).resize({ width: 400 }).jpeg({ quality: 92 }).toBuffer();
        out.push({ jpeg, embedding: await engine.embed(f.aligned) });
      }
      return out;
    },
  };
}

/** A Y4M clip (Chromium's fake camera format): the photo centred on grey, 640x480, 4:2:0, two frames. */
async function y4m(jpeg: Buffer, file: string): Promise<string> {
  const W = 640, H = 480;
  const { data } = await sharp(jpeg).resize({ width: W, height: H, fit: 'contain', background: { r: 128, g: 128, b: 128 } }).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  const y = Buffer.alloc(W * H), u = Buffer.alloc((W / 2) * (H / 2)), v = Buffer.alloc((W / 2) * (H / 2));
  for (let i = 0; i < W * H; i++) {
    const r = data[i * 3]!, g = data[i * 3 + 1]!, b = data[i * 3 + 2]!;
    y[i] = Math.round(0.299 * r + 0.587 * g + 0.114 * b);
  }
  for (let j = 0; j < H / 2; j++) {
    for (let i = 0; i < W / 2; i++) {
      const p = ((2 * j) * W + 2 * i) * 3;
      const r = data[p]!, g = data[p + 1]!, b = data[p + 2]!;
      u[j * (W / 2) + i] = Math.max(0, Math.min(255, Math.round(128 - 0.168736 * r - 0.331264 * g + 0.5 * b)));
      v[j * (W / 2) + i] = Math.max(0, Math.min(255, Math.round(128 + 0.5 * r - 0.418688 * g - 0.081312 * b)));
    }
  }
  const frame = Buffer.concat([Buffer.from('FRAME\n'), y, u, v]);
  writeFileSync(file, Buffer.concat([Buffer.from(`YUV4MPEG2 W${W} H${H} F30:1 Ip A1:1 C420jpeg\n`), frame, frame]));
  return file;
}

/** The tablet page with a fake camera playing `video`, signed in as the van's officer. */
async function tabletWithCamera(t: ExecutionContext, van: Van, video: string): Promise<{ page: Page; browser: TestBrowser }> {
  const cfg = configSchema.parse(van.config);
  const browser = await launchBrowser({
    spkiHashes: [await spkiHash(cfg.tablet.certFile), await spkiHash(brokerPaths(cfg).certFile)],
    args: ['--use-fake-ui-for-media-stream', '--use-fake-device-for-media-stream', `--use-file-for-fake-video-capture=${video}`],
  });
  t.teardown(() => browser.close());
  const page = await browser.context.newPage();
  await page.goto(`https://127.0.0.1:${van.tabletPort}/`);
  await page.fill('#officer', van.broker!.tablet.user);
  await page.fill('#password', van.broker!.tablet.password);
  await page.click('#signin');
  await page.waitForSelector('#conn[data-state="connected"]', { timeout: 20_000 });
  return { page, browser };
}

/** Take one photo on the card's "Check with a photo" and wait for the van's answer. */
async function checkOnCard(page: Page, key: string): Promise<{ state: string; text: string }> {
  const card = page.locator(`li.alert[data-key="${key}"]`);
  // A new check: forget the previous answer's state on the card.
  await page.evaluate(`document.querySelector('li.alert[data-key="${key}"]')?.removeAttribute('data-photo-check')`);
  await card.locator('.photo-check-open:not([disabled])').waitFor({ timeout: 30_000 });
  await card.locator('.photo-check-open').click();
  // The fake camera's first frames: wait until the video has a picture before taking it.
  for (const t0 = Date.now(); !(await page.evaluate(`(document.querySelector('.photo-check-dialog video')?.videoWidth ?? 0) > 0`)); await sleep(100)) {
    if (Date.now() - t0 > 15_000) throw new Error('the fake camera gave no picture');
  }
  await sleep(300);
  await page.click('.photo-check-take');
  await page.locator(`li.alert[data-key="${key}"][data-photo-check]:not([data-photo-check="sending"])`).waitFor({ timeout: 60_000 });
  const state = (await card.getAttribute('data-photo-check')) ?? '';
  return { state, text: (await card.locator('.photo-check-result').textContent()) ?? '' };
}

/** What Chromium keeps for the origin: web storage, caches, IndexedDB; and leftover canvases/videos. */
async function browserHolds(page: Page): Promise<string[]> {
  return page.evaluate(`(async () => {
    const out = [];
    // The one thing a tablet keeps on purpose: the van's signed audit heads (web/tablet/audit-heads.js,
    // the witness of issue 21), numbers and signatures only. Anything else, or a head entry with
    // any other field or shape, is something of the page kept.
    const heads = (() => { try { return JSON.parse(localStorage.getItem('lfr.auditHeads') ?? '[]'); } catch { return null; } })();
    const headsOk = Array.isArray(heads) && heads.every((h) => Object.keys(h).sort().join() === 'keyId,seenAt,signedAt,value' && /^\\d{1,15}:[0-9a-f]{64}:[A-Za-z0-9_-]{80,90}$/.test(h.value));
    if (Object.keys(localStorage).some((k) => k !== 'lfr.auditHeads') || !headsOk) out.push('localStorage');
    if (sessionStorage.length) out.push('sessionStorage');
    if ((await caches.keys()).length) out.push('CacheStorage');
    if (indexedDB.databases && (await indexedDB.databases()).length) out.push('IndexedDB');
    if (document.querySelectorAll('canvas, video').length) out.push('canvas or video element');
    return out;
  })()`);
}

function profileFiles(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string): void => {
    for (const e of readdirSync(d)) {
      const p = path.join(d, e);
      const st = statSync(p, { throwIfNoEntry: false });
      if (st?.isDirectory()) walk(p);
      else if (st?.isFile()) out.push(p);
    }
  };
  walk(dir);
  return out;
}

/** POST a photo to the van as the officer (what a tablet, or a misbehaving client, sends). */
function postPhoto(van: Van, alertId: string, body: Buffer, type = 'image/jpeg'): Promise<{ status: number; body: Record<string, unknown>; headers: Record<string, unknown> }> {
  const b = van.broker!;
  return new Promise((resolve, reject) => {
    const req = https.request(
      { host: '127.0.0.1', port: van.tabletPort, method: 'POST', path: `/api/alerts/${alertId}/photo-check`, ca: readFileSync(b.caFile), headers: { Authorization: `Basic ${Buffer.from(`${b.tablet.user}:${b.tablet.password}`).toString('base64')}`, 'Content-Type': type, 'Content-Length': body.length } },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (d: Buffer) => chunks.push(d));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let parsed: Record<string, unknown>;
          try {
            parsed = JSON.parse(text) as Record<string, unknown>;
          } catch {
            parsed = { text };
          }
          resolve({ status: res.statusCode ?? 0, body: parsed, headers: res.headers });
        });
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

/** Stage times on stderr (ava prints t.log only when a test ends; a timed-out run shows nothing). */
const t00 = Date.now();
const stage = (what: string): void => void (process.env.LFR_TEST_STAGES && process.stderr.write(`[photo-check ${((Date.now() - t00) / 1000).toFixed(1)} s] ${what}\n`));

serial('photo check on the running van: same person likely / not supported from a fake tablet camera, bad input refused, nothing kept, audited, counted', async (t) => {
  const MAX_BYTES = 1_500_000;
  const PER_MINUTE = 12;
  const video = await demoVideo('photo-check', [['black', 1], [3, 4], ['black', 1], [5, 4]]);
  const van = await Van.create(t, {
    cameras: [{ name: 'north-1', video }],
    tablet: true,
    config: { tablet: { photoCheck: { enabled: true, maxPhotoBytes: MAX_BYTES, maxPerOfficerPerMinute: PER_MINUTE } } },
  });
  const reference = await referenceFace(1);
  const bundle = await van.buildBundle([{ ref: 'WL-CHECK-1', category: 'wanted', images: [reference] }]);
  // The two photos for the tablet's camera: her face cut from photo 3 (not the enrolment photo),
  // and the face from photo 5 least like her.
  const photos = await testPhotos(reference);
  const refVec = photos.refVec;
  const hers = (await photos.crops(3)).sort((a, b) => cosine(b.embedding, refVec) - cosine(a.embedding, refVec))[0]!;
  const other = (await photos.crops(5)).sort((a, b) => cosine(a.embedding, refVec) - cosine(b.embedding, refVec))[0]!;
  await photos.close();
  t.log(`test photos against the reference: hers ${cosine(hers.embedding, refVec).toFixed(3)}, other ${cosine(other.embedding, refVec).toFixed(3)}`);
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'lfr-fakecam-'));
  t.teardown(() => rmSync(tmp, { recursive: true, force: true }));
  // One fake camera file: Chromium opens it each time the page asks for the camera (the page
  // stops the camera after every photo), so the test swaps what it shows between the two checks.
  const camera = await y4m(hers.jpeg, path.join(tmp, 'camera.y4m'));

  stage('test photos ready');
  const feed = await van.alertFeed(t);
  await van.start();
  stage('van running');
  await van.startDeployment(['--watchlist', bundle]);
  for (const t0 = Date.now(); feed.alerts.length === 0; await sleep(100)) {
    if (Date.now() - t0 > 60_000) return t.fail(`no alert within 60 s; log: ${van.log().slice(-2000)}`);
  }
  const alertId = feed.alerts[0]!.alertId as string;
  stage('alert');

  // (a) her photo from the tablet's camera.
  const { page, browser } = await tabletWithCamera(t, van, camera);
  await page.locator('li.alert[data-key="WL-CHECK-1"] img.face').waitFor({ timeout: 20_000 });
  const same = await checkOnCard(page, 'WL-CHECK-1');
  t.log(`her photo: ${same.text}`);
  t.is(same.state, 'same_person_likely', same.text);
  t.regex(same.text, /same person likely/);
  t.deepEqual(await browserHolds(page), [], 'nothing of the photo kept by the page');

  stage('first check');
  // (b) someone else's photo; the officer's decision cites the check.
  await y4m(other.jpeg, camera);
  const not = await checkOnCard(page, 'WL-CHECK-1');
  t.log(`other photo: ${not.text}`);
  t.is(not.state, 'not_supported', not.text);
  t.regex(not.text, /not supported/);
  t.deepEqual(await browserHolds(page), [], 'nothing of the photo kept by the page');
  await page.locator('li.alert[data-key="WL-CHECK-1"] .d-false').click();
  await page.locator('li.alert[data-key="WL-CHECK-1"][data-stage="done"]').waitFor({ timeout: 20_000 });
  await page.close();
  // The profile (cache, storage, everything Chromium wrote) holds no JPEG of either photo.
  t.deepEqual(scanFiles(profileFiles(browser.profileDir)).filter((f) => f.what.startsWith('JPEG')), [], 'no JPEG in the browser profile');
  await browser.close();

  stage('second check');
  // (c) bad input, refused plainly.
  const notJpeg = await postPhoto(van, alertId, await sharp(hers.jpeg).png().toBuffer());
  t.is(notJpeg.status, 415);
  t.regex(String(notJpeg.body.refused), /not a JPEG/);
  const wrongType = await postPhoto(van, alertId, hers.jpeg, 'image/png');
  t.is(wrongType.status, 415);
  const noFace = await postPhoto(van, alertId, await sharp({ create: { width: 640, height: 480, channels: 3, background: { r: 90, g: 90, b: 90 } } }).jpeg().toBuffer());
  t.is(noFace.status, 422);
  t.is(noFace.body.verdict, 'photo_unusable');
  t.regex(String(noFace.body.text), /photo unusable: no face found/);
  const group = await sharp(demoPhoto(3)).resize({ width: 1280 }).jpeg({ quality: 85 }).toBuffer();
  const threeFaces = await postPhoto(van, alertId, group);
  t.is(threeFaces.status, 422);
  t.regex(String(threeFaces.body.text), /more than one face/);
  const huge = await postPhoto(van, alertId, Buffer.concat([hers.jpeg, Buffer.alloc(MAX_BYTES)]));
  t.is(huge.status, 413);
  t.regex(String(huge.body.refused), /too large/);
  // A damaged photo: a JPEG's first bytes, then noise. Refused plainly, nothing decoded.
  const damaged = await postPhoto(van, alertId, Buffer.concat([hers.jpeg.subarray(0, 20), randomBytes(20_000)]));
  t.is(damaged.status, 422, JSON.stringify(damaged.body));
  t.regex(String(damaged.body.refused), /could not be read/);
  const unknown = await postPhoto(van, '0000000aa-0123456789abcdef', hers.jpeg);
  t.is(unknown.status, 404);
  let limited = null;
  for (let i = 0; i <= PER_MINUTE && !limited; i++) {
    const r = await postPhoto(van, alertId, Buffer.from('x'));
    if (r.status === 429) limited = r;
  }
  t.truthy(limited, 'the rate limit refuses further checks');
  t.regex(String(limited!.body.refused), /too many photo checks/);
  t.truthy(limited!.headers['retry-after']);

  stage('bad input');
  // (e) the deployment ends: its alerts cannot be checked any more; the report counts the checks.
  await van.endDeployment();
  const ended = await postPhoto(van, alertId, hers.jpeg);
  t.is(ended.status, 403);
  t.regex(String(ended.body.refused), /not of the running deployment/);

  stage('ended');
  // (d) nothing of either photo on the van.
  await sleep(500);
  const buffers = await van.cliJson<{ ok: boolean; releasedNotZero: number; pools: Array<{ thread: string; pool: string; acquired: number; releasedNotZero: number }> }>(['audit', 'buffers']);
  t.is(buffers.releasedNotZero, 0, JSON.stringify(buffers.pools.filter((p) => p.releasedNotZero > 0)));
  const station = path.join(van.dir, 'station');
  const written = van.filesWritten().filter((f) => !f.startsWith(station) && !f.startsWith(tmp) && !f.includes(`${path.sep}tls${path.sep}`) && !f.endsWith('.pass') && !f.endsWith('.pub') && !f.endsWith('.key'));
  const needles = [hers.jpeg, other.jpeg, group].map((b, i) => ({ what: `test photo ${i}`, bytes: b.subarray(Math.floor(b.length / 2), Math.floor(b.length / 2) + 64) }));
  t.deepEqual(scanFiles(written, needles), [], 'no photo, image or template in any file the van wrote');

  // (e) the audit: who checked which alert and the outcome; no image.
  const audit = await van.cliJson<{ entries: Array<{ type: string; actor: string | null; fields: Record<string, unknown> }> }>(['audit', 'show', '--limit', '500']);
  const made = audit.entries.filter((e) => e.type === 'photo_check.made');
  const outcomes = made.map((e) => e.fields.outcome).sort();
  t.deepEqual(outcomes, ['not_supported', 'photo_unusable', 'photo_unusable', 'same_person_likely']);
  t.true(made.every((e) => e.actor === van.broker!.tablet.user && e.fields.alertId === alertId));
  t.true(audit.entries.filter((e) => e.type === 'photo_check.refused').length >= 6);
  t.true(audit.entries.every((e) => Object.values(e.fields).every((v) => typeof v !== 'string' || (v.length < 512 && !v.includes('/9j/')))), 'no image in the audit');
  const decision = audit.entries.find((e) => e.type === 'adjudication.recorded' && e.fields.alertId === alertId);
  t.is(decision?.fields.photoCheckOutcome, 'not_supported', 'the decision cites the check');
  const report = await van.cliJson<{ photoChecks: Record<string, unknown> }>(['deployment', 'report']);
  t.deepEqual(report.photoChecks, { enabled: true, made: 4, sameLikely: 1, notSupported: 1, unusable: 2, decisionsCitingACheck: 1 });
  const list = await van.cliJson<{ deployments: Array<{ photoCheck?: { enabled: boolean; threshold: number } }> }>(['deployment', 'list']);
  t.is(list.deployments[0]?.photoCheck?.enabled, true, 'the deployment record says the check was on');
});
