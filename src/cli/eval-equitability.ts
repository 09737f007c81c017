// `lfr eval equitability --dir DIR --group NAME=FILE ... [--threshold T | --target-fpir F]`: the
// 1:N protocol of `lfr eval watchlist` with FNIR and FPIR per group of probes
// (src/tools/eval/equitability.ts). Registered under `lfr eval` by one line in src/cli/eval.ts.
import { basename } from 'node:path';
import type { Command } from 'commander';
import { loadConfig } from '../config/load.js';
import { silentLogger } from '../log.js';
import { DatasetError, readExcludeFile, readIdentityFolders } from '../tools/eval/datasets.js';
import { assignGroups, equitability, GroupError, parseGroupOption, parseLabelList, type EquitabilityReport, type GroupSpec, type ThresholdChoice } from '../tools/eval/equitability.js';
import { runWatchlistSearches } from '../tools/eval/watchlist.js';
import { readSmallFile } from '../util/files.js';
import { createFaceEngine } from '../vision/engine.js';
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

export function registerEvalEquitability(ev: Command, program: Command): void {
  ev.command('equitability')
    .requiredOption('--dir <dir>', 'folder of <identity>/<images> (or DIR/images/<identity>/<images>)')
    .requiredOption('--group <name=file>', 'a group of probes: NAME=FILE, FILE listing image file names one a line (repeat for each group)', (v: string, acc: string[]) => [...acc, v], [] as string[])
    .option('--threshold <t>', 'report at this threshold (default: config match.threshold)')
    .option('--target-fpir <f>', 'set the threshold for this FPIR on one half of the non-mated identities, report on the other')
    .option('--exclude <file>', 'identities to leave out: one name per line, or a TSV whose first column is the name')
    .option('--json', 'machine-readable output: one JSON object as the last stdout line')
    .description('1:N search with FNIR and FPIR per group of probes, 95 % intervals and the ratio between groups')
    .action(
      action(async (opts: { dir: string; group: string[]; threshold?: string; targetFpir?: string; exclude?: string; json?: boolean }) => {
        const cfg = loadConfig(program.opts<{ config?: string }>().config);
        const choice = thresholdChoice(opts, cfg.match.threshold);
        try {
          const groups = await readGroups(opts.group);
          const exclude = opts.exclude ? await readExcludeFile(opts.exclude) : [];
          const { identities } = await readIdentityFolders(opts.dir);
          const images = new Set(identities.flatMap((i) => i.images.map((f) => basename(f))));
          // Labels are checked before a single face is embedded: a wrong file fails in a second.
          const assignment = assignGroups(groups, images, new Set(exclude));
          const engine = await createFaceEngine(cfg, silentLogger()).catch(visionCliError);
          try {
            const searches = await runWatchlistSearches(engine, opts.dir, { exclude });
            const r = equitability(searches, assignment, groups.map((g) => g.name), choice);
            for (const w of r.warnings.slice(0, opts.json ? WARNINGS_SHOWN : 0)) process.stderr.write(`lfr: warning: ${w}\n`);
            // threshold and groups first: the line the tooling reads.
            emit(opts, () => human(r, opts.dir), () => ({ threshold: r.threshold, groups: r.groups, fnirRatio: r.fnirRatio, fpirRatio: r.fpirRatio, thresholdFrom: r.thresholdFrom, unlabelled: r.unlabelled, gallery: r.gallery, models: engine.models, msPerImage: searches.msPerImage, warnings: r.warnings }));
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
