// Officers are who they signed in as (issue 12 item 5), through the running van: `lfr run`, the
// broker as `lfr broker setup` writes it, a real camera raising a real alert, and `lfr officers`
// changing accounts on the running broker.
//
//  - a decision whose payload names another officer is refused (the recorded officer is the
//    authenticated broker account, named by the topic the ACL binds to it);
//  - publishing on a colleague's decision topic is refused by the broker (MQTT 5 reason 0x87);
//  - a retained decision is refused, and cleared from the broker;
//  - a client-id takeover is refused: the colleague keeps their own session;
//  - the genuine decision is recorded under the real user;
//  - `lfr officers add` opens the broker and the page to a new account at once (SIGHUP), and
//    `lfr officers remove` closes both.
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import mqtt from 'mqtt';
import { SCHEMA, type AckPayload, type AlertMessage } from '../../src/mqtt/topics.js';
import { needs } from '../helpers/prereq.js';
import { sleep } from '../helpers/van.js';
import { until } from '../helpers/alert-fixture.js';
import { httpsRequest } from '../helpers/https.js';
import { officersVan } from '../helpers/officers-van.js';

const { serial } = needs(['mosquitto', 'rtsp', 'models', 'demo-photos']);

async function httpsStatus(port: number, p: string, ca: Buffer, auth: string): Promise<number> {
  return (await httpsRequest({ port, path: p, ca, auth })).status;
}

