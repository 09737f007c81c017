// What every `lfr bench` entry is. Benches live in src/tools/bench (they use the product, the
// product never imports them); src/cli/bench.ts only parses options and prints.
import type { Config } from '../../config/schema.js';

export interface BenchOptions {
  /** Timed passes (each bench decides what a pass is). */
  iterations: number;
  /** `lfr bench tablet --guessers [N]`: password guessers beside the alerts (0 or absent: none). */
  guessers?: number;
}

/** A whole-number option of one bench only (the CLI registers it on that bench's command). */
export interface BenchFlag {
  /** Commander flags, e.g. '--guessers [n]' (an optional value: the flag alone means `preset`). */
  flags: string;
  key: 'guessers';
  description: string;
  /** The value when the flag is given without one. */
  preset: number;
  min: number;
  max: number;
}

export interface Bench {
  name: string;
  description: string;
  flags?: readonly BenchFlag[];
  run(config: Config, opts: BenchOptions): Promise<{ human: string; json: unknown }>;
}

/** A bench that cannot run on this machine (missing data or packages): the CLI exits "not ready". */
export class BenchNotReady extends Error {
  override name = 'BenchNotReady';
}
