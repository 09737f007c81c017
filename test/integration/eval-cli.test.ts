// `lfr eval lfw|watchlist` end to end on a tiny LFW-layout folder built in a temp dir from the
// MIT demo photos inside @vladmandic/face-api (so the test does not need ../shared/data): the real
// CLI process, the real models. Includes a truncated JPEG and a faceless image, which must be
// counted, not fatal.
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import test from 'ava';
import sharp from 'sharp';
import { INSTALL_ROOT } from '../../src/paths.js';
import { lastJson, runCli } from '../helpers/cli.js';

const DEMO = path.join(INSTALL_ROOT, 'node_modules', '@vladmandic', 'face-api', 'demo');
let dir = '';

const put = async (name: string, n: number, bytes: Buffer): Promise<void> => {
  await mkdir(path.join(dir, 'images', name), { recursive: true });
  await writeFile(path.join(dir, 'images', name, `${name}_${String(n).padStart(4, '0')}.jpg`), bytes);
};

test.before(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'lfr-eval-'));
  for (let k = 1; k <= 6; k++) {
    const src = await readFile(path.join(DEMO, `sample${k}.jpg`));
    // Two views of the same scene: downscaled, and downscaled further and mirrored (different
    // pixels, same people) so genuine pairs are not byte-identical.
    await put(`S${k}`, 1, await sharp(src).resize({ width: 640 }).jpeg().toBuffer());
    await put(`S${k}`, 2, await sharp(src).resize({ width: 480 }).flop().jpeg().toBuffer());
  }
  const good = await readFile(path.join(dir, 'images', 'S1', 'S1_0001.jpg'));
  await put('Broken', 1, good.subarray(0, Math.floor(good.length / 3)));
  await put('Blank', 1, await sharp({ create: { width: 250, height: 250, channels: 3, background: '#808080' } }).jpeg().toBuffer());
  await put('Solo', 1, await sharp(await readFile(path.join(DEMO, 'sample2.jpg'))).resize({ width: 640 }).extract({ left: 0, top: 0, width: 300, height: 400 }).jpeg().toBuffer());
  // 10 folds of 1 matched + 1 mismatched pair; fold 8 uses the truncated file, fold 9 the blank.
  const lines = ['10\t1'];
  for (let f = 0; f < 10; f++) {
    const a = `S${(f % 6) + 1}`;
    const b = `S${((f + 1) % 6) + 1}`;
    lines.push(f === 8 ? 'Broken\t1\t1' : `${a}\t1\t2`);
    lines.push(f === 9 ? `${a}\t1\tBlank\t1` : `${a}\t1\t${b}\t2`);
  }
  await writeFile(path.join(dir, 'pairs.txt'), lines.join('\n') + '\n');
  await writeFile(path.join(dir, 'exclude.tsv'), '# singleton\tnote\nSolo\tlooks like someone enrolled\n');
});

