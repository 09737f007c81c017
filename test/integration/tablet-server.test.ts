// The tablet page server over real HTTPS (the server and its API wired by hand: a test of the
// PART; the running van's page is tested in tablet-browser.test.ts): the fixed file set, the
// no-store/CSP headers, the page config, and the API's sign-in (officers' broker accounts, the
// same PBKDF2 hashes mosquitto checks): 401 audited without a valid officer account, 404 with
// nothing else for an unknown alert, content only to a signed-in officer, each view audited once.
import test from 'ava';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { TabletServer } from '../../src/tablet/server.js';
import { TabletApi } from '../../src/tablet/api.js';
import { OfficerDirectory } from '../../src/tablet/officers.js';
import { ensureCa, ensureLeaf } from '../../src/mqtt/certs.js';
import { hashPassword, writePasswd } from '../../src/mqtt/passwd.js';
import type { AuditFields } from '../../src/audit/log.js';
import { httpsRequest } from '../helpers/https.js';

interface Res {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}
function get(port: number, p: string, method = 'GET', auth?: string, localAddress = '127.0.0.1'): Promise<Res> {
  return httpsRequest({ port, path: p, method, auth, localAddress });
}

const ALERT = '0mwtc5ysh-d038b88f58525b7c';

async function server(t: import('ava').ExecutionContext) {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'lfr-tablet-srv-'));
  ensureCa(path.join(dir, 'ca.crt'));
  ensureLeaf(path.join(dir, 'ca.crt'), path.join(dir, 'page.crt'), path.join(dir, 'page.key'), ['localhost', '127.0.0.1']);
  const pw = path.join(dir, 'officers.passwd');
  writePasswd(pw, new Map([['PC1', hashPassword('correct horse battery')], ['lfr-daemon', hashPassword('daemon secret pw')]]));
  const audit: { type: string; fields: AuditFields; actor?: string }[] = [];
  const log = pino({ level: 'silent' });
  const api = new TabletApi({
    officers: new OfficerDirectory(pw, ['lfr-daemon']),
    alerts: {
      summaries: () => [],
      contentJson: (id) => (id === ALERT ? Buffer.from(JSON.stringify({ alertId: ALERT, faceJpeg: '/9j/AAAA' })) : null),
    },
    deployment: () => ({ id: 'dep-1', location: 'High St', startedAt: '2026-11-23T10:00:00Z', endsAt: '2026-11-23T18:00:00Z' }),
    brokerConnected: () => true,
    cameras: [{ name: 'north-1', location: 'High St, facing north' }],
    vanId: 'van-3',
    audit: { record: (type, fields = {}, actor) => void audit.push({ type, fields, ...(actor ? { actor } : {}) }) },
    clock: () => 1_795_000_000_000,
    log,
  });
  const srv = new TabletServer({ host: '127.0.0.1', port: 0, certFile: path.join(dir, 'page.crt'), keyFile: path.join(dir, 'page.key'), vanId: 'van-3', topicPrefix: 'lfr', brokerWsPort: 8884, sessionExpirySeconds: 300, log, api });
  await srv.start(new AbortController().signal);
  t.teardown(async () => {
    await srv.stop();
    await rm(dir, { recursive: true, force: true });
  });
  return { port: srv.port, audit };
}

test('serves the page, its modules, the MQTT.js bundle and topics.js with no-store; refuses everything else', async (t) => {
  const { port } = await server(t);
  const page = await get(port, '/');
  t.is(page.status, 200);
  t.regex(page.body, /<script type="module" src="app.js">/);
  t.is(page.headers['cache-control'], 'no-store');
  t.is(page.headers['clear-site-data'], '"cache", "storage"');
  t.regex(String(page.headers['content-security-policy']), /default-src 'none'.*script-src 'self'/);
  for (const p of ['/app.js', '/view.js', '/alert-list.js', '/van-api.js', '/style.css', '/lib/mqtt.esm.js', '/lib/topics.js']) {
    const r = await get(port, p);
    t.is(r.status, 200, p);
    t.is(r.headers['cache-control'], 'no-store', p);
    t.is(r.headers['x-content-type-options'], 'nosniff', p);
  }
  t.regex((await get(port, '/lib/topics.js')).body, /export function topicsFor/);
  t.regex((await get(port, '/lib/mqtt.esm.js')).body, /export default/);
  t.deepEqual(JSON.parse((await get(port, '/config.json')).body), { schema: 2, vanId: 'van-3', topicPrefix: 'lfr', brokerWsPort: 8884, sessionExpirySeconds: 300, idleLockMinutes: 10 });
  for (const p of ['/../package.json', '/%2e%2e/package.json', '/lib/', '/web/tablet/app.js', '/node_modules/mqtt/package.json', '/lib/topics.js.map']) {
    t.is((await get(port, p)).status, 404, p);
  }
  t.is((await get(port, '/', 'POST')).status, 405);
});

