// `lfr bench tablet --guessers [N]` option parsing, through the real commander wiring
// (src/cli/bench.ts register) with the bench's run replaced, so nothing is started: the flag alone
// means 6 guessers, a value from 1 to 32 is taken, anything else is a usage error (exit 2) before
// the bench runs.
import test from 'ava';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Command } from 'commander';
import { register } from '../../src/cli/bench.js';
import { EXIT, setExitCode, takeExitCode } from '../../src/cli/output.js';
import { tabletBench } from '../../src/tools/bench/tablet.js';
import type { BenchOptions } from '../../src/tools/bench/types.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'lfr-bench-flags-'));
const cfgFile = path.join(dir, 'lfr.json');
writeFileSync(cfgFile, '{}\n'); // built-in defaults: the option is parsed before anything runs
test.after.always(() => rmSync(dir, { recursive: true, force: true }));

/** Parses `lfr -c CFG bench tablet ...args`; what the bench was given (null: it never ran), the exit code, stderr. */
async function parse(args: string[]): Promise<{ opts: BenchOptions | null; code: number; stderr: string }> {
  const realRun = tabletBench.run;
  const realWrite = process.stderr.write.bind(process.stderr);
  let opts: BenchOptions | null = null;
  let stderr = '';
  tabletBench.run = async (_cfg, o) => {
    opts = o;
    return { human: '', json: {} };
  };
  process.stderr.write = ((chunk: string | Uint8Array) => {
    stderr += String(chunk);
    return true;
  }) as typeof process.stderr.write;
  const stdout = process.stdout.write.bind(process.stdout);
  process.stdout.write = (() => true) as typeof process.stdout.write;
  setExitCode(0);
  try {
    const program = new Command().exitOverride().option('-c, --config <file>');
    register(program);
    await program.parseAsync(['node', 'lfr', '-c', cfgFile, 'bench', 'tablet', ...args]);
    return { opts, code: takeExitCode(), stderr };
  } finally {
    tabletBench.run = realRun;
    process.stderr.write = realWrite;
    process.stdout.write = stdout;
    setExitCode(0);
  }
}

test.serial('--guessers alone means six guessers', async (t) => {
  const r = await parse(['--guessers']);
  t.is(r.code, EXIT.ok, r.stderr);
  t.is(r.opts?.guessers, 6);
});

test.serial('without --guessers: no guessers (the plain bench)', async (t) => {
  const r = await parse([]);
  t.is(r.code, EXIT.ok, r.stderr);
  t.is(r.opts?.guessers, undefined);
});

test.serial('--guessers N takes a whole number from 1 to 32', async (t) => {
  for (const n of ['1', '6', '32']) {
    const r = await parse(['--guessers', n]);
    t.is(r.code, EXIT.ok, r.stderr);
    t.is(r.opts?.guessers, Number(n));
  }
});

test.serial('bad --guessers values are refused as usage errors before the bench runs', async (t) => {
  for (const bad of ['0', '33', 'abc', '2.5', '1e3', '']) {
    const r = await parse(['--guessers', bad]);
    t.is(r.code, EXIT.usage, `"${bad}": ${r.stderr}`);
    t.is(r.opts, null, `"${bad}": the bench did not run`);
    t.is(r.stderr, `lfr: --guessers must be a whole number from 1 to 32, not "${bad}"\n`);
  }
});
