// `lfr eval lfw|watchlist`: accuracy of the configured face pipeline on a public benchmark
// (docs/accuracy.md). A progress bar goes to stderr when it is a terminal; with --json one JSON
// object is the last stdout line. Images that cannot be used are counted, never fatal.
import { SingleBar, Presets } from 'cli-progress';
import type { Command } from 'commander';
import { loadConfig } from '../config/load.js';
import { silentLogger } from '../log.js';
import { DatasetError, readExcludeFile } from '../tools/eval/datasets.js';
import { evalLfw, noProgress, type LfwReport, type Progress } from '../tools/eval/lfw.js';
import { evalWatchlist, type WatchlistReport } from '../tools/eval/watchlist.js';
import { evalReferences, type ReferencesReport } from '../tools/eval/references.js';
import { createFaceEngine } from '../vision/engine.js';
import { visionCliError } from './faces.js';
import { action, CliError, emit, EXIT } from './output.js';
import { registerEvalVideo } from './eval-video.js';
import { registerEvalEquitability } from './eval-equitability.js';
import { runCalibration } from '../tools/eval/calibration-run.js';
import { findModel, loadManifest } from '../vision/manifest.js';
import { modelsDirOf } from '../vision/engine.js';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { readCalibration } from '../match/fpir.js';
import { oneToOneFile } from '../match/one-to-one.js';
import { ONE_TO_ONE_FMRS, runOneToOne } from '../tools/eval/one-to-one.js';

function progressBar(label: string): Progress {
  if (!process.stderr.isTTY) return noProgress;
  const bar = new SingleBar(
    { stream: process.stderr, format: `${label} [{bar}] {value}/{total} images | {eta_formatted} left`, hideCursor: true, etaBuffer: 200 },
    Presets.shades_classic,
  );
  return { start: (total) => bar.start(total, 0), tick: () => bar.increment(), stop: () => bar.stop() };
}

const pct = (v: number, digits = 2): string => `${(v * 100).toFixed(digits)} %`;

function datasetError(err: unknown): never {
  if (err instanceof DatasetError) throw new CliError(err.message, EXIT.badInput);
  return visionCliError(err);
}

function parseLimit(v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 20) throw new CliError(`--limit must be a whole number of pairs, at least 20 (2 per fold), not "${v}"`, EXIT.usage);
  return n;
}

function humanLfw(r: LfwReport, dir: string): string {
  return [
    `LFW 10-fold verification on ${dir} (${r.pairs} pairs, ${r.images} images; models ${r.models.detector} / ${r.models.landmarker} / ${r.models.embedder})`,
    `  accuracy        ${pct(r.accuracy)} +- ${pct(r.accuracyStd)} (std over folds; standard error ${pct(r.standardError)})`,
    `  TAR @ FAR 1e-3  ${pct(r.tarAtFar1e3)} (threshold ${r.thresholdAtFar1e3.toFixed(4)}); TAR @ FAR 1e-2 ${pct(r.tarAtFar1e2)}` +
      // Below 1,000 impostor pairs FAR 1e-3 allows no false accept at all: the figure is coarse.
      (r.impostorPairs < 1000 ? ` (only ${r.impostorPairs} impostor pairs: FAR 1e-3 is not resolvable)` : ''),
    `  thresholds      mean ${r.meanThreshold.toFixed(4)} (per fold: ${r.folds.map((f) => f.threshold.toFixed(3)).join(' ')})`,
    `  unusable images ${r.detectionFailures} without a face, ${r.unreadableImages} unreadable; ${r.pairsWithFailure} pairs scored as "different" because of them`,
    `  ${r.multiFaceImages} images held several faces (the central one was used); ${r.msPerImage.toFixed(1)} ms per image`,
    `  appearance gate (mated below / non-mated at or above): ${r.gate.map((g) => `${g.similarity}: ${pct(g.matedBelow)} / ${pct(g.nonMatedAtOrAbove)}`).join(', ')}; highest non-mated ${r.maxImpostor.toFixed(3)}`,
  ].join('\n');
}

