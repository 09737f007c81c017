// Protocol maths of lfr eval on synthetic scores: fold split, threshold choice, k-fold accuracy,
// TAR@FAR, FPIR/FNIR and the 1:N operating points.
import test from 'ava';
import { limitPairs, parseExcludeList, parsePairs, splitWatchlist } from '../../src/tools/eval/datasets.js';
import { pickCentralFace } from '../../src/tools/eval/embed-images.js';
import { meanTemplate, templatesFor } from '../../src/tools/eval/references.js';
import {
  accuracyAt,
  bestThreshold,
  fnirAt,
  identificationPoints,
  kFold,
  matedHit,
  sampleStd,
  tarAtFar,
  thresholdAtFalseRate,
  type ScoredPair,
} from '../../src/tools/eval/protocol.js';

const pairsText = (folds: number, per: number): string => {
  const lines = [`${folds}\t${per}`];
  for (let f = 0; f < folds; f++) {
    for (let i = 0; i < per; i++) lines.push(`Same_${f}_${i}\t1\t2`);
    for (let i = 0; i < per; i++) lines.push(`A_${f}_${i}\t1\tB_${f}_${i}\t3`);
  }
  return lines.join('\n') + '\n';
};

test('parsePairs assigns folds by position and builds LFW paths', (t) => {
  const p = parsePairs(pairsText(10, 3));
  t.is(p.length, 60);
  t.deepEqual(p.map((x) => x.fold).filter((f, i, a) => a.indexOf(f) === i), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  t.true(p.slice(0, 3).every((x) => x.same && x.fold === 0));
  t.true(p.slice(3, 6).every((x) => !x.same && x.fold === 0));
  t.is(p[0]!.a, 'Same_0_0/Same_0_0_0001.jpg');
  t.is(p[3]!.b, 'B_0_0/B_0_0_0003.jpg');
  t.is(p[6]!.fold, 1);
});

test('parsePairs rejects a bad header, a bad line and a short file with the line number', (t) => {
  t.throws(() => parsePairs('ten 300\n'), { message: /first line/ });
  t.throws(() => parsePairs('1 1\nX 1 2\nY 1\n'), { message: /line 3/ });
  t.throws(() => parsePairs('1 1\nX 1 x\nY 1 Z 2\n'), { message: /line 2: "x"/ });
  t.throws(() => parsePairs('2 1\nX 1 2\nY 1 Z 2\n'), { message: /promises 2 folds/ });
});

test('limitPairs keeps every fold and both kinds of pair', (t) => {
  const lim = limitPairs(parsePairs(pairsText(10, 30)), 100);
  t.is(lim.length, 100);
  for (let f = 0; f < 10; f++) {
    t.is(lim.filter((p) => p.fold === f && p.same).length, 5);
    t.is(lim.filter((p) => p.fold === f && !p.same).length, 5);
  }
});

test('bestThreshold separates perfectly separable scores midway', (t) => {
  const pairs: ScoredPair[] = [
    { score: 0.9, same: true, fold: 0 },
    { score: 0.7, same: true, fold: 0 },
    { score: 0.3, same: false, fold: 0 },
    { score: 0.1, same: false, fold: 0 },
  ];
  const r = bestThreshold(pairs);
  t.is(r.accuracy, 1);
  t.is(r.threshold, 0.5);
  t.is(accuracyAt(pairs, r.threshold), 1);
});

test('bestThreshold handles ties and all-one-class data', (t) => {
  const tied: ScoredPair[] = [
    { score: 0.5, same: true, fold: 0 },
    { score: 0.5, same: false, fold: 0 },
    { score: 0.8, same: true, fold: 0 },
  ];
  const r = bestThreshold(tied);
  t.is(r.accuracy, 2 / 3);
  t.is(accuracyAt(tied, r.threshold), 2 / 3);
  const allSame = bestThreshold([{ score: 0.2, same: true, fold: 0 }, { score: 0.4, same: true, fold: 0 }]);
  t.is(allSame.accuracy, 1);
  t.true(allSame.threshold <= 0.2);
  const allDiff = bestThreshold([{ score: 0.2, same: false, fold: 0 }]);
  t.true(allDiff.threshold > 0.2);
});

test('bestThreshold agrees with a brute-force search on random scores', (t) => {
  let seed = 7;
  const rnd = (): number => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
  const pairs: ScoredPair[] = [];
  for (let i = 0; i < 300; i++) pairs.push({ score: Math.round((rnd() * 0.6 + (i % 2 ? 0.35 : 0)) * 100) / 100, same: i % 2 === 1, fold: 0 });
  const brute = Math.max(...[...new Set(pairs.map((p) => p.score)), 2].map((s) => accuracyAt(pairs, s)));
  const r = bestThreshold(pairs);
  t.is(r.accuracy, brute);
  t.is(accuracyAt(pairs, r.threshold), brute);
});

test('kFold picks the threshold on the other folds and reports the held-out accuracy', (t) => {
  // Folds 0..8 are separable at 0.5; fold 9 has one genuine pair at 0.45 which the
  // threshold chosen elsewhere (0.5) gets wrong: its accuracy is 3/4.
  const pairs: ScoredPair[] = [];
  for (let f = 0; f < 10; f++) {
    pairs.push({ score: 0.8, same: true, fold: f }, { score: f === 9 ? 0.45 : 0.6, same: true, fold: f });
    pairs.push({ score: 0.4, same: false, fold: f }, { score: 0.2, same: false, fold: f });
  }
  const r = kFold(pairs);
  t.is(r.folds.length, 10);
  t.is(r.folds[9]!.accuracy, 0.75);
  t.true(r.folds.slice(0, 9).every((f) => f.accuracy === 1));
  t.true(Math.abs(r.accuracy - 0.975) < 1e-12);
  const accs = r.folds.map((f) => f.accuracy);
  t.true(Math.abs(r.accuracyStd - sampleStd(accs)) < 1e-15);
  t.true(Math.abs(r.accuracyStd - Math.sqrt((9 * 0.025 ** 2 + 0.225 ** 2) / 9)) < 1e-12);
  t.true(Math.abs(r.standardError - r.accuracyStd / Math.sqrt(10)) < 1e-15);
});

test('thresholdAtFalseRate lets at most floor(rate * n) negatives through', (t) => {
  const neg = Array.from({ length: 1000 }, (_, i) => i / 1000); // 0 .. 0.999
  const op = thresholdAtFalseRate(neg, 1e-2)!;
  t.is(op.falseCount, 10);
  t.is(op.falseRate, 0.01);
  t.is(neg.filter((s) => s >= op.threshold).length, 10);
  t.is(neg.filter((s) => s > op.threshold).length, 10);
  const zero = thresholdAtFalseRate(neg, 0)!;
  t.is(zero.falseCount, 0);
  t.true(zero.threshold > 0.999);
  // Ties at the cut: never more false accepts than allowed.
  const tied = thresholdAtFalseRate([0.9, 0.9, 0.9, 0.1], 0.5)!;
  t.is(tied.falseCount, 0);
  t.is([0.9, 0.9, 0.9, 0.1].filter((s) => s >= tied.threshold).length, 0);
  t.is(thresholdAtFalseRate([], 0.1), undefined);
});

test('tarAtFar counts genuine scores at or above the impostor threshold', (t) => {
  const impostor = Array.from({ length: 1000 }, (_, i) => i / 2000); // 0 .. 0.4995
  const genuine = [0.1, 0.3, 0.49, 0.6, 0.9];
  const r = tarAtFar(genuine, impostor, 1e-3)!;
  t.is(r.far, 1e-3);
  t.true(r.threshold > 0.4985 && r.threshold < 0.4995);
  t.is(r.tar, 2 / 5);
});

test('1:N: a mated search hits only when the mate is rank 1 and at or above the threshold', (t) => {
  t.true(matedHit({ mateScore: 0.6, bestNonMateScore: 0.3, failed: false }, 0.5));
  t.false(matedHit({ mateScore: 0.6, bestNonMateScore: 0.7, failed: false }, 0.5));
  t.false(matedHit({ mateScore: 0.4, bestNonMateScore: 0.1, failed: false }, 0.5));
  t.false(matedHit({ mateScore: 0.9, bestNonMateScore: 0.1, failed: true }, 0.5));
  t.false(matedHit({ mateScore: -Infinity, bestNonMateScore: 0.1, failed: false }, 0.5));
});

test('identificationPoints: FNIR at FPIR targets and at the lowest measurable FPIR', (t) => {
  // 200 non-mated best scores 0 .. 0.995; 10 mated searches with mate scores 0.5 .. 0.95.
  const nonMated = Array.from({ length: 200 }, (_, i) => i / 200);
  const mated = Array.from({ length: 10 }, (_, i) => ({ mateScore: 0.5 + i * 0.05, bestNonMateScore: 0, failed: false }));
  const pts = identificationPoints(mated, nonMated, [1e-2, 1e-3]);
  // 1e-2 of 200 = 2 false alerts: threshold between 0.985 and 0.99 -> every mate below it.
  t.is(pts[0]!.fpir, 0.01);
  t.is(pts[0]!.falseAlerts, 2);
  t.is(pts[0]!.fnir, 1);
  // 1e-3 of 200 = 0 false alerts: the same point as "lowest measurable", so listed once.
  t.is(pts.length, 2);
  t.is(pts[1]!.fpir, 0);
  t.is(fnirAt(mated, 0.5), 0);
  t.is(fnirAt(mated, 0.74), 0.5);
});

test('splitWatchlist: >=2 images enrolled with the first, singletons non-mated, exclusions reported', (t) => {
  const s = splitWatchlist(
    [
      { name: 'A', images: ['A/1.jpg', 'A/2.jpg', 'A/3.jpg'] },
      { name: 'B', images: ['B/1.jpg'] },
      { name: 'C', images: ['C/1.jpg'] },
    ],
    ['C'],
  );
  t.deepEqual(s.enrolled, [{ name: 'A', reference: 'A/1.jpg', probes: ['A/2.jpg', 'A/3.jpg'] }]);
  t.deepEqual(s.nonMated, [{ name: 'B', image: 'B/1.jpg' }]);
  t.deepEqual(s.excluded, ['C']);
  t.deepEqual(parseExcludeList('# comment\nHasan_Wirayuda\tHassan (spelling)\n\nPlain_Name\n'), ['Hasan_Wirayuda', 'Plain_Name']);
});

test('pickCentralFace prefers the largest face covering the centre, else the nearest', (t) => {
  const det = (x: number, y: number, w: number) => ({ box: { x, y, width: w, height: w }, score: 0.9, landmarks: [] });
  const small = det(110, 110, 40);
  const big = det(70, 70, 120);
  const edge = det(0, 0, 60);
  t.is(pickCentralFace([edge, small, big], 250, 250), big);
  const near = det(140, 100, 30);
  t.is(pickCentralFace([edge, near], 250, 250), near);
  t.is(pickCentralFace([], 250, 250), undefined);
});

test('several references: the mean template is the normalised direction they share; strategies build their galleries', (t) => {
  const a = new Float32Array([1, 0, 0]);
  const b = new Float32Array([0, 1, 0]);
  const m = meanTemplate([a, b]);
  t.true(Math.abs(m[0]! - Math.SQRT1_2) < 1e-6 && Math.abs(m[1]! - Math.SQRT1_2) < 1e-6 && m[2] === 0);
  t.deepEqual(templatesFor('first', [a, b]), [a]);
  t.deepEqual(templatesFor('each', [a, b]), [a, b]);
  t.is(templatesFor('mean', [a, b]).length, 1);
  t.is(templatesFor('both', [a, b]).length, 3);
  t.is(templatesFor('both', [a]).length, 1, 'one reference: no separate mean');
  t.deepEqual(templatesFor('each', []), []);
});
