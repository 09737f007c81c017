import test from 'ava';
import { AlertPolicy } from '../../src/match/policy.js';
import { FaceTracker, iou } from '../../src/match/tracker.js';
import { shouldEmbed, noteEmbedded, qualityScore } from '../../src/match/schedule.js';
import type { FaceQuality } from '../../src/vision/types.js';

const settings = { threshold: 0.5, minObservations: 2, cooldownMs: 60_000 };
const obs = (trackId: number, score: number, at: number, subjectId = 's1', camera = 'c1') => ({ camera, trackId, subjectId, score, at });

test('one observation above the threshold is only pending; the second raises one alert', (t) => {
  const p = new AlertPolicy(settings);
  t.is(p.observe(obs(1, 0.7, 0)).kind, 'pending');
  t.true(p.awaiting('c1', 1));
  const v = p.observe(obs(1, 0.8, 100));
  t.is(v.kind, 'alert');
  if (v.kind === 'alert') t.is(v.score, 0.8);
  t.deepEqual(p.observe(obs(1, 0.9, 200)), { kind: 'suppressed', subjectId: 's1', why: 'already_alerted' });
  t.false(p.awaiting('c1', 1));
});

test('a score just below the threshold never alerts; exactly at the threshold counts', (t) => {
  const p = new AlertPolicy(settings);
  for (let i = 0; i < 10; i++) t.is(p.observe(obs(1, 0.4999, i)).kind, 'no_match');
  p.observe(obs(2, 0.5, 0));
  t.is(p.observe(obs(2, 0.5, 1)).kind, 'alert');
});

test('cooldown: a new track of the same subject on the same camera is suppressed, another camera is not', (t) => {
  const p = new AlertPolicy(settings);
  p.observe(obs(1, 0.7, 0));
  t.is(p.observe(obs(1, 0.7, 10)).kind, 'alert');
  p.observe(obs(2, 0.7, 30_000));
  t.is(p.observe(obs(2, 0.7, 30_010)).kind, 'suppressed');
  p.observe(obs(3, 0.7, 30_000, 's1', 'c2'));
  t.is(p.observe(obs(3, 0.7, 30_010, 's1', 'c2')).kind, 'alert');
  p.observe(obs(4, 0.7, 61_000));
  t.is(p.observe(obs(4, 0.7, 61_010)).kind, 'alert', 'after the cooldown the subject alerts again');
});

test('observations of different subjects on one track do not add up', (t) => {
  const p = new AlertPolicy(settings);
  t.is(p.observe(obs(1, 0.7, 0, 'a')).kind, 'pending');
  t.is(p.observe(obs(1, 0.7, 1, 'b')).kind, 'pending');
  t.is(p.observe(obs(1, 0.7, 2, 'a')).kind, 'alert');
});

test('tracker keeps one id for a face moving across frames and starts a new one far away', (t) => {
  const tr = new FaceTracker();
  const a = tr.update([{ x: 100, y: 100, width: 50, height: 60 }], 0);
  const b = tr.update([{ x: 110, y: 104, width: 52, height: 62 }, { x: 600, y: 100, width: 50, height: 60 }], 40);
  t.is(b.trackIds[0], a.trackIds[0]);
  t.not(b.trackIds[1], a.trackIds[0]);
  t.is(tr.active.length, 2);
  // One analysed frame without them is not yet proof they left (detector flicker); two in a row
  // past the miss window end both.
  t.is(tr.update([], 2000).ended.length, 0);
  const c = tr.update([], 2100);
  t.is(c.ended.length, 2);
  t.is(tr.active.length, 0);
});

test('tracker: two faces swap nothing when both move a little', (t) => {
  const tr = new FaceTracker();
  const a = tr.update([{ x: 0, y: 0, width: 40, height: 40 }, { x: 100, y: 0, width: 40, height: 40 }], 0);
  const b = tr.update([{ x: 104, y: 2, width: 40, height: 40 }, { x: 5, y: 1, width: 40, height: 40 }], 40);
  t.is(b.trackIds[0], a.trackIds[1]);
  t.is(b.trackIds[1], a.trackIds[0]);
  t.true(iou({ x: 0, y: 0, width: 10, height: 10 }, { x: 5, y: 0, width: 10, height: 10 }) > 0.3);
});

const q = (interEyePx: number, yawDeg = 0): FaceQuality => ({ interEyePx, faceHeightPx: interEyePx * 3, sharpness: 100, yawDeg, pitchDeg: 0, rollDeg: 0, detectorScore: 0.9, ok: true, reasons: [] });

test('embedding schedule: first look, clear improvement, confirmation pace, never every frame', (t) => {
  const tr = new FaceTracker();
  const id = tr.update([{ x: 0, y: 0, width: 40, height: 40 }], 0).trackIds[0]!;
  const track = tr.get(id)!;
  const q1 = qualityScore(q(20));
  t.true(shouldEmbed(track, q1, false, 0));
  noteEmbedded(track, q1, 0);
  t.false(shouldEmbed(track, qualityScore(q(20.5)), false, 40), 'a marginally better face is not re-embedded');
  t.true(shouldEmbed(track, qualityScore(q(30)), false, 80), 'a clearly better face is');
  t.false(shouldEmbed(track, q1, true, 100), 'confirmation waits for the interval');
  t.true(shouldEmbed(track, q1, true, 200));
  t.true(qualityScore(q(30, 60)) < qualityScore(q(30, 0)), 'a turned face scores lower');
});
