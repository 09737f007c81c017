// A real force HQ for the tests: the fleet PKI (src/hq/certs.ts), HQ's mosquitto as
// `lfr hq broker setup` writes it (client certificates required, per-van ACL), a throw-away
// PostgreSQL cluster (src/tools/postgres.ts), and `lfr hq run` as a real process. Loopback only.
import { spawn, type ChildProcess } from 'node:child_process';
import https from 'node:https';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { ExecutionContext } from 'ava';
import mqtt, { type MqttClient } from 'mqtt';
import { CLI_ENTRY } from '../../src/paths.js';
import { ensureFleetCa, issueCert } from '../../src/hq/certs.js';
import { writeHqBroker } from '../../src/hq/broker.js';
import { LocalPostgres } from '../../src/tools/postgres.js';
import { MOSQUITTO } from '../../src/tools/broker.js';
import { freePort } from '../../src/util/net.js';
import { runCli, type CliResult } from './cli.js';
import { requirePrereqs } from './prereq.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export class TestHq {
  readonly dir: string;
  readonly caDir: string;
  brokerPort = 0;
  webPort = 0;
  pg!: LocalPostgres;
  cfgFile = '';
  brokerLog = '';
  hqLog = '';
  private broker: ChildProcess | null = null;
  private hq: ChildProcess | null = null;
  private brokerConf = '';

  private constructor() {
    this.dir = mkdtempSync(path.join(os.tmpdir(), 'lfr-hq-'));
    chmodSync(this.dir, 0o755);
    this.caDir = path.join(this.dir, 'ca');
  }

  static async create(t: ExecutionContext): Promise<TestHq> {
    requirePrereqs(['postgres', 'mosquitto', 'openssl']);
    const hq = new TestHq();
    t.teardown(() => hq.cleanup());
    ensureFleetCa(hq.caDir);
    hq.brokerPort = await freePort();
    hq.webPort = await freePort();
    const b = issueCert(hq.caDir, 'server', 'localhost', ['localhost', '127.0.0.1'], path.join(hq.dir, 'broker'), 'broker');
    issueCert(hq.caDir, 'client', 'hq', [], path.join(hq.dir, 'hq'), 'hq-client');
    issueCert(hq.caDir, 'server', 'localhost', ['localhost', '127.0.0.1'], path.join(hq.dir, 'hq'), 'web');
    // As root mosquitto would drop to its own user; the test's files are root's: stay root here.
    hq.brokerConf = writeHqBroker({ dir: path.join(hq.dir, 'broker'), port: hq.brokerPort, bind: '127.0.0.1', caFile: path.join(hq.caDir, 'ca.crt'), certFile: b.certFile, keyFile: b.keyFile, prefix: 'lfr', ...(process.getuid?.() === 0 ? { user: 'root' } : {}) });
    hq.pg = await new LocalPostgres().start();
    hq.cfgFile = path.join(hq.dir, 'hq.json');
    writeFileSync(
      hq.cfgFile,
      JSON.stringify({
        database: { url: hq.pg.url },
        mqtt: { url: `mqtts://127.0.0.1:${hq.brokerPort}`, caFile: path.join(hq.caDir, 'ca.crt'), certFile: path.join(hq.dir, 'hq', 'hq-client.crt'), keyFile: path.join(hq.dir, 'hq', 'hq-client.key'), instance: 'hq-test' },
        web: { host: '127.0.0.1', port: hq.webPort, certFile: path.join(hq.dir, 'hq', 'web.crt'), keyFile: path.join(hq.dir, 'hq', 'web.key') },
        offlineAfterSeconds: 60,
      }),
    );
    await hq.startBroker();
    return hq;
  }

  get url(): string {
    return `mqtts://127.0.0.1:${this.brokerPort}`;
  }
  get caFile(): string {
    return path.join(this.caDir, 'ca.crt');
  }

  /** A van's fleet settings: its client certificate (CN = vanId) and the CA. */
  vanFleet(vanId: string): Record<string, unknown> {
    const out = path.join(this.dir, 'vans', vanId);
    const c = issueCert(this.caDir, 'client', vanId, [], out, 'hq-client');
    return { hqUrl: this.url, caFile: this.caFile, certFile: c.certFile, keyFile: c.keyFile, syncSeconds: 1 };
  }

  async startBroker(): Promise<void> {
    const p = spawn(MOSQUITTO!, ['-c', this.brokerConf], { stdio: ['ignore', 'ignore', 'pipe'] });
    const from = this.brokerLog.length;
    p.stderr!.on('data', (d: Buffer) => (this.brokerLog += d.toString()));
    this.broker = p;
    const t0 = Date.now();
    while (!this.brokerLog.slice(from).includes(' running')) {
      if (p.exitCode !== null) throw new Error(`HQ mosquitto exited: ${this.brokerLog.slice(from)}`);
      if (Date.now() - t0 > 10_000) throw new Error(`HQ mosquitto did not start: ${this.brokerLog.slice(from)}`);
      await sleep(25);
    }
  }

  async stopBroker(): Promise<void> {
    const p = this.broker;
    this.broker = null;
    if (!p || p.exitCode !== null) return;
    await new Promise<void>((r) => {
      p.once('exit', () => r());
      p.kill('SIGTERM');
    });
  }

  cli(...args: string[]): Promise<CliResult> {
    return runCli(['hq', '--hq-config', this.cfgFile, ...args], { timeoutMs: 60_000 });
  }

  async startHq(): Promise<void> {
    const p = spawn(process.execPath, [CLI_ENTRY, 'hq', '--hq-config', this.cfgFile, 'run'], { stdio: ['ignore', 'ignore', 'pipe'] });
    p.stderr!.on('data', (d: Buffer) => (this.hqLog += d.toString()));
    this.hq = p;
    const t0 = Date.now();
    while (!this.hqLog.includes('"hq running"')) {
      if (p.exitCode !== null) throw new Error(`lfr hq run exited: ${this.hqLog.slice(-2000)}`);
      if (Date.now() - t0 > 30_000) throw new Error(`lfr hq run did not start: ${this.hqLog.slice(-2000)}`);
      await sleep(100);
    }
  }

  async stopHq(): Promise<void> {
    const p = this.hq;
    this.hq = null;
    if (!p || p.exitCode !== null) return;
    await new Promise<void>((r) => {
      p.once('exit', () => r());
      p.kill('SIGTERM');
    });
  }

  /** GET /api/fleet of HQ's page (what the page shows, as JSON); T is the caller's view of it. */
  api<T>(): Promise<T> {
    return new Promise((resolve, reject) => {
      https
        .get({ host: '127.0.0.1', port: this.webPort, path: '/api/fleet', ca: readFileSync(this.caFile), servername: 'localhost' }, (res) => {
          let b = '';
          res.on('data', (d: Buffer) => (b += d.toString()));
          res.on('end', () => (res.statusCode === 200 ? resolve(JSON.parse(b) as T) : reject(new Error(`${res.statusCode}: ${b}`))));
        })
        .on('error', reject);
    });
  }

  /** An MQTT client at HQ with the "hq" certificate (reads everything). */
  async client(clientId: string): Promise<MqttClient> {
    return mqtt.connectAsync(`mqtts://127.0.0.1:${this.brokerPort}`, { clientId, protocolVersion: 5, ca: readFileSync(this.caFile), cert: readFileSync(path.join(this.dir, 'hq', 'hq-client.crt')), key: readFileSync(path.join(this.dir, 'hq', 'hq-client.key')), servername: 'localhost', reconnectPeriod: 500 });
  }

  async cleanup(): Promise<void> {
    await this.stopHq().catch(() => undefined);
    await this.stopBroker().catch(() => undefined);
    await this.pg?.cleanup().catch(() => undefined);
    rmSync(this.dir, { recursive: true, force: true });
  }
}
