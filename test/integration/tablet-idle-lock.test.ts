// The tablet page locks itself (issue 21, Low L11: "the tablet page never locks itself"), on the
// RUNNING VAN: `lfr run` with a real mosquitto, a real RTSP camera raising a real alert, the page
// served by the daemon in headless Chromium, `tablet.idleLockMinutes: 1` (the shortest setting).
//
//  1. the officer signs in and the alert card shows its content (subject, faces, reason);
//  2. untouched, the page is still open well before the idle time (no early lock);
//  3. after the idle time the page has signed itself out: the sign-in form is back, no alert card,
//     no subject reference, reason, face or officer ID anywhere in the DOM, nothing stored in the
//     browser, and the van's API answers the page 401 until the officer signs in again;
//  4. signing in again brings the card back (the lock, not a broken page).
// Nothing is audited: the lock happens in the browser (docs/security-review-21.md, L11).
import { sleep, Van } from '../helpers/van.js';
import { newVanPage } from '../helpers/tablet-env.js';
import { demoVideo, referenceFace } from '../helpers/faces.js';
import { needs } from '../helpers/prereq.js';
import { configSchema } from '../../src/config/schema.js';

const { serial } = needs(['mosquitto', 'rtsp', 'chromium', 'models', 'demo-photos']);

const REF = 'WL-IDLE-7';
const REASON = 'Wanted on warrant (IDLE LOCK TEST ONLY).';
const IDLE_MS = 60_000; // tablet.idleLockMinutes: 1
/** The page checks its idle clock every second (web/tablet/app.js TICK_MS); a loaded box is slower. */
const SLACK_MS = 15_000;

serial('the tablet page locks itself after the idle time: alert content gone from the DOM, sign-in needed again', async (t) => {
  t.timeout(300_000);
  const video = await demoVideo('tablet-idle', [['black', 1], [1, 3]]);
  const van = await Van.create(t, { cameras: [{ name: 'north-1', video }], tablet: true, config: { tablet: { idleLockMinutes: 1 } } });
  const bundle = await van.buildBundle([{ ref: REF, category: 'wanted', reason: REASON, images: [await referenceFace(1)] }]);
  await van.start();
  await van.startDeployment(['--watchlist', bundle]);
  await van.waitLog(/"alert raised"/, 120_000, 'an alert for the card');
  await van.rtsp[0]!.kill(); // one card is enough; a quiet camera keeps this box free

  const cfg = configSchema.parse(van.config);
  t.is(cfg.tablet.idleLockMinutes, 1);
  const officer = van.broker!.tablet;
  const page = await newVanPage(t, cfg);
  const pageErrors: string[] = [];
  page.on('pageerror', (e) => pageErrors.push(e.message));
  const signIn = async (): Promise<number> => {
    await page.fill('#officer', officer.user);
    await page.fill('#password', officer.password);
    const at = Date.now();
    await page.click('#signin'); // the last touch: the idle clock runs from here
    await page.waitForSelector('#conn[data-state="connected"]', { timeout: 20_000 });
    return at;
  };
  const card = page.locator(`li.alert[data-key="${REF}"]`);
  const cardShown = async (): Promise<void> => {
    await card.waitFor({ timeout: 20_000 });
    await page.waitForFunction(() => [...(globalThis as any).document.querySelectorAll('li.alert img')].some((i: any) => i.naturalWidth > 0), undefined, { timeout: 20_000 });
  };

  // 1. Signed in, the card with its content.
  t.is((await page.goto(`https://127.0.0.1:${van.tabletPort}/`))?.status(), 200);
  const touched = await signIn();
  await cardShown();
  t.is(await card.locator('.subject').textContent(), REF);
  t.is(await card.locator('.reason').textContent(), REASON);

  // 2. Untouched, still open at three quarters of the idle time.
  await sleep(Math.max(0, touched + IDLE_MS * 0.75 - Date.now()));
  t.true(await page.isHidden('#login'), 'not locked before the idle time');
  t.is(await card.locator('.subject').textContent(), REF);

  // 3. Locked: the page signed itself out (and reloaded).
  await page.waitForSelector('#login:not([hidden])', { timeout: IDLE_MS + SLACK_MS });
  const lockedAfter = Date.now() - touched;
  t.true(lockedAfter >= IDLE_MS, `locked ${lockedAfter} ms after the last touch`);
  t.true(lockedAfter <= IDLE_MS + SLACK_MS, `locked ${lockedAfter} ms after the last touch`);
  t.log(`locked ${(lockedAfter / 1000).toFixed(1)} s after the last touch (idle setting 60 s)`);
  await page.waitForLoadState('load');
  t.true(await page.isHidden('#main'), 'the alert list is hidden');
  t.is(await page.getAttribute('#conn', 'data-state'), 'signed-out');
  t.is(await page.locator('li.alert').count(), 0, 'no alert card');
  t.is(await page.inputValue('#officer'), '');
  t.is(await page.inputValue('#password'), '');
  const html = await page.content();
  for (const [what, text] of [['subject reference', REF], ['reason', REASON], ['officer ID', officer.user], ['image', 'data:image'], ['image', 'blob:']] as const) {
    t.false(html.includes(text), `no ${what} in the DOM after the lock`);
  }
  const stored = await page.evaluate(`({
    local: Object.keys(localStorage).filter((k) => k !== 'lfr.auditHeads').length,
    session: sessionStorage.length,
    cookies: document.cookie,
  })`);
  t.deepEqual(stored, { local: 0, session: 0, cookies: '' }, 'nothing personal kept in the browser (audit heads are hashes only)');
  const api = await page.evaluate(`fetch('/api/state', { cache: 'no-store' }).then((r) => r.status)`);
  t.is(api, 401, 'the van answers the locked page 401: it must sign in again');

  // 4. Signing in again brings the card back: it was the lock, not a broken page.
  await signIn();
  await cardShown();
  t.is(await card.locator('.subject').textContent(), REF);
  t.deepEqual(pageErrors, []);
});
