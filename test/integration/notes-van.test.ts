// Officers' notes stay on the van (issue 21), proven on the RUNNING van: `lfr run` (the one
// composition root), the broker as `lfr broker setup` writes it, a real camera raising a real
// alert, the tablet page's HTTPS API. An eye on the broker (the daemon's account, subscribed to
// everything it may read, decisions included) watches the whole time, as does the broker's log.
//
//  - a decision that carries a note over MQTT is refused (acked with the reason), audited as
//    adjudication.rejected, and records nothing; the eye saw it (positive control);
//  - a note before the officer's decision: 409, audited, nothing stored;
//  - the decision without a note is recorded; then the note over HTTPS is stored with the alert
//    (read back with its content), audited as alert.note_added with its length only;
//  - a colleague without a decision on it, bad JSON, a note too long, an unknown alert: a clear 4xx
//    each, audited (alert.note_refused, fixed reasons), and the saved note is still there;
//  - the HTTPS note's text never reached the broker (the eye, the broker's log), and is in no file
//    the van or the broker wrote in the clear (alert store sealed, audit, deployment record and
//    report), nor in the daemon's log.
import { randomBytes } from 'node:crypto';
import { MAX_NOTE_CHARS, SCHEMA, type AckPayload, type AlertContent, type AlertMessage } from '../../src/mqtt/topics.js';
import { needs } from '../helpers/prereq.js';
import { sleep } from '../helpers/van.js';
import { until } from '../helpers/alert-fixture.js';
import { httpsRequest } from '../helpers/https.js';
import { officersVan } from '../helpers/officers-van.js';

const { serial } = needs(['mosquitto', 'rtsp', 'models', 'demo-photos']);

type Audit = { entries: Array<{ type: string; actor: string | null; fields: Record<string, unknown> }> };

function postNote(port: number, alertId: string, ca: Buffer, auth: string, body: string, type = 'application/json'): Promise<{ status: number; body: string }> {
  return httpsRequest({ port, path: `/api/alerts/${alertId}/note`, ca, auth, body, contentType: type });
}

