// The MQTT contract (src/mqtt/topics.ts), pure: topic shapes, the strict decision parser, ids.
import test from 'ava';
import { ALERT_ID_RE, MAX_ADJUDICATION_BYTES, SCHEMA, alertIdFromTopic, decisionTopicParts, topicsFor } from '../../src/mqtt/topics.js';
import { parseDecision } from '../../src/mqtt/decision.js';
import { matches } from '../../src/mqtt/client.js';
import { newAlertId, normalisedBox } from '../../src/alerts/content.js';

const T = topicsFor('lfr', 'van-1');
const me = { officerId: 'PC1234', alertId: 'abcdef123456' };
const ok = { schema: SCHEMA, alertId: 'abcdef123456', outcome: 'false_alert', decidedAt: '2026-11-23T12:00:00Z' };
const buf = (v: unknown) => Buffer.from(JSON.stringify(v));

test('topics live under prefix/van; decisions under the officer', (t) => {
  t.is(T.availability, 'lfr/van-1/availability');
  t.is(T.alert('x1'), 'lfr/van-1/alerts/x1');
  t.is(T.adjudication('PC1', 'x1'), 'lfr/van-1/adjudications/PC1/x1');
  t.is(T.adjudicationsWildcard, 'lfr/van-1/adjudications/+/+');
  t.is(T.ack('x1'), 'lfr/van-1/acks/x1');
  t.is(alertIdFromTopic(T.alert('abcdef123456')), 'abcdef123456');
  t.is(alertIdFromTopic('lfr/van-1/alerts/../x'), null);
  t.deepEqual(decisionTopicParts(T.adjudication('PC1', 'abcdef123456')), { officerId: 'PC1', alertId: 'abcdef123456' });
  t.is(decisionTopicParts('lfr/van-1/adjudications/abcdef123456'), null);
  t.is(decisionTopicParts('lfr/van-1/adjudications/a b/abcdef123456'), null);
  t.is(decisionTopicParts('lfr/van-1/alerts/PC1/abcdef123456'), null);
});

test('a valid decision parses; the officer comes from the topic, not the payload', (t) => {
  t.like(parseDecision(me, buf(ok)) as object, { outcome: 'false_alert' });
  t.false('officerId' in (parseDecision(me, buf({ ...ok, officerId: 'PC1234' })) as object));
  t.like(parseDecision(me, buf({ ...ok, outcome: 'confirmed_match', engagement: 'arrested' })) as object, { engagement: 'arrested' });
});

test('malformed, retained and impersonating decisions are refused with a reason', (t) => {
  const cases: [Buffer, RegExp, boolean?][] = [
    [Buffer.from('{nope'), /JSON/],
    [buf([1, 2]), /object/],
    [buf({ ...ok, schema: 1 }), /schema/],
    [buf({ ...ok, alertId: 'other1234567' }), /match the topic/],
    [buf({ ...ok, outcome: 'arrest' }), /outcome/],
    [buf({ ...ok, officerId: 'PC9999' }), /not the signed-in officer/],
    [buf({ ...ok, decidedAt: 'yesterday' }), /decidedAt/],
    [buf({ ...ok, decidedAt: 'Tue 1 Dec 2026 seen by PC Smith' }), /decidedAt/],
    [buf({ ...ok, decidedAt: '2026-11-23T12:00:00Z John Smith' }), /decidedAt/],
    [buf({ ...ok, decidedAt: '2026-13-45T12:00:00Z' }), /decidedAt/],
    [buf({ ...ok, faceJpeg: 'xx' }), /unknown field/],
    [buf({ ...ok, engagement: 'arrested' }), /follows a confirmed match/],
    [buf({ ...ok, outcome: 'confirmed_match', engagement: 'shot' }), /engagement must be/],
    [buf({ ...ok, note: 'by the bus stop' }), /notes are not taken over MQTT/],
    [buf({ ...ok, note: 'x'.repeat(281) }), /notes are not taken over MQTT/],
    [Buffer.alloc(MAX_ADJUDICATION_BYTES + 1, 0x20), /too large/],
    [buf(ok), /retained/, true],
  ];
  for (const [raw, re, retained] of cases) {
    const r = parseDecision(me, raw, retained);
    t.is(typeof r, 'string');
    t.regex(r as string, re);
  }
  // Reasons are audited: they never echo what the tablet sent.
  for (const raw of [buf({ ...ok, 'John Smith': 1 }), buf({ ...ok, schema: 'John Smith' }), buf({ ...ok, officerId: 'John Smith' }), buf({ ...ok, decidedAt: 'John Smith' })]) {
    t.notRegex(parseDecision(me, raw) as string, /John|Smith/);
  }
});

test('decidedAt is stored as UTC ISO-8601 whatever offset the tablet used', (t) => {
  t.like(parseDecision(me, buf({ ...ok, decidedAt: '2026-11-23T13:00:00+01:00' })) as object, { decidedAt: '2026-11-23T12:00:00.000Z' });
});

test('topic filter matching', (t) => {
  t.true(matches('lfr/+/adjudications/+/+', 'lfr/van-1/adjudications/PC1/abc'));
  t.false(matches('lfr/+/adjudications/+/+', 'lfr/van-1/adjudications/abc'));
  t.true(matches('lfr/#', 'lfr/van-1/x'));
  t.false(matches('lfr/+/status', 'lfr/van-1/availability'));
});

test('alert ids are topic-safe, time-sortable and distinct', (t) => {
  const a = newAlertId(1_700_000_000_000);
  const b = newAlertId(1_700_000_000_001);
  t.regex(a, ALERT_ID_RE);
  t.true(a < b);
  t.not(newAlertId(5), newAlertId(5));
});

test('bounding boxes are normalised to the frame and clamped', (t) => {
  t.deepEqual(normalisedBox({ faceBox: { x: 100, y: 50, width: 200, height: 100 }, frameWidth: 1000, frameHeight: 500 }), { left: 0.1, top: 0.1, right: 0.3, bottom: 0.3 });
  t.deepEqual(normalisedBox({ faceBox: { x: -10, y: 0, width: 2000, height: 10 }, frameWidth: 1000, frameHeight: 500 }), { left: 0, top: 0, right: 1, bottom: 0.02 });
});
