// Officers' notes over the tablet's HTTPS API (issue 21: notes stay off the broker).
//  - the route (src/tablet/notes.ts) on a loopback HTTP server with a recording alert service:
//    a good note is stored and audited by length only; every bad input gets a clear 4xx, is
//    audited with a fixed reason and never reaches the store; the answer never echoes the note.
//  - the rules (AlertService.addOfficerNote) on a real encrypted alert store, decisions fed
//    through the real MQTT intake handler: only the deciding officer, on a deployment they may
//    act on, a capped number of notes; a note sent IN the MQTT decision is refused and audited.
import test from 'ava';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { rm } from 'node:fs/promises';
import { AlertService, MAX_NOTES_PER_OFFICER, type NoteOutcome } from '../../src/alerts/service.js';
import type { AuditFields } from '../../src/audit/log.js';
import { silentLogger } from '../../src/log.js';
import type { MessageHandler, PublishOptions } from '../../src/mqtt/client.js';
import { MAX_NOTE_CHARS, SCHEMA, topicsFor } from '../../src/mqtt/topics.js';
import { MAX_NOTE_BODY_BYTES, NoteRoute } from '../../src/tablet/notes.js';
import { candidate, tempConfig } from '../helpers/alert-fixture.js';

type Audited = { type: string; fields: AuditFields; actor?: string };
const SECRET = 'NOTE-SECRET seen with John Smith by the bus stop';