serial('notes go over HTTPS only: a note in the MQTT decision is refused and audited, the HTTPS note is kept with the alert, and the broker never sees it', async (t) => {
  t.timeout(240_000);
  const { van, bundle, cfg, T, ca, pc1, pc2, daemon, brokerLog, connect } = await officersVan(t, 'notes', 'WL-21');
  const VIA_MQTT = `NOTE-VIA-MQTT-${randomBytes(6).toString('hex')}`;
  const VIA_HTTPS = `NOTE-VIA-HTTPS-${randomBytes(6).toString('hex')} seen by the bus stop`;

  // The eye: the daemon's account on the MQTT listener, everything under the van's prefix
  // (alerts, status, decisions, acks), from before the van starts to the end of the test.
  const eye = await connect(daemon, 'eye', 'tls');
  const seen: string[] = [];
  eye.on('message', (topic, p) => seen.push(`${topic} ${p.toString()}`));
  await eye.subscribeAsync('#', { qos: 1 });

  const one = await connect(pc1, 'tablet-PC1001');
  const alerts: AlertMessage[] = [];
  const acks: AckPayload[] = [];
  one.on('message', (topic, p) => {
    if (topic.includes('/alerts/')) alerts.push(JSON.parse(p.toString()) as AlertMessage);
    else if (topic.includes('/acks/') && p.length) acks.push(JSON.parse(p.toString()) as AckPayload);
  });
  await one.subscribeAsync([T.alertsWildcard, T.acksWildcard], { qos: 1 });

  await van.start();
  await van.startDeployment(['--watchlist', bundle]);
  await until(() => alerts.length > 0, 90_000, 'an alert');
  const id = alerts[0]!.alertId;
  const decision = (extra: object = {}) => JSON.stringify({ schema: SCHEMA, alertId: id, outcome: 'confirmed_match', decidedAt: new Date().toISOString(), deploymentId: alerts[0]!.deploymentId, ...extra });
  const auth1 = `${pc1.user}:${pc1.password}`;
  const audit = async () => (await van.cliJson<Audit>(['audit', 'show', '--limit', '1000'])).entries;
  const record = async () => (await van.cliJson<{ alerts: Array<{ id: string; outcome: string | null; officerId: string | null }> }>(['alerts', 'list'])).alerts.find((a) => a.id === id);
  const notesOf = async (acc = pc1) => (JSON.parse((await van.tabletGet(`/api/alerts/${id}`, acc)).body) as AlertContent).notes;

  // 1. The old way, a note inside the MQTT decision: refused whole, told, audited.
  await one.publishAsync(T.adjudication(pc1.user, id), decision({ note: VIA_MQTT }), { qos: 1 });
  await until(() => acks.length >= 1, 10_000, 'the refusal');
  t.like(acks[0], { alertId: id, accepted: false, officerId: pc1.user });
  t.regex(acks[0]!.reason ?? '', /notes are not taken over MQTT: .*POST \/api\/alerts\/<id>\/note/);
  t.like(await record(), { outcome: null, officerId: null }, 'nothing recorded');
  t.deepEqual(await notesOf(), [], 'no note stored');
  const rejected = (await audit()).filter((e) => e.type === 'adjudication.rejected');
  t.is(rejected.length, 1);
  t.like(rejected[0], { actor: pc1.user, fields: { alertId: id } });
  t.regex(String(rejected[0]!.fields.reason), /notes are not taken over MQTT/);
  await until(() => seen.some((m) => m.includes(VIA_MQTT)), 5000, 'the eye to see the MQTT note');
  t.pass('positive control: the eye sees decisions as they cross the broker');

  // 2. A note before the officer's decision: 409, plainly; nothing stored.
  const early = await postNote(van.tabletPort, id, ca, auth1, JSON.stringify({ note: VIA_HTTPS }));
  t.is(early.status, 409, early.body);
  t.regex(early.body, /record your decision on this alert first/);

  // 3. The decision, without a note, over MQTT; then the note over HTTPS.
  await one.publishAsync(T.adjudication(pc1.user, id), decision(), { qos: 1 });
  await until(() => acks.some((a) => a.accepted), 10_000, 'the acceptance');
  t.like(await record(), { outcome: 'confirmed_match', officerId: pc1.user });
  const saved = await postNote(van.tabletPort, id, ca, auth1, JSON.stringify({ note: VIA_HTTPS }));
  t.is(saved.status, 201, saved.body);
  t.deepEqual(JSON.parse(saved.body), { schema: SCHEMA, alertId: id, saved: true, chars: VIA_HTTPS.length });
  const kept = await notesOf();
  t.deepEqual(kept.map((n) => [n.officerId, n.text]), [[pc1.user, VIA_HTTPS]], 'kept with the alert, read back with its content');

  // 4. Refusals: a colleague with no decision on it, bad JSON, too long, wrong type, an unknown alert.
  const auth2 = `${pc2.user}:${pc2.password}`;
  const refusals = [
    [await postNote(van.tabletPort, id, ca, auth2, JSON.stringify({ note: 'a colleague' })), 409],
    [await postNote(van.tabletPort, id, ca, auth1, '{"note": "cut'), 400],
    [await postNote(van.tabletPort, id, ca, auth1, JSON.stringify({ note: 'x'.repeat(MAX_NOTE_CHARS + 1) })), 413],
    [await postNote(van.tabletPort, id, ca, auth1, 'note=hello', 'application/x-www-form-urlencoded'), 415],
    [await postNote(van.tabletPort, '0mwtc5ysh-0000000000000000', ca, auth1, JSON.stringify({ note: 'nobody' })), 404],
  ] as const;
  t.deepEqual(refusals.map(([r]) => r.status), refusals.map(([, s]) => s), JSON.stringify(refusals.map(([r]) => r.body)));
  t.deepEqual((await notesOf()).map((n) => n.text), [VIA_HTTPS], 'nothing lost, nothing added');

  const entries = await audit();
  const added = entries.filter((e) => e.type === 'alert.note_added');
  t.deepEqual(added.map((e) => [e.actor, e.fields.alertId, e.fields.deploymentId, e.fields.chars]), [[pc1.user, id, alerts[0]!.deploymentId, VIA_HTTPS.length]]);
  const refused = entries.filter((e) => e.type === 'alert.note_refused').map((e) => [e.actor, e.fields.reason]).reverse();
  t.deepEqual(refused, [[pc1.user, 'no_decision'], [pc2.user, 'no_decision'], [pc1.user, 'not_json'], [pc1.user, 'too_long'], [pc1.user, 'not_json_type'], [pc1.user, 'unknown_alert']]);
  t.false(JSON.stringify(entries).includes('NOTE-VIA'), 'no note text in the audit trail');

  // 5. The deployment ends (record and report written); the note stayed on the van, sealed.
  await van.endDeployment();
  await sleep(500);
  t.false(seen.some((m) => m.includes(VIA_HTTPS) || m.includes('bus stop')), 'the broker never carried the HTTPS note');
  t.false(brokerLog().includes(VIA_HTTPS), "nor is it in the broker's log");
  t.deepEqual(van.filesContaining(Buffer.from(VIA_HTTPS)), [], 'in no file in the clear: alert store sealed, audit, deployment record, report');
  t.false(van.log().includes('NOTE-VIA'), "nor in the daemon's log");
  t.deepEqual((await notesOf()).map((n) => n.text), [VIA_HTTPS], 'still with the alert after the deployment ended (its officer reads it)');
});
