// What every `lfr bench` entry is. Benches live in src/tools/bench (they use the product, the
// product never imports them); src/cli/bench.ts only parses options and prints.
import type { Config } from '../../config/schema.js';

export interface BenchOptions {
  /** Timed passes (each bench decides what a pass is). */
  iterations: number;
}

export interface Bench {
  name: string;
  description: string;
  run(config: Config, opts: BenchOptions): Promise<{ human: string; json: unknown }>;
}

/** A bench that cannot run on this machine (missing data or packages): the CLI exits "not ready". */
export class BenchNotReady extends Error {
  override name = 'BenchNotReady';
}