serial('a decision counts for the signed-in officer only; no impersonation, no takeover, no retained decision; accounts change at once', async (t) => {
  t.timeout(240_000);
  const { van, bundle, cfg, T, ca, pc1, pc2, daemon, connect } = await officersVan(t, 'officers', 'WL-7');
  const broker = van.broker!;
  const officer = (acc: { user: string; password: string }, clientId: string) => connect(acc, clientId);
  const one = await officer(pc1, 'tablet-PC1001');
  const alerts: AlertMessage[] = [];
  one.on('message', (topic, p) => topic.includes('/alerts/') && alerts.push(JSON.parse(p.toString()) as AlertMessage));
  await one.subscribeAsync(T.alertsWildcard, { qos: 1 });
  let oneKicked = false;
  one.on('close', () => (oneKicked = true));

  await van.start();
  await van.startDeployment(['--watchlist', bundle]);
  await until(() => alerts.length > 0, 90_000, 'an alert');
  const id = alerts[0]!.alertId;
  const decided = async () => (await van.cliJson<{ alerts: Array<{ id: string; outcome: string | null; officerId: string | null }> }>(['alerts', 'list'])).alerts.find((a) => a.id === id);
  const body = (extra: object = {}) => JSON.stringify({ schema: SCHEMA, alertId: id, outcome: 'false_alert', decidedAt: new Date().toISOString(), ...extra });

  // A client-id takeover: PC1002 connects with PC1001's client id (and with the bare name).
  // (The broker forces each client id to the account name, so those two are the same session of
  // PC1002's: the second replaces the first, never PC1001's.)
  await officer(pc2, 'tablet-PC1001');
  const again = await officer(pc2, pc1.user);
  await sleep(500);
  t.false(oneKicked, "PC1001's session survives a colleague using its client id");
  t.true(one.connected);
  await again.endAsync(true);
  const two = await officer(pc2, 'tablet-PC1002');
  const acks: AckPayload[] = [];
  two.on('message', (_topic, p) => p.length && acks.push(JSON.parse(p.toString()) as AckPayload));
  await two.subscribeAsync(T.acksWildcard, { qos: 1 });

  // PC1002 names PC1001 in the payload: refused, nothing recorded.
  await two.publishAsync(T.adjudication(pc2.user, id), body({ officerId: pc1.user }), { qos: 1 });
  // PC1002 publishes on PC1001's topic: the broker refuses it (MQTT 5: 0x87 not authorised).
  await t.throwsAsync(two.publishAsync(T.adjudication(pc1.user, id), body(), { qos: 1 }), { message: /Not authorized|135/i });
  // A retained decision: refused by the van, and cleared from the broker.
  await two.publishAsync(T.adjudication(pc2.user, id), body(), { qos: 1, retain: true });
  await until(() => acks.length >= 2, 10_000, 'two refusals');
  t.deepEqual(acks.map((a) => [a.accepted, a.officerId]), [[false, pc2.user], [false, pc2.user]]);
  t.regex(acks[0]!.reason ?? '', /is not the signed-in officer/);
  t.regex(acks[1]!.reason ?? '', /retained messages are refused/);
  t.like(await decided(), { outcome: null, officerId: null }, 'nothing recorded');
  const eye = await connect(daemon, undefined, 'tls');
  const retained: string[] = [];
  eye.on('message', (topic, p, packet) => packet.retain && p.length && retained.push(topic));
  await eye.subscribeAsync(`${cfg.mqtt.topicPrefix}/#`, { qos: 1 });
  await sleep(500);
  t.deepEqual(retained.filter((x) => !/\/(availability|status)$/.test(x)), [], 'no retained decision left on the broker');

  // The genuine decision, on PC1002's own topic: recorded under PC1002.
  await two.publishAsync(T.adjudication(pc2.user, id), body(), { qos: 1 });
  await until(() => acks.some((a) => a.accepted), 10_000, 'acceptance');
  t.like(await decided(), { outcome: 'false_alert', officerId: pc2.user });
  const audit = await van.cliJson<{ entries: Array<{ type: string; actor: string | null; fields: Record<string, unknown> }> }>(['audit', 'show', '--limit', '500']);
  t.deepEqual(audit.entries.filter((e) => e.type === 'adjudication.recorded').map((e) => [e.fields.alertId, e.actor]), [[id, pc2.user]]);
  t.is(audit.entries.filter((e) => e.type === 'adjudication.rejected' && e.actor === pc2.user).length, 2);

  // Accounts: `lfr officers add` opens the broker and the page at once; `remove` closes both.
  const pwFile = path.join(van.dir, 'pc2001.pass');
  writeFileSync(pwFile, 'a long enough password 2001\n', { mode: 0o600 });
  const added = await van.cliJson<{ officerId: string; reloaded: boolean }>(['officers', 'add', 'PC2001', '--password-file', pwFile]);
  t.like(added, { officerId: 'PC2001', reloaded: true });
  t.deepEqual((await van.cliJson<{ officers: string[] }>(['officers', 'list'])).officers.sort(), ['PC1001', 'PC1002', 'PC2001']);
  await sleep(300); // mosquitto reloads on SIGHUP
  const newbie = await officer({ user: 'PC2001', password: 'a long enough password 2001' }, 'x');
  t.true(newbie.connected);
  t.is(await httpsStatus(van.tabletPort, '/api/state', ca, 'PC2001:a long enough password 2001'), 200);
  const dup = await van.cli('officers', 'add', 'PC2001', '--password-file', pwFile);
  t.is(dup.code, 3, 'an existing account is not overwritten without --reset');
  t.like(await van.cliJson(['officers', 'remove', 'PC2001']), { removed: true, reloaded: true });
  await sleep(300);
  await t.throwsAsync(mqtt.connectAsync(broker.wsUrl, { ca, username: 'PC2001', password: 'a long enough password 2001', protocolVersion: 5, reconnectPeriod: 0 }), { message: /Bad User Name or Password|Not authorized/i });
  t.is(await httpsStatus(van.tabletPort, '/api/state', ca, 'PC2001:a long enough password 2001'), 401);
  const types = (await van.cliJson<{ entries: Array<{ type: string; fields: Record<string, unknown> }> }>(['audit', 'show', '--limit', '500'])).entries.map((e) => `${e.type}:${String(e.fields.officerId ?? '')}`);
  t.true(types.includes('officer.added:PC2001') && types.includes('officer.removed:PC2001'));
});
