// Unit: threshold from a target FPIR (src/match/fpir.ts) and the impostor tail it is measured
// from (src/tools/eval/calibrate.ts). Pure, on synthetic scores.
import test from 'ava';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { CalibrationError, describeChoice, fpirAt, impostorRate, loadCalibration, thresholdForFpir, type ImpostorCalibration } from '../../src/match/fpir.js';
import { fitTail, impostorTail, validateRule } from '../../src/tools/eval/calibrate.js';
import type { ModelEntry } from '../../src/vision/manifest.js';

/** A tail of 1e8 comparisons whose count falls tenfold every 0.05 from 1e6 at 0.30. */
function synthetic(): ImpostorCalibration {
  const tail: [number, number][] = [];
  for (let t = 0.3; t <= 0.7001; t += 0.01) tail.push([Number(t.toFixed(2)), Math.round(1e6 * Math.pow(10, -(t - 0.3) / 0.05))]);
  return { schema: 1, embedder: 'e', embedderSha256: 'a'.repeat(64), mirrorAugment: false, pipeline: { detector: 'd', landmarker: 'l' }, dataset: 'synthetic', command: 'test', images: 1, identities: 1, comparisons: 1e8, tail, validation: [] };
}

test('FPIR grows with the watchlist as 1-(1-p)^N, and the derived threshold rises with N', (t) => {
  const cal = synthetic();
  t.true(Math.abs(impostorRate(cal, 0.4).rate - 1e-4) / 1e-4 < 0.01);
  const e = fpirAt(cal, 0.5, 1000); // p = 1e-6
  t.true(Math.abs(e.fpir - (1 - Math.pow(1 - 1e-6, 1000))) < 1e-9);
  const small = thresholdForFpir(cal, 1e-3, 100);
  const large = thresholdForFpir(cal, 1e-3, 10_000);
  t.true(large.threshold > small.threshold, `${small.threshold} -> ${large.threshold}`);
  // 1e-3 with 100 templates needs p ~ 1e-5: 0.45 on this tail.
  t.true(Math.abs(small.threshold - 0.45) <= 0.0025, String(small.threshold));
  t.true(small.fpir <= 1e-3);
  t.is(Math.round(small.expectedFalseAlertsPer10k * 1e6) / 1e6, Math.round(small.fpir * 1e4 * 1e6) / 1e6);
  t.false(small.extrapolated);
  t.regex(describeChoice(small), /threshold 0\.45\d* with 100 templates: about \d+(\.\d)? false alerts per 10,000 faces/);
  t.throws(() => thresholdForFpir(cal, 0, 100), { instanceOf: CalibrationError });
});

test('above the fitted range the model, not the counts, gives the rate, and is flagged as extrapolated', (t) => {
  const cal = synthetic();
  cal.model = fitTail(cal.tail, 0.3, 0.5);
  t.true(Math.abs(cal.model.slope - -Math.log(10) / 0.05) < 0.1, String(cal.model.slope));
  // Pollute the counted tail above 0.5 as label errors do: the model ignores it.
  cal.tail = cal.tail.map(([th, c]) => [th, th > 0.5 ? c + 50 : c]);
  const r = impostorRate(cal, 0.6);
  t.true(r.extrapolated);
  t.true(Math.abs(r.rate - 1e-8) / 1e-8 < 0.05, String(r.rate)); // 1 in 1e8, not 51
  t.true(thresholdForFpir(cal, 1e-4, 1000).extrapolated);
});

test('impostorTail counts each pair of different identities once; validateRule compares prediction with measurement', (t) => {
  const u = (a: number): Float32Array => Float32Array.of(Math.cos(a), Math.sin(a), 0, 0);
  // Identities x (two images) and y, z: cos(0.1) is the only pair above 0.9 (same identity: not counted).
  const items = [
    { identity: 'x', embedding: u(0) },
    { identity: 'x', embedding: u(0.1) },
    { identity: 'y', embedding: u(1) },
    { identity: 'z', embedding: u(Math.PI / 2) },
  ];
  const { comparisons, tail } = impostorTail(items, [0.2, 0.5, 0.9]);
  t.is(comparisons, 5);
  // Scores: x-y cos(1)=0.54, cos(0.9)=0.62; x-z 0, cos(1.47)=0.099; y-z cos(0.57)=0.84.
  t.deepEqual(tail, [[0.2, 3], [0.5, 3], [0.9, 0]]);
  const cal = { ...synthetic() };
  const v = validateRule(cal, { gallery: [u(0)], probes: [u(0.05), u(2)] }, [1, 5], [1e-2]);
  t.is(v.length, 1, 'a gallery size above the references available is skipped');
  t.is(v[0]!.falseAlerts, 1);
  t.is(v[0]!.probes, 2);
});

test('a calibration for other embedder bytes or another mirror setting is refused with a plain message', async (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'lfr-cal-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(path.join(dir, 'c.json'), JSON.stringify(synthetic()));
  const entry = { id: 'e', role: 'embedder', sha256: 'a'.repeat(64), calibration: 'c.json' } as ModelEntry;
  t.is((await loadCalibration(dir, entry, false)).comparisons, 1e8);
  await t.throwsAsync(loadCalibration(dir, { ...entry, sha256: 'b'.repeat(64) }, false), { instanceOf: CalibrationError, message: /measured for embedder bytes aaaaaaaaaaaaaaaa…, but the configured embedder e is bbbbbbbbbbbbbbbb…/ });
  await t.throwsAsync(loadCalibration(dir, entry, true), { message: /vision.mirrorAugment false, the config has true/ });
  await t.throwsAsync(loadCalibration(dir, { ...entry, calibration: undefined }, false), { message: /has no impostor-score calibration/ });
  writeFileSync(path.join(dir, 'c.json'), '{"schema":1}');
  await t.throwsAsync(loadCalibration(dir, entry, false), { message: /is malformed/ });
});