async function route(t: import('ava').ExecutionContext, outcome: (alertId: string, officerId: string, text: string) => NoteOutcome = () => ({ ok: true, deploymentId: 'dep-1' })) {
  const audit: Audited[] = [];
  const stored: Array<[string, string, string]> = [];
  const notes = new NoteRoute({
    alerts: {
      addOfficerNote: (a, o, text) => {
        const r = outcome(a, o, text);
        if (r.ok) stored.push([a, o, text]);
        return r;
      },
    },
    audit: { record: (type, fields = {}, actor) => void audit.push({ type, fields, ...(actor ? { actor } : {}) }) },
    clock: Date.now,
    log: silentLogger(),
  });
  const server = http.createServer((req, res) => {
    const id = /^\/api\/alerts\/([^/]+)\/note$/.exec(req.url ?? '')?.[1] ?? '';
    void notes.handle(req, res, 'PC1001', id, (r, status, type, body, extra = {}) => {
      r.writeHead(status, { 'Content-Type': type, 'Content-Length': Buffer.byteLength(body), ...extra });
      r.end(body);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.teardown(() => new Promise<void>((r) => server.close(() => r())));
  const port = (server.address() as AddressInfo).port;
  const post = (alertId: string, body: string | Buffer, headers: Record<string, string> = { 'Content-Type': 'application/json' }): Promise<{ status: number; body: string }> =>
    new Promise((resolve, reject) => {
      const req = http.request({ host: '127.0.0.1', port, method: 'POST', path: `/api/alerts/${alertId}/note`, headers: { 'Content-Length': String(Buffer.byteLength(body)), ...headers }, agent: false }, (res) => {
        let text = '';
        res.on('data', (d: Buffer) => (text += d.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
      });
      req.on('error', reject);
      req.end(body);
    });
  return { post, audit, stored };
}

test('a note is stored for the signed-in officer, answered 201 with its length, audited without its text', async (t) => {
  const { post, audit, stored } = await route(t);
  const r = await post('abcdef123456', JSON.stringify({ note: `  ${SECRET}  ` }));
  t.is(r.status, 201);
  t.deepEqual(JSON.parse(r.body), { schema: SCHEMA, alertId: 'abcdef123456', saved: true, chars: SECRET.length });
  t.deepEqual(stored, [['abcdef123456', 'PC1001', SECRET]], 'trimmed, for the officer the API signed in');
  t.deepEqual(audit, [{ type: 'alert.note_added', fields: { alertId: 'abcdef123456', deploymentId: 'dep-1', chars: SECRET.length }, actor: 'PC1001' }]);
  t.false(r.body.includes('NOTE-SECRET'), 'the note is not echoed');
  // A charset on the type is fine; the longest note is taken.
  t.is((await post('abcdef123456', JSON.stringify({ note: 'n'.repeat(MAX_NOTE_CHARS) }), { 'Content-Type': 'application/json; charset=utf-8' })).status, 201);
});

test('bad input: a clear 4xx each, audited with a fixed reason, nothing stored, the note never echoed', async (t) => {
  const { post, audit, stored } = await route(t);
  const cases: Array<[string, string | Buffer, Record<string, string> | undefined, number, string, RegExp]> = [
    ['abcdef123456', JSON.stringify({ note: SECRET }), { 'Content-Type': 'text/plain' }, 415, 'not_json_type', /JSON/],
    ['abcdef123456', `{"note": "${SECRET}"`, undefined, 400, 'not_json', /not valid JSON/],
    ['abcdef123456', JSON.stringify({ note: 42 }), undefined, 400, 'bad_body', /\{"note": "\.\.\."\}/],
    ['abcdef123456', JSON.stringify({ note: [SECRET] }), undefined, 400, 'bad_body', /\{"note": "\.\.\."\}/],
    ['abcdef123456', JSON.stringify([SECRET]), undefined, 400, 'bad_body', /\{"note": "\.\.\."\}/],
    ['abcdef123456', JSON.stringify({ note: SECRET, officerId: 'PC1002' }), undefined, 400, 'bad_body', /nothing else/],
    ['abcdef123456', JSON.stringify({ text: SECRET }), undefined, 400, 'bad_body', /\{"note": "\.\.\."\}/],
    ['abcdef123456', JSON.stringify({ note: 'x'.repeat(MAX_NOTE_CHARS + 1) }), undefined, 413, 'too_long', /too long/],
    ['abcdef123456', JSON.stringify({ note: '   ' }), undefined, 400, 'empty', /empty/],
    ['abcdef123456', Buffer.alloc(MAX_NOTE_BODY_BYTES + 1, 0x20), undefined, 413, 'too_large', /too long/],
    ['not%20an%20id', JSON.stringify({ note: SECRET }), undefined, 404, 'unknown_alert', /no such alert/],
  ];
  for (const [id, body, headers, status, reason, re] of cases) {
    const r = await post(id, body, headers);
    t.is(r.status, status, `${reason}: ${r.body}`);
    t.regex((JSON.parse(r.body) as { refused: string }).refused, re);
    t.false(r.body.includes('NOTE-SECRET') || r.body.includes('John'), 'the answer never echoes what was sent');
    t.like(audit.at(-1), { type: 'alert.note_refused', fields: { reason }, actor: 'PC1001' });
  }
  t.deepEqual(stored, [], 'nothing stored');
  t.is(audit.at(-1)!.fields.alertId, null, 'a malformed id is not written to the audit trail');
  t.false(JSON.stringify(audit).includes('NOTE-SECRET'), 'no note text in the audit trail');
});

test("the service's refusals: unknown alert 404, no decision of the officer's 409, too many notes 409", async (t) => {
  const codes: NoteOutcome[] = [{ ok: false, code: 'unknown_alert' }, { ok: false, code: 'no_decision' }, { ok: false, code: 'too_many_notes' }];
  let next = 0;
  const { post, audit, stored } = await route(t, () => codes[next++]!);
  const answers = [];
  for (let i = 0; i < codes.length; i++) answers.push(await post('abcdef123456', JSON.stringify({ note: SECRET })));
  t.deepEqual(answers.map((a) => a.status), [404, 409, 409]);
  t.regex(answers[1]!.body, /record your decision on this alert first/);
  t.deepEqual(audit.map((a) => a.fields.reason), ['unknown_alert', 'no_decision', 'too_many_notes']);
  t.deepEqual(stored, []);
});

/** An MqttLink that hands the test the decision handler the alert service subscribes. */
function fakeLink() {
  const published: Array<{ topic: string; payload: string }> = [];
  let handler: MessageHandler | null = null;
  return {
    link: {
      connected: true,
      publish: async (topic: string, payload: string | Buffer, _o: PublishOptions) => void published.push({ topic, payload: payload.toString() }),
      subscribe: async (_filter: string, h: MessageHandler) => void (handler = h),
      onConnect: () => () => undefined,
    },
    published,
    decide: (topic: string, body: object) => handler!(topic, Buffer.from(JSON.stringify(body)), { retain: false } as Parameters<MessageHandler>[2]),
  };
}

test('the rules on a real alert store: the deciding officer only, a deployment they may act on, capped; a note in the MQTT decision is refused', async (t) => {
  const { cfg, dir } = await tempConfig(null);
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const audit: Audited[] = [];
  const { link, decide, published } = fakeLink();
  const svc = new AlertService({ config: cfg, log: silentLogger(), clock: Date.now, audit: { record: (type, fields = {}, actor) => void audit.push({ type, fields, ...(actor ? { actor } : {}) }) }, mqtt: link });
  let onEnded = true; // whether PC3 was on the ended deployment dep-0
  svc.setMembership({ membership: (dep, officer) => ({ known: dep === 'dep-0' || dep === 'dep-1', ended: dep === 'dep-0', onIt: officer !== 'PC3' || onEnded }), noteOfficer: () => undefined });
  await svc.start(new AbortController().signal);
  t.teardown(() => svc.stop());
  const T = topicsFor(cfg.mqtt.topicPrefix, cfg.van.id);
  const decision = (alertId: string, extra: object = {}) => ({ schema: SCHEMA, alertId, outcome: 'confirmed_match', decidedAt: new Date().toISOString(), ...extra });

  // An alert of dep-0, decided by PC3, then dep-0 ends and dep-1 runs.
  svc.setDeployment('dep-0');
  const old = await svc.raise(await candidate(Date.now()));
  decide(T.adjudication('PC3', old), decision(old, { deploymentId: 'dep-0' }));
  svc.setDeployment('dep-1');
  const a = await svc.raise(await candidate(Date.now()));

  // A note in the MQTT decision: refused (audited, answered), nothing recorded, nothing stored.
  decide(T.adjudication('PC1', a), decision(a, { note: SECRET }));
  t.like(svc.store.get(a), { outcome: null });
  t.deepEqual(svc.store.notes(a), []);
  const rejected = audit.filter((e) => e.type === 'adjudication.rejected');
  t.is(rejected.length, 1);
  t.like(rejected[0], { actor: 'PC1', fields: { alertId: a } });
  t.regex(String(rejected[0]!.fields.reason), /notes are not taken over MQTT/);
  t.true(published.some((p) => p.topic === T.ack(a) && /"accepted":false/.test(p.payload) && /notes are not taken over MQTT/.test(p.payload)), 'the tablet is told');

  // No decision by anyone yet: 409-worthy; then PC1 decides (without a note) and may add notes.
  t.deepEqual(svc.addOfficerNote(a, 'PC1', 'first'), { ok: false, code: 'no_decision' });
  decide(T.adjudication('PC1', a), decision(a));
  t.like(svc.store.get(a), { outcome: 'confirmed_match', officerId: 'PC1' });
  t.deepEqual(svc.addOfficerNote(a, 'PC1', SECRET), { ok: true, deploymentId: 'dep-1' });
  // A colleague who did not decide it may not add to PC1's adjudication...
  t.deepEqual(svc.addOfficerNote(a, 'PC2', 'mine'), { ok: false, code: 'no_decision' });
  // ...until they record the engagement step on it.
  decide(T.adjudication('PC2', a), decision(a, { engagement: 'arrested' }));
  t.like(svc.store.get(a), { engagement: 'arrested', engagementOfficer: 'PC2' });
  t.deepEqual(svc.addOfficerNote(a, 'PC2', 'arrested at the shop door'), { ok: true, deploymentId: 'dep-1' });
  for (let i = 1; i < MAX_NOTES_PER_OFFICER; i++) t.true(svc.addOfficerNote(a, 'PC1', `more ${i}`).ok);
  t.deepEqual(svc.addOfficerNote(a, 'PC1', 'one too many'), { ok: false, code: 'too_many_notes' });
  t.deepEqual(svc.store.notes(a).map((n) => [n.officerId, n.text]), [['PC1', SECRET], ['PC2', 'arrested at the shop door'], ...Array.from({ length: MAX_NOTES_PER_OFFICER - 1 }, (_, i) => ['PC1', `more ${i + 1}`])]);
  // The tablet reads them back with the alert's content (the only place they leave the store).
  t.true(svc.contentJson(a)!.toString().includes(SECRET));

  // An ended deployment's alert: its own officer may add a late note; one not on it may not.
  t.deepEqual(svc.addOfficerNote(old, 'PC3', 'late'), { ok: true, deploymentId: 'dep-0' });
  onEnded = false;
  t.deepEqual(svc.addOfficerNote(old, 'PC3', 'late again'), { ok: false, code: 'unknown_alert' });

  // Unknown, and purged: no such alert; the notes went with the alert.
  t.deepEqual(svc.addOfficerNote('zzzzzzzzzzzz', 'PC1', 'x'), { ok: false, code: 'unknown_alert' });
  await svc.purge(Date.now(), true);
  t.deepEqual(svc.addOfficerNote(a, 'PC1', 'x'), { ok: false, code: 'unknown_alert' });
  t.deepEqual(svc.store.notes(a), []);
  t.false(JSON.stringify(audit).includes('NOTE-SECRET'), 'no note text in the audit trail');
  t.false(published.some((p) => p.payload.includes('NOTE-SECRET')), 'nothing of the note published');
});
