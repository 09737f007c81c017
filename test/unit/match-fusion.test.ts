// Unit: track fusion (src/match/fusion.ts). Pure: the quality-weighted mean of a track's best
// looks, and that every buffer holding a look is wiped when the track ends.
import test from 'ava';
import { TrackFusion } from '../../src/match/fusion.js';

const v = (...xs: number[]): Float32Array => {
  const a = Float32Array.from(xs);
  const n = Math.hypot(...a);
  return a.map((x) => x / n);
};

test('the fused template is the quality-weighted mean of the best looks, L2-normalised', (t) => {
  const f = new TrackFusion(2, { keep: 2, minSimilarity: 0 });
  const one = f.add(1, v(1, 0), 1);
  t.deepEqual([...one], [1, 0]);
  const two = f.add(1, v(0, 1), 3); // weights 1 and 3
  t.true(Math.abs(two[0]! - 1 / Math.hypot(1, 3)) < 1e-6 && Math.abs(two[1]! - 3 / Math.hypot(1, 3)) < 1e-6);
  // A third, weaker look does not displace the best two, but counts in its own search (the face
  // an alert would show is always part of what was searched).
  const weak = f.add(1, v(1, 1), 0.5);
  const w = [1 + 0.5 * Math.SQRT1_2, 3 + 0.5 * Math.SQRT1_2];
  t.true(Math.abs(weak[0]! - w[0]! / Math.hypot(w[0]!, w[1]!)) < 1e-6);
  // ... and the next search is back to the held two plus its own look.
  const again = f.add(1, v(0, 1), 0.5);
  t.true(Math.abs(again[0]! - 1 / Math.hypot(1, 3.5)) < 1e-6);
  // A stronger one replaces the weakest.
  const strong = f.add(1, v(-1, 0), 3);
  t.true(Math.abs(strong[0]! + Math.SQRT1_2) < 1e-6 && Math.abs(strong[1]! - Math.SQRT1_2) < 1e-6);
  // Tracks are separate.
  t.deepEqual([...f.add(2, v(1, 0), 1)], [1, 0]);
  t.is(f.size, 2);
});

// Two people in one place (issue 19): embeddings on different axes are different people; a small
// tilt is the same person in another frame.
const wanted = v(1, 0.1, 0);
const wanted2 = v(1, 0, 0.15);
const stranger = v(0.1, 1, 0);

test('appearance gate: a wanted person then a stranger in the same track: the stranger disagrees and is never fused', (t) => {
  const f = new TrackFusion(3, { keep: 3, minSimilarity: 0.4 });
  t.true(f.agrees(1, wanted), 'a track without looks accepts its first');
  f.add(1, wanted, 1);
  t.true(f.agrees(1, wanted2), 'another look of the same person agrees');
  f.add(1, wanted2, 1);
  t.false(f.agrees(1, stranger), 'the stranger is another person');
  t.true(f.similarity(1, stranger)! < 0.4);
  // The analyser gives the stranger a new track: searched alone, exactly its own look.
  t.deepEqual([...f.add(2, stranger, 1)], [...stranger]);
});

test('appearance gate: a stranger then a wanted person: the wanted person is searched alone, not diluted', (t) => {
  const f = new TrackFusion(3, { keep: 3, minSimilarity: 0.4 });
  f.add(1, stranger, 5);
  t.false(f.agrees(1, wanted));
  const alone = f.add(2, wanted, 1);
  const score = alone[0]! * wanted[0]! + alone[1]! * wanted[1]! + alone[2]! * wanted[2]!;
  t.true(Math.abs(score - 1) < 1e-6, 'the wanted look scores against itself as itself');
  t.is(f.similarity(3, wanted), null, 'an unknown track holds nothing');
});

test('looks are copies, and every buffer is zero after the track ends or the camera stops', (t) => {
  const f = new TrackFusion(3, { keep: 3, minSimilarity: 0.4 });
  const mine = v(1, 2, 3);
  f.add(7, mine, 1);
  mine.fill(0); // the caller wipes its own embedding right after the search
  const held = f.buffersOf(7);
  t.true(held.some((b) => b.some((x) => x !== 0)), 'the look was copied');
  f.end(7);
  for (const b of held) t.true(b.every((x) => x === 0));
  t.is(f.size, 0);
  f.add(8, v(1, 1, 1), 1);
  f.add(9, v(1, 0, 1), 1);
  const all = [...f.buffersOf(8), ...f.buffersOf(9)];
  f.clear();
  for (const b of all) t.true(b.every((x) => x === 0));
  t.throws(() => f.add(1, new Float32Array(2), 1), { instanceOf: RangeError });
});
