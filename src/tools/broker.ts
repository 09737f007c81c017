// A local mosquitto for the tests, the demo and `lfr bench tablet`: set up by THE product's
// `setupBroker` (src/mqtt/broker-setup.ts, what `lfr broker setup` and install.sh run) from an
// lfr config, then run as a child process on that config. On a van systemd runs mosquitto; this
// file is only for the places that need one of their own (NOT the product: src/tools/).
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { configSchema, type Config } from '../config/schema.js';
import { brokerPaths, reloadBroker, setupBroker, writeOfficerFiles } from '../mqtt/broker-setup.js';
import { hashPassword, randomPassword, readPasswd } from '../mqtt/passwd.js';
import { freePort } from '../util/net.js';

export const MOSQUITTO = ['/usr/sbin/mosquitto', '/usr/bin/mosquitto'].find((p) => {
  try {
    execFileSync(p, ['-h'], { stdio: 'ignore' });
    return true;
  } catch (err) {
    return (err as { status?: number }).status !== undefined; // -h exits 3 but the binary exists
  }
});

export type BrokerUser = Account;

export interface Account {
  user: string;
  password: string;
}

export interface LocalBrokerOptions {
  /** Officer accounts to create (their passwords are random and kept in `officers`); default PC1001, PC1002. */
  officers?: string[];
  vanId?: string;
  topicPrefix?: string;
  /** Address of both listeners (loopback by default). */
  bind?: string;
  /** The van's fleet settings (fleet.hqUrl and its files: the bridge to HQ, src/mqtt/bridge.ts). */
  fleet?: Record<string, unknown>;
}

/** The lfr config fragment (mqtt, broker, tablet cert) that points a van at this broker. */
export interface BrokerConfigFragment {
  mqtt: { url: string; username: string; passwordFile: string; caFile: string; topicPrefix: string };
  broker: Config['broker'];
  tabletCert: { certFile: string; keyFile: string };
}

export class LocalBroker {
  proc: ChildProcess | null = null;
  readonly dir: string;
  mqttPort = 0;
  wsPort = 0;
  config!: Config;
  stderr = '';
  readonly daemon: Account = { user: 'lfr-daemon', password: '' };
  readonly officers: Account[] = [];

  constructor(private readonly opts: LocalBrokerOptions = {}) {
    this.dir = mkdtempSync(path.join(os.tmpdir(), 'lfr-broker-'));
    // As root, mosquitto drops to its own user before reading its files: it must be able to
    // enter this folder (the files inside keep their own narrow modes and owners).
    chmodSync(this.dir, 0o711);
  }

  get url(): string {
    return `mqtts://127.0.0.1:${this.mqttPort}`;
  }
  get wsUrl(): string {
    return `wss://127.0.0.1:${this.wsPort}`;
  }
  get caFile(): string {
    return path.join(this.dir, 'tls', 'ca.crt');
  }

  /** The first officer account (the demo's sign-in; what the tests call the tablet's account). */
  get tablet(): Account {
    return this.officers[0]!;
  }

  /** The config fragment for a van using this broker. */
  fragment(): BrokerConfigFragment {
    const c = this.config;
    return {
      mqtt: { url: this.url, username: this.daemon.user, passwordFile: c.mqtt.passwordFile!, caFile: c.mqtt.caFile!, topicPrefix: c.mqtt.topicPrefix },
      broker: c.broker,
      tabletCert: { certFile: c.tablet.certFile, keyFile: c.tablet.keyFile },
    };
  }

  /** Set up with the product's setupBroker, create the officers, start. */
  async setup(): Promise<this> {
    if (!MOSQUITTO) throw new Error('mosquitto is not installed');
    this.mqttPort = await freePort();
    this.wsPort = await freePort();
    const d = (...p: string[]) => path.join(this.dir, ...p);
    const bind = this.opts.bind ?? '127.0.0.1';
    this.config = configSchema.parse({
      van: { id: this.opts.vanId ?? 'van-1' },
      mqtt: { url: this.url, username: this.daemon.user, passwordFile: d('daemon.pass'), caFile: d('tls', 'ca.crt'), topicPrefix: this.opts.topicPrefix ?? 'lfr' },
      broker: { confFile: d('mosquitto.conf'), dir: d('broker'), pidFile: d('broker', 'mosquitto.pid'), mqttPort: this.mqttPort, mqttBind: bind, wsPort: this.wsPort, wsBind: bind },
      // The page's certificate: the same names as the broker's, from the same CA.
      tablet: { certFile: d('tls', 'tablet.crt'), keyFile: d('tls', 'tablet.key') },
      ...(this.opts.fleet ? { fleet: this.opts.fleet } : {}),
    });
    await setupBroker(this.config);
    this.daemon.password = readFileSync(d('daemon.pass'), 'utf8').trim();
    for (const id of this.opts.officers ?? ['PC1001', 'PC1002']) this.addOfficer(id, false);
    await this.start();
    return this;
  }

  /** A new officer account (as `lfr officers add` makes it), reloading a running broker. */
  addOfficer(user: string, reload = true): Account {
    const p = brokerPaths(this.config);
    const users = readPasswd(p.officersPasswd);
    const acc = { user, password: randomPassword() };
    users.set(user, hashPassword(acc.password));
    writeOfficerFiles(this.config, users);
    this.officers.push(acc);
    if (reload) reloadBroker(this.config);
    return acc;
  }

  async start(): Promise<void> {
    const proc = spawn(MOSQUITTO!, ['-c', this.config.broker.confFile], { stdio: ['ignore', 'ignore', 'pipe'] });
    const from = this.stderr.length;
    proc.stderr?.on('data', (b: Buffer) => (this.stderr += b.toString()));
    this.proc = proc;
    const deadline = Date.now() + 10_000;
    // Ready when mosquitto says so: probing the TLS ports with bare TCP would log an SSL error.
    while (!this.stderr.slice(from).includes(' running')) {
      if (proc.exitCode !== null) throw new Error(`mosquitto exited: ${this.stderr.slice(from)}`);
      if (Date.now() > deadline) throw new Error(`mosquitto did not start: ${this.stderr.slice(from)}`);
      await new Promise((r) => setTimeout(r, 25));
    }
  }

  /** SIGTERM, SIGKILL after 5 s. Persistence is off: nothing survives a restart. */
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
    rmSync(this.dir, { recursive: true, force: true });
  }
}