function humanWatchlist(r: WatchlistReport, dir: string): string {
  const lines = [
    `1:N search on ${dir}: gallery ${r.gallery} (enrolment failures ${r.enrolmentFailures}), mated probes ${r.matedProbes} (failures ${r.matedFailures}), non-mated probes ${r.nonMatedProbes} (failures ${r.nonMatedFailures}, left out)`,
    r.excluded.length ? `  excluded identities: ${r.excluded.length}` : '  excluded identities: none',
    '  FPIR        threshold  FNIR',
  ];
  for (const p of r.points) lines.push(`  ${p.fpir.toExponential(2).padEnd(11)} ${p.threshold.toFixed(4).padEnd(10)} ${pct(p.fnir)} (${p.falseAlerts} false alerts)`);
  lines.push(`  at threshold ${r.threshold}: FPIR ${r.fpir.toExponential(2)} (${r.falseAlerts} false alerts), FNIR ${pct(r.fnir)}; rank-1 without threshold ${pct(r.rank1)}`);
  lines.push(`  note: ${r.note}`);
  return lines.join('\n');
}

function humanReferences(r: ReferencesReport, dir: string): string {
  const lines = [
    `several reference images per subject on ${dir}: ${r.subjects} subjects enrolled from ${r.k} images each (failures ${r.referenceFailures}), mated probes ${r.matedProbes} (failures ${r.matedFailures}), non-mated probes ${r.nonMatedProbes} (failures ${r.nonMatedFailures}, left out)`,
    '  strategy  templates  FNIR at each FPIR point (threshold)                          at threshold ' + r.threshold,
  ];
  for (const s of r.strategies) {
    const pts = s.points.map((p) => `${pct(p.fnir)} @ ${p.fpir.toExponential(1)} (${p.threshold.toFixed(3)})`).join(', ');
    lines.push(`  ${s.strategy.padEnd(9)} ${String(s.templates).padEnd(10)} ${pts.padEnd(62)} FNIR ${pct(s.fnir)}, FPIR ${s.fpir.toExponential(2)}, rank-1 ${pct(s.rank1)}`);
  }
  return lines.join('\n');
}

