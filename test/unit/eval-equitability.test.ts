// Equitability maths on synthetic searches: Wilson intervals, group assignment (contradictory and
// unknown labels), "too few to measure", and a threshold chosen on one half of the non-mated
// identities and reported on the other.
import test from 'ava';
import { assignGroups, calibrationHalf, equitability, GroupError, MIN_PROBES, parseGroupOption, parseLabelList, wilsonInterval } from '../../src/tools/eval/equitability.js';
import type { MatedProbe, NonMatedProbe } from '../../src/tools/eval/watchlist.js';

test('Wilson interval: known values, and meaningful at 0 and n events', (t) => {
  const [lo, hi] = wilsonInterval(10, 100);
  t.true(Math.abs(lo - 0.0552) < 1e-3 && Math.abs(hi - 0.1744) < 1e-3, `${lo} ${hi}`);
  const [lo0, hi0] = wilsonInterval(0, 1000);
  t.is(lo0, 0);
  t.true(hi0 > 0.003 && hi0 < 0.0045, `${hi0}`);
  const [lon, hin] = wilsonInterval(50, 50);
  t.true(lon > 0.9 && hin === 1);
  t.true(wilsonInterval(0, 0).every(Number.isNaN));
});

test('--group NAME=FILE is parsed; a bad name is a plain error', (t) => {
  t.deepEqual(parseGroupOption('female=/x/female_names.txt'), { name: 'female', file: '/x/female_names.txt' });
  t.throws(() => parseGroupOption('female'), { instanceOf: GroupError });
  t.throws(() => parseGroupOption('=f.txt'), { instanceOf: GroupError });
  t.throws(() => parseGroupOption('a b=f.txt'), { instanceOf: GroupError });
});

test('label lists: base names, comments and blanks skipped', (t) => {
  t.deepEqual(parseLabelList('# c\nA_0001.jpg\n\n  images/B/B_0002.jpg \r\n'), ['A_0001.jpg', 'B_0002.jpg']);
});

test('an image in two groups is in neither; an unknown image warns unless its identity is excluded', (t) => {
  const images = new Set(['A_0001.jpg', 'B_0001.jpg', 'C_0001.jpg']);
  const a = assignGroups(
    [
      { name: 'f', file: 'f.txt', images: ['A_0001.jpg', 'C_0001.jpg', 'Zed_0001.jpg', 'Ex_Cluded_0001.jpg'] },
      { name: 'm', file: 'm.txt', images: ['B_0001.jpg', 'C_0001.jpg'] },
    ],
    images,
    new Set(['Ex_Cluded']),
  );
  t.is(a.groupOf.get('A_0001.jpg'), 'f');
  t.is(a.groupOf.get('B_0001.jpg'), 'm');
  t.false(a.groupOf.has('C_0001.jpg'));
  t.is(a.warnings.length, 2);
  t.true(a.warnings.some((w) => w.includes('C_0001.jpg') && w.includes('left out')));
  t.true(a.warnings.some((w) => w.includes('f.txt') && w.includes('Zed_0001.jpg')));
  t.throws(() => assignGroups([{ name: 'x', file: '1', images: [] }, { name: 'x', file: '2', images: [] }], images), { instanceOf: GroupError });
});

function synthetic(): { mated: MatedProbe[]; nonMated: NonMatedProbe[]; groupOf: Map<string, string> } {
  const mated: MatedProbe[] = [];
  const nonMated: NonMatedProbe[] = [];
  const groupOf = new Map<string, string>();
  // Group f: 40 mated, 10 miss (score 0.3); group m: 40 mated, 2 miss.
  for (let i = 0; i < 40; i++) {
    mated.push({ file: `F${i}/F${i}_0002.jpg`, mateScore: i < 10 ? 0.3 : 0.8, bestNonMateScore: 0.1, failed: false });
    groupOf.set(`F${i}_0002.jpg`, 'f');
    mated.push({ file: `M${i}/M${i}_0002.jpg`, mateScore: i < 2 ? 0.3 : 0.8, bestNonMateScore: 0.1, failed: false });
    groupOf.set(`M${i}_0002.jpg`, 'm');
  }
  // 400 non-mated per group, best scores spread 0..0.6.
  for (let i = 0; i < 400; i++) {
    for (const g of ['f', 'm']) {
      const name = `N${g}${i}`;
      nonMated.push({ file: `${name}/${name}_0001.jpg`, failed: false, best: (i % 100) / 166 });
      groupOf.set(`${name}_0001.jpg`, g);
    }
  }
  // A small group and unlabelled probes.
  for (let i = 0; i < 5; i++) {
    mated.push({ file: `S${i}/S${i}_0002.jpg`, mateScore: 0.8, bestNonMateScore: 0.1, failed: false });
    groupOf.set(`S${i}_0002.jpg`, 'small');
  }
  mated.push({ file: 'U/U_0002.jpg', mateScore: 0.8, bestNonMateScore: 0.1, failed: false });
  nonMated.push({ file: 'V/V_0001.jpg', failed: true });
  return { mated, nonMated, groupOf };
}

test('per-group FNIR/FPIR with counts and intervals at a given threshold; small groups are not measured', (t) => {
  const s = synthetic();
  const r = equitability({ ...s, gallery: 85 }, { groupOf: s.groupOf, warnings: [] }, ['f', 'm', 'small'], { threshold: 0.5 });
  const [f, m, small] = r.groups;
  t.is(f!.mated, 40);
  t.is(f!.fnir, 10 / 40);
  t.is(m!.fnir, 2 / 40);
  t.truthy(f!.fnirCi && f!.fnirCi[0] < 0.25 && f!.fnirCi[1] > 0.25);
  t.is(f!.nonMated, 400);
  t.is(f!.falseAlerts, m!.falseAlerts);
  t.is(r.fnirRatio, 5);
  t.is(r.fpirRatio, 1);
  t.is(small!.status, 'too few to measure');
  t.is(small!.fnir, null);
  t.is(small!.mated, 5);
  t.true(r.warnings.some((w) => w.includes('small') && w.includes(String(MIN_PROBES))));
  t.deepEqual(r.unlabelled, { mated: 1, nonMated: 1 });
});

test('--target-fpir: the threshold comes from one half of the non-mated identities, FPIR from the other', (t) => {
  const s = synthetic();
  const r = equitability({ ...s, gallery: 85 }, { groupOf: s.groupOf, warnings: [] }, ['f', 'm'], { targetFpir: 0.05 });
  t.is(r.thresholdFrom.kind, 'target-fpir');
  const cal = s.nonMated.filter((p) => calibrationHalf(p.file.split('/')[0]!) && !p.failed).length;
  if (r.thresholdFrom.kind === 'target-fpir') t.is(r.thresholdFrom.calibrationNonMated, cal);
  // Every usable non-mated search is in exactly one half (the failed one is in neither count).
  const usable = s.nonMated.filter((p) => !p.failed).length;
  const reportedUsable = r.groups.reduce((a, g) => a + g.nonMated, 0);
  t.is(cal + reportedUsable, usable);
  t.true(cal > 300 && cal < 500, `split roughly in half: ${cal}`);
  // All mated probes count: none of them set the threshold.
  t.is(r.groups[0]!.mated + r.groups[1]!.mated, 80);
});
