// `lfr eval equitability --dir DIR --group NAME=FILE ... [--threshold T | --target-fpir F]`: the
// 1:N protocol of `lfr eval watchlist` with FNIR and FPIR per group of probes
// (src/tools/eval/equitability.ts). Registered under `lfr eval` by one line in src/cli/eval.ts.
import { rename, writeFile } from 'node:fs/promises';
import { basename } from 'node:path';
import type { Command } from 'commander';
import { loadConfig } from '../config/load.js';
import { silentLogger } from '../log.js';
import { DatasetError, readExcludeFile, readIdentityFolders } from '../tools/eval/datasets.js';
import { assignGroups, equitability, GroupError, parseGroupOption, parseLabelList, statementGrid, statementRows, type EquitabilityReport, type GroupSpec, type StatementRow, type ThresholdChoice } from '../tools/eval/equitability.js';
import { NORM_MODES, type NormMode } from '../tools/eval/cohort.js';
import { runWatchlistSearches, type WatchlistSearches } from '../tools/eval/watchlist.js';
import type { Config } from '../config/schema.js';
import { statementSchema } from '../match/equitability.js';
import { readSmallFile } from '../util/files.js';
import { createFaceEngine, modelsDirOf } from '../vision/engine.js';
import { findModel, loadManifest } from '../vision/manifest.js';
import { visionCliError } from './faces.js';
import { action, CliError, emit, EXIT } from './output.js';

const pct = (v: number): string => `${(v * 100).toFixed(2)} %`;
const ci = (c: [number, number] | null): string => (c ? `[${pct(c[0])}, ${pct(c[1])}]` : '');
/** Label files list every image of a dataset: LFW's run to ~200 KB. */
const MAX_LABELS_BYTES = 16 * 1024 * 1024;

/** How many warnings the human output prints before summing up (the JSON has them all). */
const WARNINGS_SHOWN = 20;

function human(r: EquitabilityReport, dir: string): string {
  const from = r.thresholdFrom.kind === 'given' ? 'given' : `for FPIR ${r.thresholdFrom.target} on a held-out half of the non-mated identities (${r.thresholdFrom.calibrationNonMated} searches; FPIR there ${r.thresholdFrom.reachedFpir.toExponential(2)}), reported on the other half`;
  const lines = [`equitability of 1:N search on ${dir}: gallery ${r.gallery}; threshold ${r.threshold.toFixed(4)} (${from})`, '  group          mated  FNIR (95 % CI)                       non-mated  FPIR (95 % CI)'];
  for (const g of r.groups) {
    const fnir = g.fnir === null ? 'too few to measure' : `${pct(g.fnir)} ${ci(g.fnirCi)} (${g.misses} missed)`;
    const fpir = g.fpir === null ? 'too few to measure' : `${g.fpir.toExponential(2)} ${ci(g.fpirCi)} (${g.falseAlerts} false alerts)`;
    lines.push(`  ${g.name.padEnd(14)} ${String(g.mated).padStart(5)}  ${fnir.padEnd(36)} ${String(g.nonMated).padStart(9)}  ${fpir}`);
  }
  lines.push(`  FNIR ratio (highest / lowest group): ${r.fnirRatio === null ? 'not measurable' : r.fnirRatio.toFixed(2)}; FPIR ratio: ${r.fpirRatio === null ? 'not measurable (a group has no false alert, or too few probes)' : r.fpirRatio.toFixed(2)}`);
  lines.push(`  all probes: FNIR ${pct(r.overall.fnir)} (${r.overall.misses} of ${r.overall.mated}); FPIR ${r.overall.fpir.toExponential(2)} (${r.overall.falseAlerts} of ${r.overall.nonMated})`);
  lines.push(`  probes in no group (left out): ${r.unlabelled.mated} mated, ${r.unlabelled.nonMated} non-mated`);
  if (r.warnings.length) {
    lines.push(`  ${r.warnings.length} warning(s):`);
    for (const w of r.warnings.slice(0, WARNINGS_SHOWN)) lines.push(`    ${w}`);
    if (r.warnings.length > WARNINGS_SHOWN) lines.push(`    ... and ${r.warnings.length - WARNINGS_SHOWN} more (--json lists them all)`);
  }
  return lines.join('\n');
}

