// Runs scripts/rtsp-server.py (gst-rtsp-server via Debian's python3-gi) as a child process:
// on a free port, waits for its READY line, and can kill and restart it on the same port. Used
// by the live demo, the ingest benchmark and tests (test/helpers/rtsp.ts re-exports it).
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from '../util/net.js';

const here = path.dirname(fileURLToPath(import.meta.url));
/** Repo root, found by walking up from this file (src/ingest, dist/src/ingest or .build/NAME/src/ingest). */
function repoRoot(): string {
  let dir = here;
  while (!existsSync(path.join(dir, 'scripts', 'rtsp-server.py'))) {
    const up = path.dirname(dir);
    if (up === dir) throw new Error('scripts/rtsp-server.py not found above ' + here);
    dir = up;
  }
  return dir;
}

/** The Python that has gi (Debian's); the python3 on PATH may lack it. */
export const SYSTEM_PYTHON = '/usr/bin/python3';

export function rtspServerAvailable(): boolean {
  return existsSync(SYSTEM_PYTHON) && existsSync('/usr/lib/python3/dist-packages/gi');
}

export { freePort };

export interface RtspServerOptions {
  /** mount path -> spec, e.g. { '/cam1': 'test:h264:320x240@25', '/crowd': 'file:/x.mp4' }. */
  mounts: Record<string, string>;
  port?: number;
  readyTimeoutMs?: number;
}

export class RtspServer {
  private proc: ChildProcess | null = null;
  private output = '';

  private constructor(
    readonly port: number,
    private readonly mounts: Record<string, string>,
    private readonly readyTimeoutMs: number,
  ) {}

  static async start(opts: RtspServerOptions): Promise<RtspServer> {
    const s = new RtspServer(opts.port ?? (await freePort()), opts.mounts, opts.readyTimeoutMs ?? 20_000);
    await s.launch();
    return s;
  }

  /** rtsp://127.0.0.1:PORT/mount */
  url(mount: string): string {
    return `rtsp://127.0.0.1:${this.port}${mount.startsWith('/') ? mount : '/' + mount}`;
  }

  get running(): boolean {
    return this.proc !== null && this.proc.exitCode === null && this.proc.signalCode === null;
  }

  /** Process id (for CPU accounting in benchmarks); null when not running. */
  get pid(): number | null {
    return this.running ? (this.proc!.pid ?? null) : null;
  }

  /** Everything the server printed (for assertion messages). */
  get log(): string {
    return this.output;
  }

  /** SIGKILL: the server vanishes without a TEARDOWN, like a camera losing power. */
  async kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    const p = this.proc;
    if (!p || !this.running) return;
    const exited = new Promise<void>((r) => p.once('exit', () => r()));
    p.kill(signal);
    await exited;
    this.proc = null;
  }

  /** Start again on the same port (after kill()). */
  async restart(): Promise<void> {
    await this.kill();
    await this.launch();
  }

  /** SIGTERM and wait (the script exits 0 on SIGTERM); SIGKILL after 5 s. */
  async stop(): Promise<void> {
    const p = this.proc;
    if (!p || !this.running) return;
    const t = setTimeout(() => p.kill('SIGKILL'), 5000);
    await this.kill('SIGTERM');
    clearTimeout(t);
  }

  private async launch(): Promise<void> {
    const args = [path.join(repoRoot(), 'scripts', 'rtsp-server.py'), '--port', String(this.port)];
    for (const [m, spec] of Object.entries(this.mounts)) args.push('--mount', `${m}=${spec}`);
    const p = spawn(SYSTEM_PYTHON, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    this.proc = p;
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        p.kill('SIGKILL');
        reject(new Error(`RTSP server not ready within ${this.readyTimeoutMs} ms:\n${this.output}`));
      }, this.readyTimeoutMs);
      const onData = (d: Buffer) => {
        this.output += d.toString();
        if (/^READY /m.test(this.output.split('\n').slice(-3).join('\n')) || this.output.includes(`READY rtsp://127.0.0.1:${this.port}`)) {
          clearTimeout(timer);
          resolve();
        }
      };
      p.stdout!.on('data', onData);
      p.stderr!.on('data', (d: Buffer) => (this.output += d.toString()));
      p.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`RTSP server exited (${code}) before ready:\n${this.output}`));
      });
    });
    // The server may port-bind race on restart; once ready it stays up.
    p.removeAllListeners('exit');
  }
}
