// The tablet page's alert book (web/tablet/alert-list.js, plain browser JS), checked without a
// browser: one card per person, repeat sightings grouped, earlier vs live, one decision per
// sighting, the engagement step, acks from colleagues, refusals of one's own, expiry.
import test from 'ava';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { INSTALL_ROOT } from '../../src/paths.js';

interface Entry {
  alert: { alertId: string; faceJpeg: string };
  decision: { outcome: string; officerId: string; engagement: string | null } | null;
  sending: string | null;
  refused: string | null;
}
interface Card {
  key: string;
  subject: string;
  deploymentId: string | null;
  previous: boolean;
  entries: Entry[];
  latest: Entry;
  earlier: boolean;
  stage: string;
}
interface Book {
  add(a: unknown, now: number): Entry | null;
  has(id: string): boolean;
  sync(s: unknown): void;
  ack(a: unknown, me: string): Entry | null;
  cards(signInAt: number, runningId?: string | null): Card[];
  beginDecision(key: string, outcome: string, runningId?: string | null): Array<{ alertId: string; deploymentId: string | null }>;
  beginEngagement(key: string, e: string, runningId?: string | null): Array<{ alertId: string; deploymentId: string | null }>;
  expire(now: number, held?: Set<string> | null): string[];
  clear(): void;
}
const { AlertBook } = (await import(pathToFileURL(path.join(INSTALL_ROOT, 'web/tablet/alert-list.js')).href)) as { AlertBook: new () => Book };

const K = (subject: string, dep = 'dep-1') => `${dep}\u0000${subject}`;
const ids = (xs: Array<{ alertId: string }>) => xs.map((x) => x.alertId).sort();
const T0 = Date.parse('2026-11-23T12:00:00Z');
const alert = (id: string, subjectRef: string, capturedOffsetS: number, ttlS = 3600, deploymentId = 'dep-1', repeatOf: string | null = null) => ({
  schema: 2,
  alertId: id,
  subjectRef,
  deploymentId,
  repeatOf,
  capturedAt: new Date(T0 + capturedOffsetS * 1000).toISOString(),
  expiresAt: new Date(T0 + (capturedOffsetS + ttlS) * 1000).toISOString(),
  faceJpeg: 'AAAA',
  referenceJpeg: 'BBBB',
  contextJpeg: 'CCCC',
  decision: null,
});
const ack = (alertId: string, officerId: string, accepted: boolean, extra: object = {}) => ({ schema: 2, alertId, officerId, accepted, recordedAt: new Date(T0).toISOString(), ...extra });

test('duplicates, malformed and expired alerts are not added', (t) => {
  const b = new AlertBook();
  t.truthy(b.add(alert('a1', 'S-1', 0), T0));
  t.is(b.add(alert('a1', 'S-1', 0), T0), null);
  t.is(b.add({ alertId: 'x' }, T0), null);
  t.is(b.add(alert('a2', 'S-2', -7200, 3600), T0), null, 'already past its deletion time');
});

test('repeat sightings of one person make one card: newest face, count, earlier until a live sighting', (t) => {
  const b = new AlertBook();
  const signIn = T0 + 60_000;
  b.add(alert('a1', 'S-1', 0), T0);
  b.add(alert('a2', 'S-2', 30), T0);
  let cards = b.cards(signIn);
  t.deepEqual(cards.map((c) => [c.subject, c.earlier]), [['S-2', true], ['S-1', true]]);
  b.add(alert('a3', 'S-1', 120), T0);
  cards = b.cards(signIn);
  t.deepEqual(cards.map((c) => [c.subject, c.entries.length, c.latest.alert.alertId, c.earlier]), [['S-1', 2, 'a3', false], ['S-2', 1, 'a2', true]]);
});

