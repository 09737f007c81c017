// A throw-away PostgreSQL cluster for the tests and `lfr bench fleet` (NOT the product: HQ uses
// the force's server). initdb + pg_ctl from Debian's postgresql package, in a temp folder, on a
// Unix socket only (no TCP port at all). PostgreSQL refuses to run as root, so as root the cluster
// belongs to the OS user "postgres" (the Debian package creates it) and runs as that user.
import { execFileSync } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export const PG_BIN = ['/usr/lib/postgresql/15/bin', '/usr/lib/postgresql/16/bin', '/usr/lib/postgresql/17/bin'].find((d) => existsSync(path.join(d, 'initdb')));

export function postgresAvailable(): boolean {
  return PG_BIN !== undefined;
}

export class LocalPostgres {
  readonly dir: string;
  private running = false;
  private readonly asUser: string | null;

  constructor() {
    if (!PG_BIN) throw new Error('PostgreSQL is not installed (apt-get install postgresql)');
    this.dir = mkdtempSync(path.join(os.tmpdir(), 'lfr-pg-'));
    this.asUser = process.getuid?.() === 0 ? 'postgres' : null;
    if (this.asUser) {
      const uid = Number(execFileSync('id', ['-u', this.asUser]).toString().trim());
      const gid = Number(execFileSync('id', ['-g', this.asUser]).toString().trim());
      chownSync(this.dir, uid, gid);
    }
  }

  private run(bin: string, args: string[]): string {
    const cmd = path.join(PG_BIN!, bin);
    const [file, argv] = this.asUser ? ['runuser', ['-u', this.asUser, '--', cmd, ...args]] : [cmd, args];
    return execFileSync(file, argv, { stdio: ['ignore', 'pipe', 'pipe'], timeout: 60_000 }).toString();
  }

  /** The connection URL (Unix socket in this.dir, user lfr, database postgres). */
  get url(): string {
    return `postgresql://lfr@/postgres?host=${encodeURIComponent(this.dir)}`;
  }

  async start(): Promise<this> {
    if (!existsSync(path.join(this.dir, 'data'))) this.run('initdb', ['-D', path.join(this.dir, 'data'), '-A', 'trust', '-U', 'lfr', '-E', 'UTF8', '--no-sync']);
    // fsync off: a test cluster, thrown away after; the bench says so beside its figures.
    this.run('pg_ctl', ['-D', path.join(this.dir, 'data'), '-o', `-k ${this.dir} -c listen_addresses='' -c fsync=off`, '-l', path.join(this.dir, 'log'), '-w', 'start']);
    this.running = true;
    return this;
  }

  async stop(): Promise<void> {
    if (!this.running) return;
    this.running = false;
    this.run('pg_ctl', ['-D', path.join(this.dir, 'data'), '-m', 'fast', '-w', 'stop']);
  }

  async cleanup(): Promise<void> {
    await this.stop().catch(() => undefined);
    rmSync(this.dir, { recursive: true, force: true });
  }
}
