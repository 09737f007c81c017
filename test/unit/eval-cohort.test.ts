// Cohort score normalisation of the 1:N evaluation (src/tools/eval/cohort.ts): the maths on
// hand-made vectors, and the fixed hash split that keeps cohort faces out of the probes.
import test from 'ava';
import { calibrationHalf } from '../../src/tools/eval/equitability.js';
import { cohortMember, cohortStats, normalise } from '../../src/tools/eval/cohort.js';

test('cohort statistics: mean and spread of a probe against the cohort; a flat cohort does not divide by zero', (t) => {
  // Cohort of 4 unit vectors in 2-d; the probe (1,0) scores 1, 0, -1, 0 against them.
  const cohort = new Float32Array([1, 0, 0, 1, -1, 0, 0, -1]);
  const s = cohortStats(cohort, 4, 2, new Float32Array([1, 0]));
  t.is(s.mean, 0);
  t.true(Math.abs(s.sd - Math.SQRT1_2) < 1e-6);
  const flat = cohortStats(new Float32Array([1, 0, 1, 0]), 2, 2, new Float32Array([0, 1]));
  t.is(flat.sd, 1e-6);
  t.throws(() => cohortStats(new Float32Array([1, 0]), 1, 2, new Float32Array([1, 0])), { instanceOf: RangeError });
});

test('T, Z and ZT put a score on the probe, template or both scales; none keeps the cosine', (t) => {
  const p = { mean: 0.1, sd: 0.1 };
  const g = { mean: 0.2, sd: 0.05 };
  t.is(normalise('none', 0.6, null, null), 0.6);
  t.true(Math.abs(normalise('t', 0.6, p, null) - 5) < 1e-9);
  t.true(Math.abs(normalise('z', 0.6, null, g) - 8) < 1e-9);
  t.true(Math.abs(normalise('zt', 0.6, p, g) - 6.5) < 1e-9);
});

test('the cohort split is fixed, about half, and independent of the calibration half', (t) => {
  const names = Array.from({ length: 4000 }, (_, i) => `Person_${i}`);
  const cohort = names.filter(cohortMember);
  t.true(cohort.length > 1800 && cohort.length < 2200, `${cohort.length}`);
  // Both halves of the calibration split are represented in the cohort and outside it.
  const both = cohort.filter(calibrationHalf).length;
  t.true(both > 800 && both < 1200, `${both}`);
  t.deepEqual(names.filter(cohortMember), cohort, 'the same names every run');
});
