// Tablets reach MQTT only through the van's HTTPS server (issue 21 item 4), with a real mosquitto
// on the product's broker config and the tablet server as the daemon builds it
// (tabletServerFromConfig): a ticket comes only from the throttled, audited sign-in; the /mqtt
// upgrade without one is 401 and audited, then 429; a ticket for one officer cannot carry a
// CONNECT for another (no guessing a colleague's password through it); with a ticket the officer
// gets the van's messages through the pipe. This file asserts the refusals, not a latency figure:
// alert delivery while six guessers hammer the page's sign-in and the proxy (and, in a rig, the
// broker's listener directly) is measured by `lfr bench tablet --guessers` (default 6) on the
// running van, and its figures are in docs/mqtt.md ("Alert latency under a guessing load").
import test from 'ava';
import { readFileSync } from 'node:fs';
import mqtt from 'mqtt';
import pino from 'pino';
import WebSocket from 'ws';
import { LocalBroker } from '../../src/tools/broker.js';
import { tabletServerFromConfig } from '../../src/tablet/server.js';
import { FREE_REFUSALS } from '../../src/tablet/mqtt-proxy.js';
import { LIGHT_USE, PUBLISH_BURST, PublishBudget, RESERVE, TOTAL_BURST } from '../../src/tablet/publish-budget.js';
import { FREE_FAILURES } from '../../src/tablet/officers.js';
import { freePort } from '../../src/util/net.js';
import { SCHEMA, topicsFor } from '../../src/mqtt/topics.js';
import type { AuditFields } from '../../src/audit/log.js';
import { requirePrereqs } from '../helpers/prereq.js';
import { httpsRequest } from '../helpers/https.js';

function get(port: number, p: string, auth?: string, localAddress = '127.0.0.1'): Promise<{ status: number; headers: Record<string, unknown>; body: string }> {
  return httpsRequest({ port, path: p, auth, localAddress });
}

/** Status of a WebSocket upgrade to /mqtt (101 when accepted). */
function upgradeStatus(port: number, query: string, localAddress = '127.0.0.1'): Promise<number> {
  return new Promise((resolve) => {
    const ws = new WebSocket(`wss://127.0.0.1:${port}/mqtt${query}`, 'mqtt', { rejectUnauthorized: false, localAddress });
    ws.on('open', () => {
      ws.terminate();
      resolve(101);
    });
    ws.on('unexpected-response', (_req, res) => {
      resolve(res.statusCode ?? 0);
      ws.terminate();
    });
    ws.on('error', () => resolve(0));
  });
}

async function rig(t: import('ava').ExecutionContext, budget?: PublishBudget) {
  requirePrereqs(['mosquitto', 'openssl']);
  const broker = await new LocalBroker({ officers: ['PC1001', 'PC1002'] }).setup();
  t.teardown(() => broker.stop());
  const port = await freePort();
  const cfg = { ...broker.config, tablet: { ...broker.config.tablet, enabled: true, host: '127.0.0.1', port, brokerWsPort: broker.wsPort } };
  const audit: { type: string; fields: AuditFields; actor?: string }[] = [];
  const srv = tabletServerFromConfig(cfg, pino({ level: 'silent' }), {
    alerts: { summaries: () => [], contentJson: () => null },
    deployment: () => null,
    brokerConnected: () => true,
    audit: { record: (type, fields = {}, actor) => void audit.push({ type, fields, ...(actor ? { actor } : {}) }) },
    clock: Date.now,
  }, budget ? { budget } : {})!;
  await srv.start(new AbortController().signal);
  t.teardown(() => srv.stop());
  const ca = readFileSync(broker.caFile);
  return { broker, port, audit, ca };
}

async function ticketFor(port: number, user: string, password: string): Promise<string> {
  const r = await get(port, '/api/mqtt-ticket', `${user}:${password}`);
  if (r.status !== 200) throw new Error(`ticket: ${r.status} ${r.body}`);
  return (JSON.parse(r.body) as { ticket: string }).ticket;
}

