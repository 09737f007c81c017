// Shared CLI plumbing: a user-facing error type with an exit code, and an action wrapper that
// turns any failure into one plain line on stderr (never a stack trace) and a non-zero exit.
import { SealedCredentialError } from '../crypto/sealed.js';
import { scrubUrl } from '../log.js';
import { ConfigError } from '../config/load.js';

/** Exit codes, documented in docs/cli.md. */
export const EXIT = { ok: 0, failure: 1, usage: 2, badInput: 3, notReady: 4 } as const;

export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: number = EXIT.failure,
    readonly details: string[] = [],
  ) {
    super(message);
    this.name = 'CliError';
  }
}

export interface JsonOption {
  json?: boolean;
}

/** Print either a human text or, with --json, one JSON object as the last line of stdout. */
export function emit(opts: JsonOption, human: () => string, json: () => unknown): void {
  if (opts.json) process.stdout.write(`${JSON.stringify(json())}\n`);
  else process.stdout.write(`${human()}\n`);
}

let exitCode = 0;
export const takeExitCode = (): number => exitCode;
export const setExitCode = (code: number): void => {
  exitCode = code;
};

/** Wrap a commander action: errors become `lfr: message` and an exit code. */
export function action<A extends unknown[]>(fn: (...args: A) => Promise<number | void> | number | void) {
  return async (...args: A): Promise<void> => {
    try {
      const code = await fn(...args);
      if (typeof code === 'number') setExitCode(code);
    } catch (err) {
      setExitCode(reportError(err));
    }
  };
}

export function reportError(err: unknown): number {
  if (err instanceof CliError) {
    process.stderr.write(`lfr: ${scrubUrl(err.message)}\n`);
    for (const d of err.details) process.stderr.write(`  ${scrubUrl(d)}\n`);
    return err.exitCode;
  }
  if (err instanceof ConfigError) {
    process.stderr.write(`lfr: ${err.message}\n`);
    for (const i of err.issues) process.stderr.write(`  ${i.path}: ${i.reason} (value: ${i.hidden ? 'not shown' : (JSON.stringify(i.value) ?? 'missing')})\n`);
    return EXIT.badInput;
  }
  if (err instanceof SealedCredentialError) {
    // Another box's key or a tampered one: a plain refusal, not a crash (docs/operations.md).
    process.stderr.write(`lfr: refusing to start: ${err.message}\n`);
    return EXIT.failure;
  }
  const e = err as NodeJS.ErrnoException;
  process.stderr.write(`lfr: unexpected error: ${scrubUrl(e?.message ?? String(err))}\n`);
  if (process.env.LFR_DEBUG) process.stderr.write(`${e?.stack ?? ''}\n`);
  return EXIT.failure;
}
