import test from 'ava';
import { Tracker, iou, centreShift, type TrackerSettings } from '../../src/match/tracker.js';

const S: TrackerSettings = { maxMissMs: 1000, minIou: 0.2, maxCentreShift: 1, qualityGain: 1.1, reembedIntervalMs: 400, wantEmbeddings: 2 };
const box = (x: number, y = 100, w = 50) => ({ x, y, width: w, height: w * 1.2 });

test('iou and centre shift geometry', (t) => {
  t.is(iou(box(0), box(0)), 1);
  t.is(iou(box(0), box(500)), 0);
  t.true(Math.abs(iou(box(0, 0, 10), { x: 5, y: 0, width: 10, height: 12 }) - 1 / 3) < 1e-9);
  t.is(centreShift(box(0), box(50)), 1);
});

test('one person walking across the zone is one track', (t) => {
  const tr = new Tracker(S);
  const ids = new Set<number>();
  for (let i = 0; i < 40; i++) {
    // 10 fps, moving 15 px per frame (a brisk walk at this face size)
    const { assignments } = tr.update([{ box: box(100 + i * 15), quality: 10 }], i * 100);
    ids.add(assignments[0]!.trackId);
  }
  t.is(ids.size, 1);
  t.is(tr.started, 1);
});

test('two people side by side keep their own tracks, also when the order of detections swaps', (t) => {
  const tr = new Tracker(S);
  const a0 = tr.update([{ box: box(100), quality: 5 }, { box: box(400), quality: 5 }], 0).assignments;
  const a1 = tr.update([{ box: box(410), quality: 5 }, { box: box(110), quality: 5 }], 100).assignments;
  t.is(a1[0]!.trackId, a0[1]!.trackId);
  t.is(a1[1]!.trackId, a0[0]!.trackId);
  t.false(a1[0]!.isNew);
});

test('a fast move without overlap continues by centre distance; a far jump starts a new track', (t) => {
  const tr = new Tracker(S);
  const first = tr.update([{ box: box(100), quality: 5 }], 0).assignments[0]!;
  const near = tr.update([{ box: box(145) }].map((f) => ({ ...f, quality: 5 })), 100).assignments[0]!;
  t.is(near.trackId, first.trackId);
  const far = tr.update([{ box: box(900), quality: 5 }], 200).assignments[0]!;
  t.not(far.trackId, first.trackId);
  t.true(far.isNew);
});

test('a track ends after the miss time and a later face is a new track', (t) => {
  const tr = new Tracker(S);
  const a = tr.update([{ box: box(100), quality: 5 }], 0).assignments[0]!;
  t.deepEqual(tr.update([], 1000).ended, []); // exactly maxMissMs: still alive
  const r = tr.update([{ box: box(100), quality: 5 }], 1001);
  t.deepEqual(r.ended, [a.trackId]);
  t.not(r.assignments[0]!.trackId, a.trackId);
  t.is(tr.active, 1);
});

test('embedding schedule: first good face, then only quality gains (plus top-up to wantEmbeddings)', (t) => {
  const tr = new Tracker(S);
  const e = (q: number, now: number) => tr.update([{ box: box(100), quality: q }], now).assignments[0]!.embed;
  t.false(e(0, 0), 'a face failing the gate (quality 0) is never embedded');
  t.true(e(10, 100), 'first good face');
  t.false(e(10.5, 200), 'gain below 1.1x, top-up interval not reached');
  t.true(e(10.5, 500), 'top-up: only one embedding so far and 400 ms passed');
  t.false(e(10.9, 1000), 'wantEmbeddings reached, no gain of 10%');
  t.false(e(10, 1100));
  t.true(e(11.6, 1200), '>= 1.1 x best (10.5)');
  t.false(e(12, 1300));
});

test('clear() ends every track', (t) => {
  const tr = new Tracker(S);
  tr.update([{ box: box(100), quality: 5 }, { box: box(400), quality: 5 }], 0);
  t.is(tr.clear().length, 2);
  t.is(tr.active, 0);
});
