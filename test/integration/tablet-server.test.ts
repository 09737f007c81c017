// The tablet page server over real HTTPS: the fixed file set, the no-store/CSP headers, the
// page config, and nothing else (no directory listing, no path traversal, no writes).
import test from 'ava';
import { execFileSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { TabletServer } from '../../src/tablet/server.js';
import { INSTALL_ROOT } from '../../src/paths.js';

function get(port: number, p: string, method = 'GET'): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string }> {
  return new Promise((resolve, reject) => {
    const req = https.request({ host: '127.0.0.1', port, path: p, method, rejectUnauthorized: false }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

test('serves the page, its modules, the MQTT.js bundle and topics.js with no-store; refuses everything else', async (t) => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'lfr-tablet-srv-'));
  execFileSync(path.join(INSTALL_ROOT, 'scripts/make-certs.sh'), [dir], { stdio: 'pipe' });
  const server = new TabletServer({ host: '127.0.0.1', port: 0, certFile: path.join(dir, 'broker.crt'), keyFile: path.join(dir, 'broker.key'), vanId: 'van-3', topicPrefix: 'lfr', brokerWsPort: 8884, log: pino({ level: 'silent' }) });
  await server.start(new AbortController().signal);
  t.teardown(async () => {
    await server.stop();
    await rm(dir, { recursive: true, force: true });
  });
  const page = await get(server.port, '/');
  t.is(page.status, 200);
  t.regex(page.body, /<script type="module" src="app.js">/);
  t.is(page.headers['cache-control'], 'no-store');
  t.is(page.headers['clear-site-data'], '"cache", "storage"');
  t.regex(String(page.headers['content-security-policy']), /default-src 'none'.*script-src 'self'/);
  for (const p of ['/app.js', '/view.js', '/alert-list.js', '/style.css', '/lib/mqtt.esm.js', '/lib/topics.js']) {
    const r = await get(server.port, p);
    t.is(r.status, 200, p);
    t.is(r.headers['cache-control'], 'no-store', p);
    t.is(r.headers['x-content-type-options'], 'nosniff', p);
  }
  t.regex((await get(server.port, '/lib/topics.js')).body, /export function topicsFor/);
  t.regex((await get(server.port, '/lib/mqtt.esm.js')).body, /export default/);
  t.deepEqual(JSON.parse((await get(server.port, '/config.json')).body), { schema: 1, vanId: 'van-3', topicPrefix: 'lfr', brokerWsPort: 8884 });
  for (const p of ['/../package.json', '/%2e%2e/package.json', '/lib/', '/web/tablet/app.js', '/node_modules/mqtt/package.json', '/lib/topics.js.map']) {
    t.is((await get(server.port, p)).status, 404, p);
  }
  t.is((await get(server.port, '/', 'POST')).status, 405);
});
