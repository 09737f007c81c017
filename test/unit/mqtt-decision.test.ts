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
  const full = { ...ok, engagement: 'arrested', note: 'by the bus stop', officerId: 'PC1234', deploymentId: 'dep-2026-11-23-0a1b2c3d', photoCheck: 'chk-0123456789abcdef' };
  t.deepEqual(Object.keys(DecisionSchema.shape).sort(), Object.keys(full).sort());
  t.deepEqual(parseDecision(me, buf(full)), { schema: SCHEMA, alertId: me.alertId, outcome: 'confirmed_match', engagement: 'arrested', decidedAt: '2026-11-23T12:00:00.000Z', note: 'by the bus stop', deploymentId: 'dep-2026-11-23-0a1b2c3d', photoCheck: 'chk-0123456789abcdef' });
  t.like(parseDecision(me, buf({ ...ok, deploymentId: null })) as object, { deploymentId: null });
  t.false('note' in (parseDecision(me, buf({ ...ok, note: '' })) as object), 'an empty note is none');
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
    [{ ...ok, note: { text: NAME } }, /^note must be a string/],
    [{ ...ok, note: [NAME] }, /^note must be a string/],
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