test.serial('MQTT through the page only: no ticket is 401 then 429, audited; a wrong password never gets a ticket (401, then 429); a ticket carries its own officer only', async (t) => {
  const { broker, port, audit, ca } = await rig(t);
  const [pc1, pc2] = broker.officers;

  // No ticket, a made-up ticket: refused and audited, then throttled for that address.
  const statuses: number[] = [];
  for (let i = 0; i < FREE_REFUSALS + 2; i++) statuses.push(await upgradeStatus(port, i % 2 ? '' : `?ticket=${'A'.repeat(43)}`, '127.0.0.2'));
  t.deepEqual(statuses, [...Array(FREE_REFUSALS).fill(401), 429, 429]);
  t.true(audit.filter((a) => a.type === 'tablet.mqtt_refused' && a.fields.reason === 'no valid ticket').length >= FREE_REFUSALS);
  t.true(audit.some((a) => a.type === 'tablet.mqtt_refused' && a.fields.reason === 'throttled'));

  // Guessing the password for a ticket: the API's back-off (401 x FREE_FAILURES, then 429).
  const guesses: number[] = [];
  for (let i = 0; i < FREE_FAILURES + 2; i++) guesses.push((await get(port, '/api/mqtt-ticket', `${pc2!.user}:guess-${i}`, '127.0.0.3')).status);
  t.deepEqual(guesses.slice(0, FREE_FAILURES), Array(FREE_FAILURES).fill(401));
  t.deepEqual(guesses.slice(FREE_FAILURES), [429, 429]);
  t.true(audit.some((a) => a.type === 'tablet.signin_refused' && a.fields.user === pc2!.user));

  // PC1's ticket with a CONNECT for PC2 (a guess at PC2's password): cut before the broker.
  const t1 = await ticketFor(port, pc1!.user, pc1!.password);
  const before = broker.stderr.length;
  const outcome = await new Promise<string>((resolve) => {
    const c = mqtt.connect(`wss://127.0.0.1:${port}/mqtt?ticket=${t1}`, { ca, username: pc2!.user, password: 'a guess at pc2', protocolVersion: 5, reconnectPeriod: 0, connectTimeout: 4000 });
    c.on('connect', () => resolve('connected'));
    c.on('error', (e) => resolve(`error: ${e.message}`));
    c.on('close', () => resolve('closed'));
    setTimeout(() => c.end(true), 5000);
  });
  t.not(outcome, 'connected');
  t.log(`PC1's ticket, CONNECT as PC2: ${outcome}`);
  t.true(audit.some((a) => a.type === 'tablet.mqtt_refused' && a.fields.reason === 'CONNECT for another officer than the ticket' && a.fields.user === pc1!.user));
  t.notRegex(broker.stderr.slice(before), new RegExp(`u'${pc2!.user}'|${pc2!.user}`), 'the broker never saw the CONNECT');
  t.false(JSON.stringify(audit).includes('a guess at pc2'), 'no password in the audit');

  // PC1 with its own ticket: connected through the pipe, and gets what the van publishes.
  const topics = topicsFor('lfr', 'van-1');
  const c = await mqtt.connectAsync(`wss://127.0.0.1:${port}/mqtt?ticket=${t1}`, { ca, username: pc1!.user, password: pc1!.password, protocolVersion: 5, reconnectPeriod: 0 });
  t.teardown(() => c.end(true));
  await c.subscribeAsync(topics.availability, { qos: 1 });
  const got = new Promise<string>((resolve) => c.on('message', (_topic, payload) => resolve(payload.toString())));
  const daemon = await mqtt.connectAsync(broker.url, { ca, username: broker.daemon.user, password: broker.daemon.password, protocolVersion: 5, reconnectPeriod: 0 });
  t.teardown(() => daemon.end(true));
  await daemon.publishAsync(topics.availability, 'online', { qos: 1, retain: true });
  t.is(await got, 'online');
  t.regex(broker.stderr, new RegExp(`u'${pc1!.user}'`), 'the broker authenticated the officer itself too');
});

/** The proxy's real budget on a clock the test moves: a flood can be held in place, then ended. */
class HeldBudget extends PublishBudget {
  now = 0;
  override take(officerId: string, n: number): ReturnType<PublishBudget['take']> {
    return super.take(officerId, n, this.now);
  }
}

