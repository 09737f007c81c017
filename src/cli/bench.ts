// `lfr bench <name>` and `lfr bench all` (what `npm run bench` runs): parse, run, print. The
// benches themselves and their list live in src/tools/bench. Each returns a human text and a
// JSON value; `bench all --json` prints one object keyed by bench name as the last stdout line.
import type { Command } from 'commander';
import type { Config } from '../config/schema.js';
import { loadConfig } from '../config/load.js';
import { BENCHES, BenchNotReady, type Bench, type BenchFlag, type BenchOptions } from '../tools/bench/index.js';
import { visionCliError } from './faces.js';
import { action, CliError, emit, EXIT } from './output.js';

/** Run one bench with the CLI's error mapping (missing models or data: exit "not ready"). */
async function runBench(b: Bench, cfg: Config, opts: BenchOptions): Promise<{ human: string; json: unknown }> {
  try {
    return await b.run(cfg, opts);
  } catch (err) {
    if (err instanceof BenchNotReady) throw new CliError(err.message, EXIT.notReady);
    return visionCliError(err);
  }
}

function parseIterations(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1 || n > 1000) throw new CliError(`--iterations must be a whole number from 1 to 1000, not "${v}"`, EXIT.usage);
  return n;
}

/** A bench's own whole-number option: `true` when given alone (then its preset). */
function parseFlag(f: BenchFlag, v: string | boolean): number {
  if (v === true) return f.preset;
  const n = Number(v);
  const name = f.flags.split(' ')[0]!;
  if (!Number.isInteger(n) || n < f.min || n > f.max) throw new CliError(`${name} must be a whole number from ${f.min} to ${f.max}, not "${String(v)}"`, EXIT.usage);
  return n;
}

export function register(program: Command): void {
  const bench = program.command('bench').description('performance benchmarks on this machine (npm run bench runs "bench all")');
  const cfgOf = (): Config => loadConfig(program.opts<{ config?: string }>().config);

  for (const b of BENCHES) {
    const cmd = bench
      .command(b.name)
      .description(b.description)
      .option('--iterations <n>', 'timed passes', '5')
      .option('--json', 'machine-readable output: one JSON object as the last stdout line');
    for (const f of b.flags ?? []) cmd.option(f.flags, `${f.description} (alone: ${f.preset}; ${f.min} to ${f.max})`);
    cmd.action(
      action(async (opts: { iterations: string; json?: boolean } & Record<string, string | boolean | undefined>) => {
        const extra: Partial<BenchOptions> = {};
        for (const f of b.flags ?? []) if (opts[f.key] !== undefined) extra[f.key] = parseFlag(f, opts[f.key]!);
        const r = await runBench(b, cfgOf(), { iterations: parseIterations(opts.iterations), ...extra });
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
          const r = await runBench(b, cfg, { iterations });
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
