// The model pack's equitability statement as the van uses it (src/match/equitability.ts): checked
// against the embedder's bytes and schema, shown only for the pipeline and threshold it was
// measured at, and worded with every rate beside its count and interval. The station side
// (statementRows) is checked to produce rows the van's schema accepts.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import test from 'ava';
import { readStatement, statementAt, statementSchema, statementWords, StatementError, type EquitabilityStatement } from '../../src/match/equitability.js';
import { assignGroups, statementGrid, statementRows } from '../../src/tools/eval/equitability.js';
import type { ModelEntry } from '../../src/vision/manifest.js';
import type { MatedProbe, NonMatedProbe } from '../../src/tools/eval/watchlist.js';

const SHA = 'a'.repeat(64);

function statement(over: Partial<EquitabilityStatement> = {}): EquitabilityStatement {
  const g = (name: string, fnir: number) => ({ name, mated: 1000, misses: Math.round(fnir * 1000), fnir, fnirCi: [fnir * 0.9, fnir * 1.1] as [number, number], nonMated: 500, falseAlerts: 1, fpir: 0.002, fpirCi: [0.0003, 0.011] as [number, number] });
  return {
    schema: 1,
    embedder: 'emb',
    embedderSha256: SHA,
    mirrorAugment: false,
    pipeline: { detector: 'det', landmarker: 'lm' },
    dataset: 'LFW',
    labels: 'perceived sex',
    protocol: 'one photo enrolled',
    command: 'lfr eval equitability',
    measuredOn: '2026-12-06',
    gallery: 1680,
    limits: 'mostly white and male',
    rows: [
      { threshold: 0.5, groups: [g('female', 0.15), g('male', 0.06)], fnirRatio: 2.5, fpirRatio: 1 },
      { threshold: 0.55, groups: [g('female', 0.2), g('male', 0.08)], fnirRatio: 2.5, fpirRatio: 1 },
    ],
    ...over,
  };
}

const run = { threshold: 0.55, detector: 'det', landmarker: 'lm', mirrorAugment: false };

test('the row at the deployment threshold is recorded, with counts and intervals', (t) => {
  const r = statementAt(statement(), run);
  t.true(r.available);
  if (!r.available) return;
  t.is(r.measuredAtThreshold, 0.55);
  t.is(r.groups[0]!.fnir, 0.2);
  const words = statementWords(r).join('\n');
  t.regex(words, /female: missed 20\.0 % of 1,000 searches/);
  t.regex(words, /95 % CI 18\.0 %-22\.0 %/);
  t.regex(words, /1 false alert\(s\) in 500 searches/);
  t.regex(words, /limits: mostly white and male/);
  t.notRegex(words, /nearest measured/);
});

test('a threshold between rows shows the nearest row and says so; too far away: no figures', (t) => {
  const near = statementAt(statement(), { ...run, threshold: 0.553 });
  t.true(near.available && near.measuredAtThreshold === 0.55);
  t.regex(statementWords(near).join('\n'), /nearest measured to this deployment's 0\.553/);
  const far = statementAt(statement(), { ...run, threshold: 0.6 });
  t.false(far.available);
  t.regex(statementWords(far)[0]!, /not measured at threshold 0\.6/);
});

test('another detector, landmarker or mirror setting: the statement is not shown as if it applied', (t) => {
  t.regex(JSON.stringify(statementAt(statement(), { ...run, detector: 'yunet' })), /this van runs yunet/);
  t.regex(JSON.stringify(statementAt(statement(), { ...run, landmarker: 'none' })), /this van runs det and none/);
  t.regex(JSON.stringify(statementAt(statement(), { ...run, mirrorAugment: true })), /mirror averaging off; this van has it on/);
});

test('a too-few group keeps its count and prints no figure', (t) => {
  const s = statement();
  s.rows[1]!.groups[0] = { ...s.rows[1]!.groups[0]!, mated: 12, misses: 3, fnir: null, fnirCi: null };
  const r = statementAt(s, run);
  t.regex(statementWords(r).join('\n'), /female: missed matches too few to measure \(12 searches\)/);
});

test('readStatement: missing, malformed, other bytes are plain errors', async (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'lfr-eq-'));
  const entry = { id: 'emb', sha256: SHA, equitability: 'emb.equitability.json' } as unknown as ModelEntry;
  await t.throwsAsync(readStatement(dir, { ...entry, equitability: undefined } as ModelEntry), { instanceOf: StatementError, message: /no equitability statement/ });
  await t.throwsAsync(readStatement(dir, entry), { instanceOf: StatementError, message: /ENOENT/ });
  writeFileSync(path.join(dir, 'emb.equitability.json'), JSON.stringify({ ...statement(), gallery: -1 }));
  await t.throwsAsync(readStatement(dir, entry), { instanceOf: StatementError, message: /malformed: gallery/ });
  writeFileSync(path.join(dir, 'emb.equitability.json'), JSON.stringify({ ...statement(), rows: [...statement().rows].reverse() }));
  await t.throwsAsync(readStatement(dir, entry), { instanceOf: StatementError, message: /rising thresholds/ });
  writeFileSync(path.join(dir, 'emb.equitability.json'), JSON.stringify(statement({ embedderSha256: 'b'.repeat(64) })));
  await t.throwsAsync(readStatement(dir, entry), { instanceOf: StatementError, message: /other embedder bytes/ });
  writeFileSync(path.join(dir, 'emb.equitability.json'), JSON.stringify(statement()));
  t.is((await readStatement(dir, entry)).gallery, 1680);
});

test('station side: statementRows gives rows the van schema accepts, FPIR over all non-mated probes', (t) => {
  const mated: MatedProbe[] = [];
  const nonMated: NonMatedProbe[] = [];
  for (let i = 0; i < 40; i++) mated.push({ file: `F${i}/F${i}_0002.jpg`, mateScore: 0.4 + i / 100, bestNonMateScore: 0.1, failed: false });
  for (let i = 0; i < 40; i++) nonMated.push({ file: `N${i}/N${i}_0001.jpg`, failed: false, best: 0.2 + i / 100 });
  const images = new Set([...mated, ...nonMated].map((p) => path.basename(p.file)));
  const a = assignGroups([{ name: 'all', file: 'x', images: [...images] }], images);
  const grid = statementGrid([0.5432]);
  t.true(grid.includes(0.5432) && grid[0] === 0.3 && grid[grid.length - 1] === 0.8);
  const rows = statementRows({ mated, nonMated, gallery: 40 }, a, ['all'], grid);
  const at05 = rows.find((r) => r.threshold === 0.5)!;
  t.is(at05.groups[0]!.misses, 10); // mate scores 0.40..0.49 miss
  t.is(at05.groups[0]!.falseAlerts, 10); // non-mated 0.50..0.59 alert
  t.is(at05.groups[0]!.nonMated, 40);
  const s = statementSchema.safeParse({ ...statement(), rows });
  t.true(s.success, s.success ? '' : JSON.stringify(s.error.issues));
});