async function readGroups(values: readonly string[]): Promise<GroupSpec[]> {
  const out: GroupSpec[] = [];
  for (const v of values) {
    const { name, file } = parseGroupOption(v);
    let text: string;
    try {
      text = (await readSmallFile(file, MAX_LABELS_BYTES)).toString('utf8');
    } catch (err) {
      throw new CliError(`cannot read labels for group ${name} from ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, EXIT.badInput);
    }
    out.push({ name, file, images: parseLabelList(text) });
  }
  return out;
}

function thresholdChoice(opts: { threshold?: string; targetFpir?: string }, fallback: number): ThresholdChoice {
  if (opts.threshold !== undefined && opts.targetFpir !== undefined) throw new CliError('give --threshold or --target-fpir, not both', EXIT.usage);
  if (opts.targetFpir !== undefined) {
    const f = Number(opts.targetFpir);
    if (!(f > 0 && f < 1)) throw new CliError(`--target-fpir must be a rate between 0 and 1, e.g. 1e-3, not "${opts.targetFpir}"`, EXIT.usage);
    return { targetFpir: f };
  }
  const t = opts.threshold === undefined ? fallback : Number(opts.threshold);
  if (!Number.isFinite(t) || t < -1 || t > 1) throw new CliError(`--threshold must be a number between -1 and 1, not "${opts.threshold}"`, EXIT.usage);
  return { threshold: t };
}

/** An argument as a shell would need it typed (the statement's command must be re-runnable). */
const shellWord = (a: string): string => (/^[\w./=,:@+-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`);

/**
 * The model pack's statement, checked against the schema the van reads (so a file the van would
 * refuse is never written), written whole as .part and renamed.
 */
async function writeStatement(file: string, x: { cfg: Config; searches: WatchlistSearches; rows: StatementRow[]; dataset: string; labels: string; limits: string; command: string }): Promise<void> {
  const entry = findModel(await loadManifest(modelsDirOf(x.cfg)), x.cfg.vision.embedder, 'embedder');
  const statement = statementSchema.parse({
    schema: 1,
    embedder: entry.id,
    embedderSha256: entry.sha256,
    mirrorAugment: x.cfg.vision.mirrorAugment,
    pipeline: { detector: x.cfg.vision.detector, landmarker: x.cfg.vision.landmarker },
    dataset: x.dataset,
    labels: x.labels,
    protocol: 'each person on the watchlist enrolled from one photo and searched with each of their other photos; people with one photo searched as passers-by',
    command: x.command,
    measuredOn: new Date().toISOString().slice(0, 10),
    gallery: x.searches.gallery,
    limits: x.limits,
    rows: x.rows,
  });
  try {
    await writeFile(`${file}.part`, `${JSON.stringify(statement, null, 1)}\n`, { mode: 0o644 });
    await rename(`${file}.part`, file);
  } catch (err) {
    throw new CliError(`cannot write the statement to ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, EXIT.badInput);
  }
}

export function registerEvalEquitability(ev: Command, program: Command): void {
  ev.command('equitability')
    .requiredOption('--dir <dir>', 'folder of <identity>/<images> (or DIR/images/<identity>/<images>)')
    .requiredOption('--group <name=file>', 'a group of probes: NAME=FILE, FILE listing image file names one a line (repeat for each group)', (v: string, acc: string[]) => [...acc, v], [] as string[])
    .option('--threshold <t>', 'report at this threshold (default: config match.threshold)')
    .option('--target-fpir <f>', 'set the threshold for this FPIR on one half of the non-mated identities, report on the other')
    .option('--exclude <file>', 'identities to leave out: one name per line, or a TSV whose first column is the name')
    .option('--norm <mode>', 'score scale: none (raw cosines, as the van), or cohort normalisation t, z or zt against half of the non-mated identities (measurement only)', 'none')
    .option('--statement-out <file>', "also write the model pack's equitability statement (per-group figures at thresholds 0.30-0.80) for these models: name it in the embedder's manifest entry (\"equitability\")")
    .option('--labels <words>', 'with --statement-out: where the group labels come from, in words a force can quote')
    .option('--limits <words>', 'with --statement-out: what the figures cannot say (make-up of the data, groups missing)')
    .option('--json', 'machine-readable output: one JSON object as the last stdout line')
    .description('1:N search with FNIR and FPIR per group of probes, 95 % intervals and the ratio between groups')
    .action(
      action(async (opts: { dir: string; group: string[]; threshold?: string; targetFpir?: string; exclude?: string; json?: boolean; statementOut?: string; labels?: string; limits?: string; norm: string }) => {
        const cfg = loadConfig(program.opts<{ config?: string }>().config);
        const choice = thresholdChoice(opts, cfg.match.threshold);
        // A statement a force will publish needs its provenance in words: refused before any work.
        if (opts.statementOut !== undefined && (!opts.labels?.trim() || !opts.limits?.trim())) throw new CliError('--statement-out needs --labels and --limits (what the groups are and what the figures cannot say)', EXIT.usage);
        if (!(NORM_MODES as readonly string[]).includes(opts.norm)) throw new CliError(`--norm must be one of ${NORM_MODES.join(', ')}, not "${opts.norm}"`, EXIT.usage);
        const norm = opts.norm as NormMode;
        // Normalised scores are on another scale: the config's cosine threshold means nothing there,
        // and the van (raw cosines) must never quote a statement measured on them.
        if (norm !== 'none' && opts.threshold === undefined && opts.targetFpir === undefined) throw new CliError(`--norm ${norm} puts scores on another scale: give --target-fpir (or a --threshold on that scale)`, EXIT.usage);
        if (norm !== 'none' && opts.statementOut !== undefined) throw new CliError('--statement-out measures the van as it runs (raw cosines): not with --norm', EXIT.usage);
        try {
          const groups = await readGroups(opts.group);
          const exclude = opts.exclude ? await readExcludeFile(opts.exclude) : [];
          const { identities } = await readIdentityFolders(opts.dir);
          const images = new Set(identities.flatMap((i) => i.images.map((f) => basename(f))));
          // Labels are checked before a single face is embedded: a wrong file fails in a second.
          const assignment = assignGroups(groups, images, new Set(exclude));
          const engine = await createFaceEngine(cfg, silentLogger()).catch(visionCliError);
          try {
            const searches = await runWatchlistSearches(engine, opts.dir, { exclude, norm });
            const r = equitability(searches, assignment, groups.map((g) => g.name), choice);
            if (opts.statementOut !== undefined) {
              await writeStatement(opts.statementOut, {
                cfg,
                searches,
                rows: statementRows(searches, assignment, groups.map((g) => g.name), statementGrid([r.threshold])),
                dataset: `${opts.dir}: ${identities.length.toLocaleString('en-GB')} identities, ${images.size.toLocaleString('en-GB')} images${exclude.length ? `, ${exclude.length} known label errors left out` : ''}`,
                labels: opts.labels!.trim(),
                limits: opts.limits!.trim(),
                // The whole command line, global options (-c CONFIG) included: they choose the models.
                command: `lfr ${process.argv.slice(2).map(shellWord).join(' ')}`,
              });
            }
            for (const w of r.warnings.slice(0, opts.json ? WARNINGS_SHOWN : 0)) process.stderr.write(`lfr: warning: ${w}\n`);
            // threshold and groups first: the line the issue's tooling reads.
            emit(opts, () => human(r, opts.dir), () => ({ threshold: r.threshold, groups: r.groups, fnirRatio: r.fnirRatio, fpirRatio: r.fpirRatio, thresholdFrom: r.thresholdFrom, overall: r.overall, norm: searches.norm, cohort: searches.cohort, unlabelled: r.unlabelled, gallery: r.gallery, models: engine.models, msPerImage: searches.msPerImage, warnings: r.warnings }));
            return EXIT.ok;
          } finally {
            await engine.close();
          }
        } catch (err) {
          if (err instanceof GroupError) throw new CliError(err.message, EXIT.usage);
          if (err instanceof DatasetError) throw new CliError(err.message, EXIT.badInput);
          throw err;
        }
      }),
    );
}