test('a decision covers every undecided sighting once; then the engagement step; refusals only of my own', (t) => {
  const b = new AlertBook();
  b.add(alert('a1', 'S-1', 0), T0);
  b.add(alert('a2', 'S-1', 10), T0);
  t.deepEqual(ids(b.beginDecision(K('S-1'), 'confirmed_match', 'dep-1')), ['a1', 'a2']);
  t.deepEqual(b.beginDecision(K('S-1'), 'false_alert', 'dep-1'), [], 'never sent twice');
  t.is(b.cards(0)[0]!.stage, 'sending');
  b.ack(ack('a1', 'PC1', true, { outcome: 'confirmed_match' }), 'PC1');
  b.ack(ack('a2', 'PC1', true, { outcome: 'confirmed_match' }), 'PC1');
  t.is(b.cards(0)[0]!.stage, 'engage');
  t.deepEqual(ids(b.beginEngagement(K('S-1'), 'arrested', 'dep-1')), ['a1', 'a2']);
  t.is(b.cards(0)[0]!.stage, 'engaging');
  b.ack(ack('a1', 'PC1', true, { outcome: 'confirmed_match', engagement: 'arrested' }), 'PC1');
  b.ack(ack('a2', 'PC2', false, { reason: 'already decided' }), 'PC1'); // a colleague's refusal: not mine
  t.is(b.cards(0)[0]!.entries.find((e) => e.alert.alertId === 'a2')!.refused, null);
  b.ack(ack('a2', 'PC1', true, { outcome: 'confirmed_match', engagement: 'arrested' }), 'PC1');
  t.is(b.cards(0)[0]!.stage, 'done');
  // A new sighting after the decision re-opens the card for it alone.
  b.add(alert('a3', 'S-1', 20), T0);
  t.is(b.cards(0)[0]!.stage, 'open');
  t.deepEqual(ids(b.beginDecision(K('S-1'), 'not_engaged', 'dep-1')), ['a3']);
  b.ack(ack('a3', 'PC1', false, { reason: 'already decided (false_alert by PC2)' }), 'PC1');
  t.is(b.cards(0)[0]!.entries.find((e) => e.alert.alertId === 'a3')!.refused, 'already decided (false_alert by PC2)');
});

test("a colleague's accepted decision shows on my card", (t) => {
  const b = new AlertBook();
  b.add(alert('a1', 'S-1', 0), T0);
  b.ack(ack('a1', 'PC2', true, { outcome: 'false_alert' }), 'PC1');
  t.like(b.cards(0)[0]!.latest.decision, { outcome: 'false_alert', officerId: 'PC2' });
  t.is(b.cards(0)[0]!.stage, 'done');
});

test('expiry and purge remove alerts and drop their images', (t) => {
  const b = new AlertBook();
  const e1 = b.add(alert('a1', 'S-1', 0, 60), T0)!;
  b.add(alert('a2', 'S-2', 0, 3600), T0);
  b.add(alert('a3', 'S-3', 0, 3600), T0);
  t.deepEqual(b.expire(T0 + 61_000), ['a1']);
  t.is(e1.alert.faceJpeg, '');
  t.deepEqual(b.expire(T0 + 62_000, new Set(['a2'])), ['a3'], 'the van no longer holds a3');
  b.clear();
  t.deepEqual(b.cards(0), []);
});

test('cards never cross deployments: the same subject in an earlier deployment is another card, previous and read-only', (t) => {
  const b = new AlertBook();
  b.add(alert('old1', 'S-1', 0, 3600, 'dep-A'), T0);
  b.add(alert('old2', 'S-1', 10, 3600, 'dep-A'), T0);
  b.add(alert('new1', 'S-1', 100, 3600, 'dep-B'), T0);
  const cards = b.cards(0, 'dep-B');
  t.is(cards.length, 2);
  t.deepEqual(cards.map((c) => [c.deploymentId, c.subject, c.entries.length, c.previous]), [['dep-B', 'S-1', 1, false], ['dep-A', 'S-1', 2, true]]);
  // One tap on the running deployment's card decides its own sighting only.
  t.deepEqual(b.beginDecision(K('S-1', 'dep-B'), 'false_alert', 'dep-B'), [{ alertId: 'new1', deploymentId: 'dep-B' }]);
  // The earlier deployment's card is read-only here: nothing to send.
  t.deepEqual(b.beginDecision(K('S-1', 'dep-A'), 'false_alert', 'dep-B'), []);
  t.is(b.cards(0, 'dep-B').find((c) => c.deploymentId === 'dep-A')!.stage, 'open');
});

test('after a closing engagement, later sightings fold into the card as sightings with nothing to decide', (t) => {
  const b = new AlertBook();
  b.add(alert('a1', 'S-1', 0), T0);
  b.ack(ack('a1', 'PC1', true, { outcome: 'confirmed_match', engagement: 'arrested' }), 'PC1');
  b.add(alert('a2', 'S-1', 60, 3600, 'dep-1', 'a1'), T0);
  const [c] = b.cards(0, 'dep-1');
  t.is(c!.entries.length, 2);
  t.is(c!.stage, 'done', 'a repeat sighting does not reopen the card');
  t.deepEqual(b.beginDecision(K('S-1'), 'false_alert', 'dep-1'), []);
});
