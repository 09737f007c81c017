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
  const f = new TrackFusion(2, { keep: 2 });
  const one = f.add(1, v(1, 0), 1);
  t.deepEqual([...one], [1, 0]);
  const two = f.add(1, v(0, 1), 3); // weights 1 and 3
  t.true(Math.abs(two[0]! - 1 / Math.hypot(1, 3)) < 1e-6 && Math.abs(two[1]! - 3 / Math.hypot(1, 3)) < 1e-6);
  // A third, weaker look does not displace the best two; a stronger one replaces the weakest.
  const weak = f.add(1, v(-1, 0), 0.5);
  t.true(Math.abs(weak[0]! - 1 / Math.hypot(1, 3)) < 1e-6);
  const strong = f.add(1, v(-1, 0), 3);
  t.true(Math.abs(strong[0]! + Math.SQRT1_2) < 1e-6 && Math.abs(strong[1]! - Math.SQRT1_2) < 1e-6);
  // Tracks are separate.
  t.deepEqual([...f.add(2, v(1, 0), 1)], [1, 0]);
  t.is(f.size, 2);
});

test('looks are copies, and every buffer is zero after the track ends or the camera stops', (t) => {
  const f = new TrackFusion(3, { keep: 3 });
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
