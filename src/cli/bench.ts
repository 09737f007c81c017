// `lfr bench <name>` and `lfr bench all` (what `npm run bench` runs). Benchmarks are listed
// explicitly in BENCHES (no discovery by scanning): to add one, write its `Bench` entry below,
// calling the service's own bench function, and add it to the list. Each bench returns a human
// text and a JSON value; `bench all --json` prints one object keyed by bench name as the last
// stdout line. Benches use installed data only (demo photos, random templates), never ../shared.
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import type { Command } from 'commander';
import type { Config } from '../config/schema.js';
import { loadConfig } from '../config/load.js';
import { silentLogger } from '../log.js';
import { INSTALL_ROOT } from '../paths.js';
import { benchPerFace } from '../vision/bench.js';
import { decodeImageFile } from '../vision/decode.js';
import { createFaceEngine } from '../vision/engine.js';
import { visionCliError } from './faces.js';
import { action, CliError, emit, EXIT } from './output.js';
import { modelsBench } from '../quant/bench.js';
import { searchScaleBench } from '../match/search/bench.js';
import { searchBench } from '../match/bench.js';
import { liveBench } from '../match/bench-live.js';

export interface BenchOptions {
  /** Timed passes (each bench decides what a pass is). */
  iterations: number;
}

export interface Bench {
  name: string;
  description: string;
  run(config: Config, opts: BenchOptions): Promise<{ human: string; json: unknown }>;
}

/** The MIT demo photos shipped inside @vladmandic/face-api: 6 photos, about 3 faces each. */
export const DEMO_PHOTOS_DIR = path.join(INSTALL_ROOT, 'node_modules', '@vladmandic', 'face-api', 'demo');

const visionBench: Bench = {
  name: 'vision',
  description: 'per-face cost of the still pipeline on ONE thread: detect (+ landmarks), align + quality, embed (median ms)',
  async run(config, opts) {
    // One intra-op thread: the per-face figure a camera gets when several run side by side.
    const cfg: Config = { ...config, vision: { ...config.vision, intraOpThreads: 1 } };
    const files = (await readdir(DEMO_PHOTOS_DIR).catch(() => [] as string[])).filter((f) => /^sample\d+\.jpg$/.test(f)).sort();
    if (files.length === 0) throw new CliError(`no demo photos in ${DEMO_PHOTOS_DIR} (is @vladmandic/face-api installed?)`, EXIT.notReady);
    const images = await Promise.all(files.map((f) => decodeImageFile(path.join(DEMO_PHOTOS_DIR, f))));
    const engine = await createFaceEngine(cfg, silentLogger()).catch(visionCliError);
    try {
      const r = await benchPerFace(engine, images, opts.iterations);
      const f = (v: number): string => v.toFixed(2);
      const size = `${images[0]!.width}x${images[0]!.height}`;
      return {
        human: [
          `vision: ${r.images} photos (${size} ...), ${r.faces} faces per pass, ${r.iterations} timed passes, 1 thread; models ${engine.models.detector} / ${engine.models.landmarker} / ${engine.models.embedder}, mirrorAugment ${cfg.vision.mirrorAugment}`,
          `  detect + landmarks ${f(r.detectMsPerImage)} ms per photo (detector input width ${cfg.vision.detectorInputWidth})`,
          `  align + quality    ${f(r.analyseMsPerFace)} ms per face`,
          `  embed              ${f(r.embedMsPerFace)} ms per face`,
          `  per face           ${f(r.perFaceMs)} ms (detect shared over the faces of a photo + align + embed)`,
        ].join('\n'),
        json: { ...r, threads: 1, models: engine.models, mirrorAugment: cfg.vision.mirrorAugment, detectorInputWidth: cfg.vision.detectorInputWidth, photoSize: size },
      };
    } finally {
      await engine.close();
    }
  },
};

/** Every bench, in the order `bench all` runs them. */
export const BENCHES: readonly Bench[] = [visionBench, modelsBench, searchBench, searchScaleBench, liveBench];

function parseIterations(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1 || n > 1000) throw new CliError(`--iterations must be a whole number from 1 to 1000, not "${v}"`, EXIT.usage);
  return n;
}

export function register(program: Command): void {
  const bench = program.command('bench').description('performance benchmarks on this machine (npm run bench runs "bench all")');
  const cfgOf = (): Config => loadConfig(program.opts<{ config?: string }>().config);

  for (const b of BENCHES) {
    bench
      .command(b.name)
      .description(b.description)
      .option('--iterations <n>', 'timed passes', '5')
      .option('--json', 'machine-readable output: one JSON object as the last stdout line')
      .action(
        action(async (opts: { iterations: string; json?: boolean }) => {
          const r = await b.run(cfgOf(), { iterations: parseIterations(opts.iterations) });
          emit(opts, () => r.human, () => ({ bench: b.name, ...(r.json as object) }));
          return EXIT.ok;
        }),
      );
  }

  bench
    .command('all')
    .description(`run every bench: ${BENCHES.map((b) => b.name).join(', ')}`)
    .option('--iterations <n>', 'timed passes per bench', '5')
    .option('--json', 'machine-readable output: one JSON object (keyed by bench) as the last stdout line')
    .action(
      action(async (opts: { iterations: string; json?: boolean }) => {
        const iterations = parseIterations(opts.iterations);
        const cfg = cfgOf();
        const results: Record<string, unknown> = {};
        const texts: string[] = [];
        for (const b of BENCHES) {
          const r = await b.run(cfg, { iterations });
          results[b.name] = r.json;
          texts.push(r.human);
          // Human output streams as each bench ends; --json waits for the one final object.
          if (!opts.json) process.stdout.write(`${r.human}\n`);
        }
        if (opts.json) emit(opts, () => texts.join('\n'), () => results);
        return EXIT.ok;
      }),
    );
}