export function register(program: Command): void {
  const ev = program.command('eval').description('measure the face pipeline on a public benchmark (docs/accuracy.md)');

  ev.command('lfw')
    .requiredOption('--dir <dir>', 'folder with pairs.txt and images/<Name>/<Name>_NNNN.jpg')
    .option('--limit <pairs>', 'use only this many pairs, spread over the 10 folds (quick runs)')
    .option('--json', 'machine-readable output: one JSON object as the last stdout line')
    .description('LFW 10-fold verification: accuracy +- std, TAR at FAR 1e-3, detection failures')
    .action(
      action(async (opts: { dir: string; limit?: string; json?: boolean }) => {
        const limit = parseLimit(opts.limit);
        const cfg = loadConfig(program.opts<{ config?: string }>().config);
        const engine = await createFaceEngine(cfg, silentLogger()).catch(visionCliError);
        try {
          const r = await evalLfw(engine, opts.dir, { limit, progress: progressBar('lfw') }).catch(datasetError);
          emit(opts, () => humanLfw(r, opts.dir), () => ({ dataset: 'lfw', dir: opts.dir, limit: limit ?? null, ...r }));
          return EXIT.ok;
        } finally {
          await engine.close();
        }
      }),
    );

  registerEvalVideo(ev, program);
  registerEvalEquitability(ev, program);

  ev.command('watchlist')
    .requiredOption('--dir <dir>', 'folder of <identity>/<images> (or DIR/images/<identity>/<images>)')
    .option('--threshold <t>', 'decision threshold to report FPIR/FNIR at (default: config match.threshold)')
    .option('--exclude <file>', 'identities to leave out: one name per line, or a TSV whose first column is the name')
    .option('--json', 'machine-readable output: one JSON object as the last stdout line')
    .description('1:N search, NPL style: FNIR at FPIR 1e-2, 1e-3 and the lowest measurable, and at a threshold')
    .action(
      action(async (opts: { dir: string; threshold?: string; exclude?: string; json?: boolean }) => {
        const cfg = loadConfig(program.opts<{ config?: string }>().config);
        const threshold = opts.threshold === undefined ? cfg.match.threshold : Number(opts.threshold);
        if (!Number.isFinite(threshold) || threshold < -1 || threshold > 1) throw new CliError(`--threshold must be a number between -1 and 1, not "${opts.threshold}"`, EXIT.usage);
        const exclude = opts.exclude ? await readExcludeFile(opts.exclude).catch(datasetError) : [];
        const engine = await createFaceEngine(cfg, silentLogger()).catch(visionCliError);
        try {
          const r = await evalWatchlist(engine, opts.dir, { threshold, exclude, progress: progressBar('1:N') }).catch(datasetError);
          emit(opts, () => humanWatchlist(r, opts.dir), () => ({ dataset: 'watchlist', dir: opts.dir, ...r }));
          return EXIT.ok;
        } finally {
          await engine.close();
        }
      }),
    );

  ev.command('references')
    .requiredOption('--dir <dir>', 'folder of <identity>/<images> (or DIR/images/<identity>/<images>)')
    .option('--k <n>', 'reference images per enrolled subject (identities with at least k + 1 images)', '3')
    .option('--threshold <t>', 'decision threshold to report FPIR/FNIR at (default: config match.threshold)')
    .option('--exclude <file>', 'identities to leave out: one name per line, or a TSV whose first column is the name')
    .option('--json', 'machine-readable output: one JSON object as the last stdout line')
    .description('1:N with several reference images per subject: first image only, each image, their mean, each + mean (same embeddings)')
    .action(
      action(async (opts: { dir: string; k: string; threshold?: string; exclude?: string; json?: boolean }) => {
        const cfg = loadConfig(program.opts<{ config?: string }>().config);
        const k = Number(opts.k);
        if (!Number.isInteger(k) || k < 1 || k > 10) throw new CliError(`--k must be a whole number from 1 to 10, not "${opts.k}"`, EXIT.usage);
        const threshold = opts.threshold === undefined ? cfg.match.threshold : Number(opts.threshold);
        if (!Number.isFinite(threshold) || threshold < -1 || threshold > 1) throw new CliError(`--threshold must be a number between -1 and 1, not "${opts.threshold}"`, EXIT.usage);
        const exclude = opts.exclude ? await readExcludeFile(opts.exclude).catch(datasetError) : [];
        const engine = await createFaceEngine(cfg, silentLogger()).catch(visionCliError);
        try {
          const r = await evalReferences(engine, opts.dir, { k, threshold, exclude, progress: progressBar('references') }).catch(datasetError);
          emit(opts, () => humanReferences(r, opts.dir), () => ({ dataset: 'references', dir: opts.dir, ...r }));
          return EXIT.ok;
        } finally {
          await engine.close();
        }
      }),
    );

  ev.command('calibrate')
    .requiredOption('--dir <dir>', 'folder of <identity>/<images> (LFW: ../shared/data/lfw)')
    .option('--exclude <file>', 'identities to leave out (LFW: known_label_errors.tsv)')
    .option('--out <file>', 'write the calibration JSON here (then name it in the embedder\'s manifest entry, "calibration")')
    .option('--json', 'machine-readable output: one JSON object as the last stdout line')
    .description('measure the embedder\'s impostor score tail for threshold-from-FPIR (docs/accuracy.md)')
    .action(
      action(async (opts: { dir: string; exclude?: string; out?: string; json?: boolean }) => {
        const cfg = loadConfig(program.opts<{ config?: string }>().config);
        const exclude = opts.exclude ? await readExcludeFile(opts.exclude).catch(datasetError) : [];
        const manifest = await loadManifest(modelsDirOf(cfg)).catch(visionCliError);
        const entry = findModel(manifest, cfg.vision.embedder, 'embedder');
        const engine = await createFaceEngine(cfg, silentLogger()).catch(visionCliError);
        try {
          const command = `lfr eval calibrate --dir ${opts.dir}${opts.exclude ? ` --exclude ${opts.exclude}` : ''}`;
          const cal = await runCalibration(engine, cfg, entry, opts.dir, { exclude, progress: progressBar('calibrate'), command }).catch(datasetError);
          if (opts.out) await writeFile(opts.out, JSON.stringify(cal, null, 1) + '\n');
          emit(
            opts,
            () =>
              [
                `impostor tail of ${cal.embedder} (mirror ${cal.mirrorAugment}): ${cal.comparisons} comparisons of ${cal.images} images, ${cal.identities} identities${opts.out ? `; written to ${opts.out}` : ''}`,
                ...cal.validation.map((v) => `  ${String(v.templates).padStart(5)} templates, target FPIR ${v.targetFpir}: threshold ${v.threshold}, predicted ${v.predictedFpir}, measured ${v.measuredFpir} (${v.falseAlerts} of ${v.probes})`),
              ].join('\n'),
            () => cal,
          );
          return EXIT.ok;
        } finally {
          await engine.close();
        }
      }),
    );

  ev.command('one-to-one')
    .requiredOption('--dir <dir>', 'LFW folder with pairs.txt and images/ (../shared/data/lfw)')
    .option('--out <file>', 'write the 1:1 calibration JSON here (models/<embedder>.one-to-one.json: the photo check reads it)')
    .option('--json', 'machine-readable output: one JSON object as the last stdout line')
    .description('1:1 threshold of the tablet photo check: threshold at each false-match rate (impostor tail) and its TAR on LFW genuine pairs')
    .action(
      action(async (opts: { dir: string; out?: string; json?: boolean }) => {
        const cfg = loadConfig(program.opts<{ config?: string }>().config);
        const modelsDir = modelsDirOf(cfg);
        const manifest = await loadManifest(modelsDir).catch(visionCliError);
        const entry = findModel(manifest, cfg.vision.embedder, 'embedder');
        const cal = await readCalibration(modelsDir, entry).catch((err: Error) => {
          throw new CliError(err.message, EXIT.badInput);
        });
        const engine = await createFaceEngine(cfg, silentLogger()).catch(visionCliError);
        try {
          const command = `lfr eval one-to-one --dir ${opts.dir}${opts.out ? ` --out ${opts.out}` : ''}`;
          const r = await runOneToOne(engine, cal, opts.dir, { fmrs: ONE_TO_ONE_FMRS, progress: progressBar('1:1'), command, calibrationFile: entry.calibration ?? '' }).catch(datasetError);
          if (opts.out) await writeFile(opts.out, JSON.stringify(r, null, 1) + '\n');
          emit(
            opts,
            () =>
              [
                `1:1 thresholds of ${r.embedder} (mirror ${r.mirrorAugment}) from ${r.impostorComparisons} impostor comparisons; TAR on ${r.genuinePairs} LFW genuine pairs${opts.out ? `; written to ${opts.out} (the van reads ${path.basename(oneToOneFile(modelsDir, entry))})` : ''}`,
                ...r.points.map((p) => `  FMR ${p.fmr.toExponential(0)}: threshold ${p.threshold} (${p.extrapolated ? 'extrapolated' : `${p.support} impostor scores`}), TAR ${pct(p.tar)}; LFW impostor pairs accepted ${p.lfwImpostorPairsAccepted} of ${r.impostorPairs}`),
              ].join('\n'),
            () => r,
          );
          return EXIT.ok;
        } finally {
          await engine.close();
        }
      }),
    );
}
