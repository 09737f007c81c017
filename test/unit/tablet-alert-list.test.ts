// The tablet page's in-memory alert list (web/tablet/alert-list.js, plain browser JS): the rules
// that keep an officer's screen honest, checked without a browser.
import test from 'ava';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { INSTALL_ROOT } from '../../src/paths.js';

interface Entry {
  alert: { alertId: string; faceJpeg: string };
  decision: string;
  sentOutcome: string | null;
  ack: { accepted: boolean; outcome?: string; reason?: string } | null;
}
interface AlertListT {
  add(a: unknown, now: number): Entry | null;
  ordered(): Entry[];
  beginDecision(id: string, outcome: string): boolean;
  ack(a: unknown): Entry | null;
  expire(now: number): string[];
  clear(): void;
}
const { AlertList } = (await import(pathToFileURL(path.join(INSTALL_ROOT, 'web/tablet/alert-list.js')).href)) as { AlertList: new () => AlertListT };

const T0 = Date.parse('2026-11-23T12:00:00Z');
const alert = (id: string, capturedOffsetS: number, ttlS = 3600) => ({
  schema: 1,
  alertId: id,
  capturedAt: new Date(T0 + capturedOffsetS * 1000).toISOString(),
  expiresAt: new Date(T0 + (capturedOffsetS + ttlS) * 1000).toISOString(),
  faceJpeg: 'AAAA',
  contextJpeg: 'BBBB',
  referenceJpeg: 'CCCC',
});

test('duplicates (QoS 1 re-delivery) are dropped; newest capture first', (t) => {
  const l = new AlertList();
  t.truthy(l.add(alert('a-00000001', 0), T0));
  t.truthy(l.add(alert('a-00000002', 10), T0));
  t.is(l.add(alert('a-00000001', 0), T0), null);
  t.truthy(l.add(alert('a-00000003', 5), T0));
  t.deepEqual(l.ordered().map((e) => e.alert.alertId), ['a-00000002', 'a-00000003', 'a-00000001']);
});

test('an alert already past its deletion time, or malformed, is never shown', (t) => {
  const l = new AlertList();
  t.is(l.add(alert('a-00000001', -7200), T0), null);
  t.is(l.add({ alertId: 'a-00000002', capturedAt: 'x', expiresAt: 'y' }, T0), null);
  t.is(l.add(null, T0), null);
  t.is(l.ordered().length, 0);
});

test('a decision is begun once only', (t) => {
  const l = new AlertList();
  l.add(alert('a-00000001', 0), T0);
  t.true(l.beginDecision('a-00000001', 'false_alert'));
  t.false(l.beginDecision('a-00000001', 'confirmed_match'));
  t.false(l.beginDecision('a-unknown1', 'false_alert'));
});

test('an ack before its alert is kept for it; a later refusal does not undo a recorded decision', (t) => {
  const l = new AlertList();
  t.is(l.ack({ alertId: 'a-00000001', accepted: true, outcome: 'not_engaged' }), null);
  const e = l.add(alert('a-00000001', 0), T0)!;
  t.is(e.decision, 'acked');
  t.false(l.beginDecision('a-00000001', 'false_alert'), 'decided elsewhere: no second decision');
  l.ack({ alertId: 'a-00000001', accepted: false, reason: 'already decided' });
  t.is(e.decision, 'acked');
  t.is(e.ack?.outcome, 'not_engaged');
});

test('a refusal of this tablet\'s own decision is shown as refused', (t) => {
  const l = new AlertList();
  const e = l.add(alert('a-00000001', 0), T0)!;
  l.beginDecision('a-00000001', 'confirmed_match');
  l.ack({ alertId: 'a-00000001', accepted: false, reason: 'already decided (false_alert by 77)' });
  t.is(e.decision, 'refused');
});

test('expiry removes the alert at its deletion time and drops its images', (t) => {
  const l = new AlertList();
  const e = l.add(alert('a-00000001', 0, 60), T0)!;
  l.add(alert('a-00000002', 0, 120), T0);
  t.deepEqual(l.expire(T0 + 59_999), []);
  t.deepEqual(l.expire(T0 + 60_000), ['a-00000001']);
  t.is(e.alert.faceJpeg, '');
  t.deepEqual(l.ordered().map((x) => x.alert.alertId), ['a-00000002']);
  l.clear();
  t.is(l.ordered().length, 0);
});
