// Drives test/helpers/daemon-harness.js in a child process (see there).
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export type DaemonEvent = { ev: string; [k: string]: unknown };

export class DaemonProcess {
  readonly events: DaemonEvent[] = [];
  private stderr = '';
  private constructor(private readonly p: ChildProcess) {}

  static async start(configFile: string, opts: { logFile?: string; env?: NodeJS.ProcessEnv; readyTimeoutMs?: number } = {}): Promise<DaemonProcess> {
    const harness = path.join(path.dirname(fileURLToPath(import.meta.url)), 'daemon-harness.js');
    const p = spawn(process.execPath, [harness, configFile, ...(opts.logFile ? [opts.logFile] : [])], {
      stdio: ['pipe', 'pipe', 'pipe'],
      env: { ...process.env, UV_THREADPOOL_SIZE: '16', ...opts.env },
    });
    const d = new DaemonProcess(p);
    let buf = '';
    p.stdout!.on('data', (c: Buffer) => {
      buf += c.toString();
      let i;
      while ((i = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, i);
        buf = buf.slice(i + 1);
        try {
          d.events.push(JSON.parse(line) as DaemonEvent);
        } catch {
          /* not ours */
        }
      }
    });
    p.stderr!.on('data', (c: Buffer) => (d.stderr += c.toString()));
    await d.waitFor((e) => e.ev === 'ready', opts.readyTimeoutMs ?? 60_000, 'daemon ready');
    return d;
  }

  send(o: object): void {
    this.p.stdin!.write(`${JSON.stringify(o)}\n`);
  }

  async waitFor(pred: (e: DaemonEvent) => boolean, timeoutMs: number, what: string, from = 0): Promise<DaemonEvent> {
    const t0 = Date.now();
    for (;;) {
      const e = this.events.slice(from).find(pred);
      if (e) return e;
      if (this.p.exitCode !== null) throw new Error(`daemon exited (${this.p.exitCode}) waiting for ${what}: ${this.stderr.slice(-2000)}`);
      if (Date.now() - t0 > timeoutMs) throw new Error(`timed out waiting for ${what}; stderr: ${this.stderr.slice(-1000)}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  async status(): Promise<DaemonEvent> {
    const from = this.events.length;
    this.send({ cmd: 'status' });
    return this.waitFor((e) => e.ev === 'status', 10_000, 'status', from);
  }

  async stop(): Promise<DaemonEvent | undefined> {
    if (this.p.exitCode !== null) return undefined;
    const from = this.events.length;
    const exited = new Promise<void>((r) => this.p.once('exit', () => r()));
    this.send({ cmd: 'stop' });
    const t = setTimeout(() => this.p.kill('SIGKILL'), 20_000);
    await exited;
    clearTimeout(t);
    return this.events.slice(from).find((e) => e.ev === 'stopped');
  }
}
