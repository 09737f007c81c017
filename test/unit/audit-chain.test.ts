import test from 'ava';
import { AUDIT_MAX_STRING, checkFields, entryHash } from '../../src/audit/log.js';

const base = { seq: 1, at: '2026-11-23T12:00:00.000Z', type: 'alert.raised', actor: null, fields: { alertId: 'abc12345', score: 0.71 }, prev: '0'.repeat(64) };

test('the entry hash covers every part of the entry', (t) => {
  const h = entryHash(base);
  t.regex(h, /^[0-9a-f]{64}$/);
  t.not(entryHash({ ...base, seq: 2 }), h);
  t.not(entryHash({ ...base, at: '2026-11-23T12:00:00.001Z' }), h);
  t.not(entryHash({ ...base, type: 'alert.purged' }), h);
  t.not(entryHash({ ...base, actor: 'PC123' }), h);
  t.not(entryHash({ ...base, fields: { alertId: 'abc12345', score: 0.72 } }), h);
  t.not(entryHash({ ...base, prev: '1'.repeat(64) }), h);
});

test('field order does not change the hash (canonical form)', (t) => {
  t.is(entryHash({ ...base, fields: { score: 0.71, alertId: 'abc12345' } }), entryHash(base));
});

test('images, templates and nested objects cannot enter the audit trail', (t) => {
  t.notThrows(() => checkFields({ a: 'x', b: 1, c: true, d: null }));
  t.throws(() => checkFields({ faceJpeg: 'A'.repeat(AUDIT_MAX_STRING + 1) }), { message: /too long/ });
  t.throws(() => checkFields({ template: [0.1, 0.2] as unknown as string }), { message: /string, number/ });
  t.throws(() => checkFields({ nested: { a: 1 } as unknown as string }));
  t.throws(() => checkFields({ 'bad key': 1 }));
  t.throws(() => checkFields({ n: Number.POSITIVE_INFINITY }));
});
