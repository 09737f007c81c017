// A tablet's decision is parsed by its zod schema (src/mqtt/decision.ts, issue 21): every field of
// the wrong type, shape or value is refused with the schema's sentence for that field, never with
// what was sent (the reason is audited as adjudication.rejected and returned on the ack).
import test from 'ava';
import { DecisionSchema, parseDecision } from '../../src/mqtt/decision.js';
import { SCHEMA } from '../../src/mqtt/topics.js';

const me = { officerId: 'PC1234', alertId: 'abcdef123456' };
const ok = { schema: SCHEMA, alertId: 'abcdef123456', outcome: 'confirmed_match', decidedAt: '2026-11-23T12:00:00Z' };
const buf = (v: unknown) => Buffer.from(JSON.stringify(v));
const NAME = 'John Smith';

test('the schema accepts exactly the documented fields and normalises the decision', (t) => {
  const full = { ...ok, engagement: 'arrested', officerId: 'PC1234', deploymentId: 'dep-2026-11-23-0a1b2c3d', photoCheck: 'chk-0123456789abcdef' };
  // `note` is in the schema only to be refused with its own reason (below).
  t.deepEqual(Object.keys(DecisionSchema.shape).sort(), [...Object.keys(full), 'note'].sort());
  t.deepEqual(parseDecision(me, buf(full)), { schema: SCHEMA, alertId: me.alertId, outcome: 'confirmed_match', engagement: 'arrested', decidedAt: '2026-11-23T12:00:00.000Z', deploymentId: 'dep-2026-11-23-0a1b2c3d', photoCheck: 'chk-0123456789abcdef' });
  t.like(parseDecision(me, buf({ ...ok, deploymentId: null })) as object, { deploymentId: null });
});

test('a decision carrying a note is refused, whatever the note, and the reason says where notes go (issue 21)', (t) => {
  const NOTES_OVER_HTTPS = /^notes are not taken over MQTT: .*POST \/api\/alerts\/<id>\/note.*nothing was recorded$/;
  for (const note of ['by the bus stop', '', ' ', null, 0, false, { text: NAME }, [NAME], 'x'.repeat(281), NAME]) {
    const r = parseDecision(me, buf({ ...ok, note }));
    t.is(typeof r, 'string', `note ${JSON.stringify(note)} refused`);
    t.regex(r as string, NOTES_OVER_HTTPS);
    t.notRegex(r as string, /John|Smith|bus stop/, 'the reason never echoes the note');
  }
  // The note's reason comes first, whatever else is wrong with the message.
  t.regex(parseDecision(me, buf({ ...ok, outcome: 'arrest', note: 'x', [NAME]: 1 })) as string, NOTES_OVER_HTTPS);
  t.regex(parseDecision(me, buf({ ...ok, engagement: 'arrested', note: 'x' })) as string, NOTES_OVER_HTTPS);
  // Without the note the same decision is taken.
  t.like(parseDecision(me, buf(ok)) as object, { outcome: 'confirmed_match' });
  // The "allowed" list of an unknown-field refusal no longer offers `note`.
  t.notRegex(parseDecision(me, buf({ ...ok, extra: 1 })) as string, /note/);
});

test('wrong types and shapes are refused field by field, and the reason never echoes the payload', (t) => {
  const cases: [unknown, RegExp][] = [
    [null, /not a JSON object/],
    ['confirmed_match', /not a JSON object/],
    [{ ...ok, schema: '2' }, /unsupported schema/],
    [{ ...ok, alertId: 123456789012 }, /alertId/],
    [{ ...ok, outcome: { toString: NAME } }, /^outcome must be one of/],
    [{ ...ok, outcome: [NAME] }, /^outcome must be one of/],
    [{ ...ok, engagement: NAME }, /^engagement must be one of/],
    [{ ...ok, decidedAt: 1764000000000 }, /^decidedAt must be/],
    [{ ...ok, note: { text: NAME } }, /^notes are not taken over MQTT/],
    [{ ...ok, note: [NAME] }, /^notes are not taken over MQTT/],
    [{ ...ok, officerId: 1234 }, /officerId is not the signed-in officer/],
    [{ ...ok, officerId: NAME }, /officerId is not the signed-in officer/],
    [{ ...ok, deploymentId: `${NAME} at the station` }, /^deploymentId must be/],
    [{ ...ok, deploymentId: 7 }, /^deploymentId must be/],
    [{ ...ok, photoCheck: NAME }, /^photoCheck must be/],
    [{ ...ok, outcome: 'false_alert', engagement: 'arrested' }, /follows a confirmed match/],
    [{ ...ok, [NAME]: NAME, outcome: NAME }, /^1 unknown field\(s\)/],
    [JSON.parse(`{"schema":2,"alertId":"abcdef123456","outcome":"false_alert","decidedAt":"2026-11-23T12:00:00Z","__proto__":{"note":"${NAME}"}}`), /unknown field/],
  ];
  for (const [v, re] of cases) {
    const r = parseDecision(me, buf(v));
    t.is(typeof r, 'string', JSON.stringify(v));
    t.regex(r as string, re, JSON.stringify(v));
    t.notRegex(r as string, /John|Smith|station/, 'the reason is the schema\'s, not the sender\'s');
  }
});
