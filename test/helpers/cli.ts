// Run the real `lfr` process from the same build as the test (dist/ or .build/NAME/).
import { spawn } from 'node:child_process';
import { CLI_ENTRY, INSTALL_ROOT } from '../../src/paths.js';

export interface CliResult {
  code: number | null;
  /** The signal that ended the process (a crash or the timeout's SIGKILL), else null. */
  signal: NodeJS.Signals | null;
  /** True when the process ran past timeoutMs and was killed. */
  timedOut: boolean;
  stdout: string;
  stderr: string;
}

export function runCli(args: string[], opts: { env?: NodeJS.ProcessEnv; input?: string; timeoutMs?: number; cwd?: string } = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI_ENTRY, ...args], {
      cwd: opts.cwd ?? INSTALL_ROOT,
      env: { ...process.env, LFR_CONFIG: '', ...opts.env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, opts.timeoutMs ?? 120_000);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, timedOut, stdout, stderr });
    });
    child.stdin.end(opts.input ?? '');
  });
}

/** The last non-empty line of stdout parsed as JSON (the --json convention). */
export function lastJson<T = Record<string, unknown>>(stdout: string): T {
  const lines = stdout.trim().split('\n').filter(Boolean);
  return JSON.parse(lines[lines.length - 1] ?? 'null') as T;
}