test.serial('a decision the proxy refuses under a flood by over ten accounts is re-sent by the page\'s MQTT client after it reconnects, and reaches the van once the flood passes', async (t) => {
  t.timeout(120_000);
  // The flood, replayed on the proxy's own budget (publish-budget.ts) with its clock held still so
  // the refill cannot race the test: three heavy flooders take the total down to the reserve,
  // then ten light accounts (LIGHT_USE each) empty the reserve, as docs/mqtt.md describes.
  const budget = new HeldBudget();
  const heavy = TOTAL_BURST - RESERVE;
  for (let i = 0; heavy - i * PUBLISH_BURST > 0; i++) t.is(budget.take(`PC90${i}`, Math.min(PUBLISH_BURST, heavy - i * PUBLISH_BURST)), null);
  for (let i = 0; i < RESERVE / LIGHT_USE; i++) t.is(budget.take(`PC80${i}`, LIGHT_USE), null);
  t.is(budget.totalLeft, 0, 'the flood has emptied the total and its reserve');
  const { broker, port, audit, ca } = await rig(t, budget);
  const [pc1] = broker.officers;
  const topics = topicsFor('lfr', 'van-1');

  // The van's side: the daemon's account on the broker, subscribed to decisions as the daemon is.
  const daemon = await mqtt.connectAsync(broker.url, { ca, username: broker.daemon.user, password: broker.daemon.password, protocolVersion: 5, reconnectPeriod: 0 });
  t.teardown(() => daemon.end(true));
  const received: string[] = [];
  daemon.on('message', (topic, payload) => {
    if (topic === topics.adjudication(pc1!.user, 'A-1')) received.push(payload.toString());
  });
  await daemon.subscribeAsync(topics.adjudicationsWildcard, { qos: 1 });

  // The page's client, with the page's connect options (web/tablet/app.js signIn(); the page loads
  // the same MQTT.js release from node_modules/mqtt/dist/mqtt.esm.js). Guard against drift:
  const page = readFileSync(new URL('../../../web/tablet/app.js', import.meta.url), 'utf8');
  for (const opt of ['clean: false', 'protocolVersion: 5', 'reconnectPeriod: RECONNECT_MS', 'resubscribe: false', 'keepalive: 15', 'connectTimeout: 10_000', '{ qos: 1 }']) t.true(page.includes(opt), `the page still connects with ${opt}`);
  t.regex(page, /const RECONNECT_MS = 2000;/);
  t.notRegex(page, /incomingStore|outgoingStore|queueQoSZero/, 'the page uses MQTT.js\'s default (in-memory) stores');
  const ticket = await ticketFor(port, pc1!.user, pc1!.password);
  const client = mqtt.connect(`wss://127.0.0.1:${port}/mqtt?ticket=${ticket}`, {
    ca,
    clientId: `tablet-${pc1!.user}`,
    clean: false,
    protocolVersion: 5,
    properties: { sessionExpiryInterval: 300 },
    username: pc1!.user,
    password: pc1!.password,
    reconnectPeriod: 2000,
    connectTimeout: 10_000,
    keepalive: 15,
    resubscribe: false,
  });
  t.teardown(() => client.end(true));
  // MQTT.js emits 'connect' only once its outgoing store has been re-sent AND acknowledged, so
  // while the decision keeps being refused the reconnects are counted from 'reconnect'.
  let connects = 0;
  let reconnects = 0;
  client.on('connect', () => connects++);
  client.on('reconnect', () => reconnects++);
  await new Promise<void>((resolve, reject) => {
    client.once('connect', () => resolve());
    setTimeout(() => reject(new Error('the page\'s client did not connect')), 15_000);
  });

  // The officer decides: published as the page does (QoS 1, not awaited).
  const decision = JSON.stringify({ schema: SCHEMA, alertId: 'A-1', deploymentId: null, decidedAt: new Date().toISOString(), outcome: 'false_alert' });
  let acked = false;
  client.publish(topics.adjudication(pc1!.user, 'A-1'), decision, { qos: 1 }, (err) => {
    if (!err) acked = true;
  });
  const refusals = () => audit.filter((a) => a.type === 'tablet.mqtt_refused' && a.fields.user === pc1!.user && /all officers together/.test(String(a.fields.reason)));
  const waitFor = async (what: string, ms: number, ok: () => boolean): Promise<void> => {
    const t0 = Date.now();
    while (!ok()) {
      if (Date.now() - t0 > ms) throw new Error(`${what}: not within ${ms} ms (connects ${connects}, reconnects ${reconnects}, refusals ${refusals().length}, received ${received.length})`);
      await new Promise((r) => setTimeout(r, 100));
    }
  };
  // While the flood lasts: refused by the total, audited, cut; the client reconnects and re-sends
  // it from its outgoing store, and it is refused again (nothing reaches the broker).
  await waitFor('the decision refused twice (the first send and a re-send after reconnecting)', 30_000, () => refusals().length >= 2);
  t.true(reconnects >= 1, `the client reconnected (${reconnects} reconnects)`);
  t.is(connects, 1, 'no \'connect\' event while the re-sent decision is unacknowledged (the page shows "reconnecting")');
  t.is(refusals()[0]!.fields.forwarded, 0);
  t.deepEqual(received, [], 'nothing reached the broker during the flood');
  t.false(acked);

  // The flood passes (the reserve refills at TOTAL_PER_SECOND): the next re-send gets through.
  budget.now += 5_000;
  await waitFor('the decision reaching the van after the flood', 30_000, () => received.length >= 1 && acked);
  await new Promise((r) => setTimeout(r, 1_000));
  t.deepEqual(received.map((r) => JSON.parse(r) as unknown), [JSON.parse(decision) as unknown], 'the same decision, once');
  t.true(connects >= 2, `'connect' once the re-sent decision was acknowledged (${connects}): the page then subscribes and re-reads the van's state`);
  t.log(`refused ${refusals().length} times during the flood (re-sent after ${reconnects} reconnects), delivered once after it`);
});