test('the API: 401 (audited) without an officer account, 404 and nothing else for unknown alerts, content to officers', async (t) => {
  const { port, audit } = await server(t);
  for (const [auth, reason] of [[undefined, 'no credentials'], ['PC1:wrong password', 'wrong password'], ['PC9:whatever', 'unknown account'], ['lfr-daemon:daemon secret pw', 'unknown account']] as const) {
    for (const p of ['/api/state', `/api/alerts/${ALERT}`, '/api/alerts/nope']) {
      const r = await get(port, p, 'GET', auth);
      t.is(r.status, 401, `${p} ${auth}`);
      t.is(r.body, 'sign-in required');
      t.notRegex(String(r.headers['www-authenticate']), /^Basic/, 'no native password dialog');
    }
    t.true(audit.some((a) => a.type === 'tablet.signin_refused' && a.fields.reason === reason), reason);
  }
  const state = await get(port, '/api/state', 'GET', 'PC1:correct horse battery');
  t.is(state.status, 200);
  t.like(JSON.parse(state.body), { schema: 2, serverTime: 1_795_000_000_000, officerId: 'PC1', vanId: 'van-3', deployment: { id: 'dep-1' }, cameras: [{ name: 'north-1' }], alerts: [] });
  for (const p of ['/api/alerts/0mwtc5ysh-0000000000000000', '/api/alerts/..%2F..%2Fetc', '/api/alerts/', '/api/nothing', `/api/alerts/${ALERT}/x`]) {
    const r = await get(port, p, 'GET', 'PC1:correct horse battery');
    t.is(r.status, 404, p);
    t.is(r.body, 'not found', p);
  }
  const c1 = await get(port, `/api/alerts/${ALERT}`, 'GET', 'PC1:correct horse battery');
  t.is(c1.status, 200);
  t.is(JSON.parse(c1.body).faceJpeg, '/9j/AAAA');
  t.is(c1.headers['cache-control'], 'no-store');
  await get(port, `/api/alerts/${ALERT}`, 'GET', 'PC1:correct horse battery');
  t.deepEqual(audit.filter((a) => a.type === 'alert.viewed'), [{ type: 'alert.viewed', fields: { alertId: ALERT }, actor: 'PC1' }], 'each officer view audited once');
});

test('a flood of bad sign-ins from one address is turned away (429) without delaying an officer at another address', async (t) => {
  const { port, audit } = await server(t);
  // 200 guesses at once from 127.0.0.1: at most 4 are checked at a time and 10 failures in all
  // before the address must wait; the rest are refused at no PBKDF2 cost.
  // Meanwhile an officer at another address (a tablet is its own address) signs in.
  const officer = (async () => {
    await new Promise((r) => setTimeout(r, 100));
    const t0 = performance.now();
    const r = await get(port, '/api/state', 'GET', 'PC1:correct horse battery', '127.0.0.2');
    return { r, ms: performance.now() - t0 };
  })();
  const burst = await Promise.all(Array.from({ length: 200 }, (_, i) => get(port, '/api/state', 'GET', `PC1:guess ${i}`)));
  const checked = burst.filter((r) => r.status === 401).length;
  const throttled = burst.filter((r) => r.status === 429);
  t.log(`${checked} of 200 guesses checked, ${throttled.length} refused with 429`);
  t.true(checked >= 1 && checked <= 10 + 4 - 1, `${checked} guesses checked from one address`);
  t.is(checked + throttled.length, 200);
  t.regex(String(throttled[0]!.headers['retry-after']), /^\d+$/);
  t.is(throttled[0]!.body, 'too many sign-in attempts');
  // Guess after guess from that address: it must wait now, and is told how long, whatever the account.
  for (const who of ['PC1:guess x', 'PC9:guess y']) t.is((await get(port, '/api/state', 'GET', who)).status, 429, who);
  const { r: ok, ms } = await officer;
  t.is(ok.status, 200);
  t.log(`the officer at another address was signed in in ${ms.toFixed(0)} ms, during the flood`);
  t.true(audit.some((a) => a.type === 'tablet.signin_refused' && a.fields.reason === 'throttled'));
});

test('photo check switched off (the default): the page may not use the camera, a check is refused plainly, other POSTs are not allowed', async (t) => {
  const { port } = await server(t);
  const page = await get(port, '/');
  t.regex(String(page.headers['permissions-policy']), /camera=\(\)/);
  const off = await get(port, `/api/alerts/${ALERT}/photo-check`, 'POST', 'PC1:correct horse battery');
  t.is(off.status, 403);
  t.regex(JSON.parse(off.body).refused as string, /photo checks are switched off on this van/);
  t.is((await get(port, `/api/alerts/${ALERT}/photo-check`, 'POST')).status, 401, 'an officer account first');
  t.is((await get(port, `/api/alerts/${ALERT}`, 'POST', 'PC1:correct horse battery')).status, 405);
  t.is((await get(port, `/api/alerts/${ALERT}/photo-check`, 'GET', 'PC1:correct horse battery')).status, 405);
});