test.after.always(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

test('eval lfw --json: 10-fold figures, unusable images counted, JSON on the last line', async (t) => {
  const r = await runCli(['eval', 'lfw', '--dir', dir, '--json']);
  t.is(r.code, 0, r.stderr);
  const j = lastJson<Record<string, unknown>>(r.stdout);
  t.is(j.pairs, 20);
  t.is(j.unreadableImages, 1);
  t.is(j.detectionFailures, 1);
  t.is(j.pairsWithFailure, 2);
  t.is((j.folds as unknown[]).length, 10);
  for (const k of ['accuracy', 'accuracyStd', 'tarAtFar1e3', 'meanThreshold', 'msPerImage']) t.is(typeof j[k], 'number', k);
  t.true((j.accuracy as number) > 0.5 && (j.accuracy as number) <= 1);
  t.false(r.stderr.includes('    at '), 'no stack trace');
});

test('eval lfw: human output, and --limit keeps every fold', async (t) => {
  const r = await runCli(['eval', 'lfw', '--dir', dir, '--limit', '20']);
  t.is(r.code, 0, r.stderr);
  t.regex(r.stdout, /accuracy\s+\d+\.\d+ % \+- /);
  t.regex(r.stdout, /1 without a face, 1 unreadable/);
});

test('eval watchlist --json: gallery, probes, points, exclusions', async (t) => {
  const r = await runCli(['eval', 'watchlist', '--dir', dir, '--json', '--threshold', '0.4', '--exclude', path.join(dir, 'exclude.tsv')]);
  t.is(r.code, 0, r.stderr);
  const j = lastJson<Record<string, unknown>>(r.stdout);
  t.is(j.gallery, 6);
  t.is(j.matedProbes, 6);
  t.deepEqual(j.excluded, ['Solo']);
  // Broken and Blank are the only non-mated probes left; neither yields a face.
  t.is(j.nonMatedFailures, 2);
  t.is(j.nonMatedProbes, 0);
  t.is(j.threshold, 0.4);
  t.true(Array.isArray(j.points));
  t.is(typeof j.fnir, 'number');
  const all = lastJson<Record<string, unknown>>((await runCli(['eval', 'watchlist', '--dir', dir, '--json'])).stdout);
  t.is(all.nonMatedProbes, 1);
  t.is((all.points as { fpir: number }[])[0]!.fpir, 0);
  t.is(typeof all.threshold, 'number');
});

test('eval references --json: every strategy on the same embeddings', async (t) => {
  const r = await runCli(['eval', 'references', '--dir', dir, '--k', '1', '--json', '--threshold', '0.4']);
  t.is(r.code, 0, r.stderr);
  const j = lastJson<{ k: number; subjects: number; matedProbes: number; strategies: { strategy: string; templates: number; fnir: number }[] }>(r.stdout);
  t.like(j, { k: 1, subjects: 6, matedProbes: 6 });
  t.deepEqual(j.strategies.map((s) => s.strategy), ['first', 'each', 'mean', 'both']);
  // One reference each: every strategy builds the same gallery, so the same figures.
  t.true(j.strategies.every((s) => s.templates === 6 && s.fnir === j.strategies[0]!.fnir));
  const bad = await runCli(['eval', 'references', '--dir', dir, '--k', '0']);
  t.is(bad.code, 2);
  t.regex(bad.stderr, /--k must be/);
});

test('eval: bad input is a plain message and a non-zero exit', async (t) => {
  const missing = await runCli(['eval', 'lfw', '--dir', path.join(dir, 'nope')]);
  t.is(missing.code, 3);
  t.regex(missing.stderr, /cannot read .*pairs\.txt/);
  t.false(missing.stderr.includes('    at '));
  const limit = await runCli(['eval', 'lfw', '--dir', dir, '--limit', 'x']);
  t.is(limit.code, 2);
  const wl = await runCli(['eval', 'watchlist', '--dir', path.join(dir, 'pairs.txt')]);
  t.is(wl.code, 3);
  t.regex(wl.stderr, /not a folder/);
});

test('bench vision --json: per-face cost on one thread over the demo photos', async (t) => {
  const r = await runCli(['bench', 'vision', '--iterations', '1', '--json']);
  t.is(r.code, 0, r.stderr);
  const j = lastJson<Record<string, number | string>>(r.stdout);
  t.is(j.bench, 'vision');
  t.is(j.threads, 1);
  t.is(j.images, 6);
  t.true((j.faces as number) >= 18, `faces ${j.faces}`);
  for (const k of ['detectMsPerImage', 'analyseMsPerFace', 'embedMsPerFace', 'perFaceMs']) t.true((j[k] as number) > 0, k);
  const bad = await runCli(['bench', 'vision', '--iterations', '0']);
  t.is(bad.code, 2);
});

test('eval equitability: groups too small are "too few to measure" with their counts; --statement-out writes what the van accepts; --norm and bad input', async (t) => {
  const a = path.join(dir, 'group-a.txt');
  const b = path.join(dir, 'group-b.txt');
  await writeFile(a, ['S1', 'S2', 'S3'].flatMap((s) => [`${s}_0001.jpg`, `${s}_0002.jpg`]).join('\n') + '\nNobody_0001.jpg\n');
  await writeFile(b, ['S4', 'S5', 'S6'].flatMap((s) => [`${s}_0001.jpg`, `${s}_0002.jpg`]).concat(['Solo_0001.jpg']).join('\n') + '\n');
  const out = path.join(dir, 'stmt.equitability.json');
  const r = await runCli(['eval', 'equitability', '--dir', dir, '--group', `a=${a}`, '--group', `b=${b}`, '--threshold', '0.4', '--statement-out', out, '--labels', 'test labels', '--limits', 'six demo photos', '--json']);
  t.is(r.code, 0, r.stderr);
  const j = lastJson<{ groups: Array<{ name: string; mated: number; fnir: number | null; status: string }>; overall: { mated: number }; warnings: string[]; norm: string }>(r.stdout);
  t.deepEqual(j.groups.map((g) => [g.name, g.mated, g.fnir, g.status]), [['a', 3, null, 'too few to measure'], ['b', 3, null, 'too few to measure']]);
  t.is(j.overall.mated, 6);
  t.is(j.norm, 'none');
  t.true(j.warnings.some((w) => /Nobody_0001\.jpg is not an image of the dataset/.test(w)), j.warnings.join('; '));
  t.true(j.warnings.some((w) => /group a: 3 mated probes, fewer than 20/.test(w)));
  // The statement: the schema the van reads, for the models this config runs, no figure without its count.
  const { statementSchema } = await import('../../src/match/equitability.js');
  const s = statementSchema.parse(JSON.parse(await readFile(out, 'utf8')));
  t.is(s.embedder, 'faceplugin-feature-int8');
  t.is(s.limits, 'six demo photos');
  t.true(s.rows.length >= 51 && s.rows.every((row) => row.groups.every((g) => g.fnir === null && g.mated === 3)));
  t.regex(s.command, /^lfr eval equitability --dir .* --labels 'test labels' --limits 'six demo photos'/);
  // Usage errors before any work: statement without its words, --norm without a threshold on its
  // scale, --norm with a statement (the van runs raw cosines), an unknown mode.
  t.is((await runCli(['eval', 'equitability', '--dir', dir, '--group', `a=${a}`, '--statement-out', out])).code, 2);
  t.regex((await runCli(['eval', 'equitability', '--dir', dir, '--group', `a=${a}`, '--norm', 'zt'])).stderr, /--norm zt puts scores on another scale/);
  t.is((await runCli(['eval', 'equitability', '--dir', dir, '--group', `a=${a}`, '--norm', 'zt', '--target-fpir', '0.1', '--statement-out', out, '--labels', 'x', '--limits', 'y'])).code, 2);
  t.regex((await runCli(['eval', 'equitability', '--dir', dir, '--group', `a=${a}`, '--norm', 'q', '--target-fpir', '0.1'])).stderr, /--norm must be one of none, t, z, zt/);
  // A cohort this small cannot normalise: a plain refusal naming the need, not a division by zero.
  const tiny = await runCli(['eval', 'equitability', '--dir', dir, '--group', `a=${a}`, '--norm', 't', '--target-fpir', '0.1']);
  t.is(tiny.code, 3, tiny.stderr);
  t.regex(tiny.stderr, /needs a cohort of at least 20 usable faces/);
});
