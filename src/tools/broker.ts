// A local mosquitto for `lfr demo`, the benches and the tests, run with THE project's broker
// config (config/mosquitto/*.template), its certificate script and its account script, on free
// loopback ports in a temp dir, as the van's broker would be. stop()/start() keep the ports and the
// data folder, so a test can take the broker away and bring it back. Not product code: the van's
// broker is installed by scripts/install.sh and run by systemd.
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { mkdtemp, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { INSTALL_ROOT } from '../paths.js';
import { freePort } from '../util/net.js';

export { freePort };

export const MOSQUITTO = ['/usr/sbin/mosquitto', '/usr/bin/mosquitto'].find((p) => {
  try {
    execFileSync(p, ['-h'], { stdio: 'ignore' });
    return true;
  } catch (err) {
    return (err as { status?: number }).status !== undefined; // -h exits 3 but the binary exists
  }
});

export interface BrokerUser {
  user: string;
  password: string;
}

export class LocalBroker {
  proc: ChildProcess | null = null;
  dir = '';
  mqttPort = 0;
  wsPort = 0;
  caFile = '';
  readonly daemon: BrokerUser = { user: 'lfr-daemon', password: '' };
  readonly tablet: BrokerUser = { user: 'tablet-1', password: '' };
  stderr = '';

  constructor(readonly prefix = 'lfr') {}

  get url(): string {
    return `mqtts://127.0.0.1:${this.mqttPort}`;
  }
  get wsUrl(): string {
    return `wss://127.0.0.1:${this.wsPort}`;
  }

  /** Make certs and users with the project's scripts, render the project's config, start. */
  async setup(): Promise<this> {
    if (!MOSQUITTO) throw new Error('mosquitto is not installed');
    this.dir = await mkdtemp(path.join(os.tmpdir(), 'lfr-broker-'));
    const d = (f: string) => path.join(this.dir, f);
    execFileSync(path.join(INSTALL_ROOT, 'scripts/make-certs.sh'), [d('tls')], { stdio: 'pipe' });
    execFileSync(path.join(INSTALL_ROOT, 'scripts/mqtt-users.sh'), [d('passwd'), this.daemon.user, d('daemon.pass'), this.tablet.user, d('tablet.pass')], { stdio: 'pipe' });
    this.daemon.password = (await readFile(d('daemon.pass'), 'utf8')).trim();
    this.tablet.password = (await readFile(d('tablet.pass'), 'utf8')).trim();
    this.caFile = d('tls/ca.crt');
    this.mqttPort = await freePort();
    this.wsPort = await freePort();
    await mkdir(d('data'), { recursive: true });
    const vars: Record<string, string> = {
      // As root, mosquitto would switch to the 'mosquitto' user, which cannot read the temp dir.
      RUN_AS: os.userInfo().uid === 0 ? 'user root' : '',
      PASSWORD_FILE: d('passwd'),
      ACL_FILE: d('acl'),
      DATA_DIR: d('data'),
      LOG_DEST: 'stderr',
      MQTT_PORT: String(this.mqttPort),
      WS_PORT: String(this.wsPort),
      BIND: '127.0.0.1',
      CA_FILE: this.caFile,
      CERT_FILE: d('tls/broker.crt'),
      KEY_FILE: d('tls/broker.key'),
      DAEMON_USER: this.daemon.user,
      PREFIX: this.prefix,
    };
    const render = (t: string) => t.replace(/@([A-Z_]+)@/g, (_, k: string) => {
      if (!(k in vars)) throw new Error(`template variable ${k} has no value`);
      return vars[k]!;
    });
    const dir = path.join(INSTALL_ROOT, 'config/mosquitto');
    await writeFile(d('mosquitto.conf'), render(await readFile(path.join(dir, 'lfr.conf.template'), 'utf8')));
    await writeFile(d('acl'), render(await readFile(path.join(dir, 'lfr.acl.template'), 'utf8')), { mode: 0o600 });
    await this.start();
    return this;
  }

  async start(): Promise<void> {
    const proc = spawn(MOSQUITTO!, ['-c', path.join(this.dir, 'mosquitto.conf')], { stdio: ['ignore', 'ignore', 'pipe'] });
    proc.stderr?.on('data', (b: Buffer) => (this.stderr += b.toString()));
    this.proc = proc;
    const deadline = Date.now() + 10_000;
    while (Date.now() < deadline) {
      if (proc.exitCode !== null) throw new Error(`mosquitto exited: ${this.stderr}`);
      if ((await canConnect(this.mqttPort)) && (await canConnect(this.wsPort))) return;
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`mosquitto did not listen: ${this.stderr}`);
  }

  /** SIGTERM (mosquitto saves its persistence file), SIGKILL after 5 s. */
  async stop(): Promise<void> {
    const proc = this.proc;
    this.proc = null;
    if (!proc || proc.exitCode !== null) return;
    await new Promise<void>((resolve) => {
      const t = setTimeout(() => proc.kill('SIGKILL'), 5000);
      proc.once('exit', () => {
        clearTimeout(t);
        resolve();
      });
      proc.kill('SIGTERM');
    });
  }

  async cleanup(): Promise<void> {
    await this.stop();
    if (this.dir) await rm(this.dir, { recursive: true, force: true });
  }
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}
