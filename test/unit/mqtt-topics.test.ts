import test from 'ava';
import { ALERT_ID_RE, MAX_ADJUDICATION_BYTES, SCHEMA, alertIdFromTopic, parseAdjudication, topicsFor } from '../../src/mqtt/topics.js';
import { matches } from '../../src/mqtt/client.js';
import { newAlertId, normalisedBox } from '../../src/alerts/payload.js';

const T = topicsFor('lfr', 'van-1');
const ok = { schema: SCHEMA, alertId: 'abcdef123456', outcome: 'false_alert', officerId: 'PC1234', decidedAt: '2026-11-23T12:00:00Z' };
const buf = (v: unknown) => Buffer.from(JSON.stringify(v));

test('topics live under prefix/van', (t) => {
  t.is(T.availability, 'lfr/van-1/availability');
  t.is(T.alert('x1'), 'lfr/van-1/alerts/x1');
  t.is(T.adjudication('x1'), 'lfr/van-1/adjudications/x1');
  t.is(T.ack('x1'), 'lfr/van-1/acks/x1');
  t.is(alertIdFromTopic(T.adjudication('abcdef123456')), 'abcdef123456');
  t.is(alertIdFromTopic('lfr/van-1/adjudications/../x'), null);
});

test('a valid adjudication parses', (t) => {
  const r = parseAdjudication('abcdef123456', buf(ok));
  t.like(r as object, { outcome: 'false_alert', officerId: 'PC1234' });
});

test('malformed adjudications are refused with a reason', (t) => {
  const cases: [Buffer, RegExp][] = [
    [Buffer.from('{nope'), /JSON/],
    [buf([1, 2]), /object/],
    [buf({ ...ok, schema: 2 }), /schema/],
    [buf({ ...ok, alertId: 'other1234567' }), /match the topic/],
    [buf({ ...ok, outcome: 'arrest' }), /outcome/],
    [buf({ ...ok, officerId: 'a b' }), /officerId/],
    [buf({ ...ok, decidedAt: 'yesterday' }), /decidedAt/],
    [buf({ ...ok, faceJpeg: 'xx' }), /unknown field/],
    [Buffer.alloc(MAX_ADJUDICATION_BYTES + 1, 0x20), /too large/],
  ];
  for (const [raw, re] of cases) {
    const r = parseAdjudication('abcdef123456', raw);
    t.is(typeof r, 'string');
    t.regex(r as string, re);
  }
});

test('topic filter matching', (t) => {
  t.true(matches('lfr/+/adjudications/+', 'lfr/van-1/adjudications/abc'));
  t.false(matches('lfr/+/adjudications/+', 'lfr/van-1/adjudications/abc/x'));
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
