// THE way a test runs the van: the real `lfr run` process (the one composition root), started from a
// config file in a temp dir, with a real mosquitto set up by the project's own scripts, real RTSP
// cameras (scripts/rtsp-server.py streaming video files), the real models and real SQLite files.
// Tests vary the CONFIG, never the wiring: there is no in-process daemon here and no hook into it.
// Everything a test does to the van goes through the van's own interfaces: the `lfr` CLI (which
// talks to the daemon over its control socket), MQTT, the tablet page over HTTPS, signals.
//
//   const van = await Van.create(t, { cameras: [{ name: 'north-1', video }], subjects: [...] });
//   await van.start();                       // spawns `lfr -c <cfg> run`, waits until it runs
//   await van.cli('deployment', 'start', ...) // any lfr command against this van's config
//   await van.stop();                        // SIGTERM, exit code
//
// Van.create registers t.teardown for the daemon, the broker, the cameras and the temp dir.
import { spawn, type ChildProcess } from 'node:child_process';
import { lstatSync, mkdtempSync, mkdirSync, readdirSync, readFileSync, rmSync, statfsSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import type { ExecutionContext } from 'ava';
import mqtt, { type MqttClient } from 'mqtt';
import { CLI_ENTRY } from '../../src/paths.js';
import { generateKeyFiles } from '../../src/crypto/keys.js';
import { freePort } from '../../src/util/net.js';
import { TestMosquitto } from './mosquitto.js';
import { RtspServer } from './rtsp.js';
import { runCli, lastJson, type CliResult } from './cli.js';
import { requirePrereqs, type Prereq } from './prereq.js';

export interface VanCamera {
  name: string;
  /** A video file served by a local RTSP server (looped), or a ready URL. */
  video?: string;
  url?: string;
  location?: string;
}

export interface VanOptions {
  cameras?: VanCamera[];
  /** Deep-merged over the generated config (objects merge, arrays and scalars replace). */
  config?: Record<string, unknown>;
  /** A real mosquitto with the product's broker config (default true). */
  broker?: boolean;
  /** Serve the tablet page (HTTPS, the broker's certificate) on a free loopback port (default false). */
  tablet?: boolean;
  /** Prometheus/health port on 127.0.0.1 (default: a free port). */
  metrics?: boolean;
  /** Extra environment for `lfr run`. */
  env?: NodeJS.ProcessEnv;
  /**
   * Start `lfr run` with the core-file limit raised to unlimited (as on a box someone
   * misconfigured): the van must still never leave a core file with faces in it.
   */
  coreLimitUnlimited?: boolean;
  /**
   * Keep paths.runtimeDir (watchlist store, alert keys, uploads) on the disk, under the van's temp
   * dir, as a misconfigured van would. By default it is on tmpfs (/dev/shm) like /run/lfr on a van,
   * so `lfr health` sees what a van sees (check storage.volatile).
   */
  runtimeOnDisk?: boolean;
  /** Options of the van's broker (e.g. vanId and fleet: a bridge to an HQ broker). */
  brokerOptions?: ConstructorParameters<typeof TestMosquitto>[0];
}

export interface BundleSubject {
  ref: string;
  category?: string;
  reason?: string;
  images: Buffer[];
}

export interface VanKeys {
  vanKey: string;
  vanPub: string;
  signingKey: string;
  signingPub: string;
}

type Json = Record<string, unknown>;

function isObj(v: unknown): v is Json {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

export function deepMerge(a: Json, b: Json): Json {
  const out: Json = { ...a };
  for (const [k, v] of Object.entries(b)) out[k] = isObj(v) && isObj(out[k]) ? deepMerge(out[k] as Json, v) : v;
  return out;
}

export class Van {
  readonly dir: string;
  readonly cfgFile: string;
  readonly keys: VanKeys;
  config: Json = {};
  broker: TestMosquitto | null = null;
  readonly rtsp: RtspServer[] = [];
  tabletPort = 0;
  metricsPort = 0;
  private child: ChildProcess | null = null;
  private stderr = '';
  private exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }> | null = null;
  /** The runtime dir when it is on tmpfs, outside this.dir (removed at cleanup). */
  private ramDir: string | null = null;

  private constructor(private readonly opts: VanOptions) {
    this.dir = mkdtempSync(path.join(os.tmpdir(), 'lfr-van-'));
    this.cfgFile = path.join(this.dir, 'lfr.json');
    const k = path.join(this.dir, 'keys');
    const van = generateKeyFiles('van', k, 'van');
    const force = generateKeyFiles('signing', path.join(this.dir, 'station'), 'force');
    this.keys = { vanKey: van.privateFile, vanPub: van.publicFile, signingKey: force.privateFile, signingPub: force.publicFile };
  }

  /** Build the van's world (keys, broker, cameras, config file); the daemon is not started yet. */
  static async create(t: ExecutionContext, opts: VanOptions = {}): Promise<Van> {
    const need: Prereq[] = ['models'];
    if (opts.broker !== false) need.push('mosquitto');
    if ((opts.cameras ?? []).some((c) => c.video)) need.push('rtsp');
    requirePrereqs(need);
    const van = new Van(opts);
    t.teardown(() => van.cleanup());
    if (opts.broker !== false) van.broker = await new TestMosquitto(opts.brokerOptions).setup();
    const cameras: Json[] = [];
    for (const c of opts.cameras ?? []) {
      let url = c.url;
      if (c.video) {
        const server = await RtspServer.start({ mounts: { '/cam': `file:${c.video}` } });
        van.rtsp.push(server);
        url = server.url('/cam');
      }
      if (!url) throw new Error(`camera ${c.name}: give a video or a url`);
      cameras.push({ name: c.name, url, ...(c.location ? { location: c.location } : {}) });
    }
    if (opts.tablet) van.tabletPort = await freePort();
    if (opts.metrics !== false) van.metricsPort = await freePort();
    const b = van.broker;
    van.ramDir = opts.runtimeOnDisk ? null : tmpfsDir();
    const base: Json = {
      van: { id: 'van-test' },
      paths: { stateDir: path.join(van.dir, 'state'), runtimeDir: van.ramDir ?? path.join(van.dir, 'run') },
      watchlist: { vanKeyFile: van.keys.vanKey, trustedSigningKeys: [van.keys.signingPub] },
      // The broker's accounts and files as `lfr broker setup` wrote them (test/helpers/mosquitto.ts).
      ...(b ? { mqtt: b.fragment().mqtt, broker: b.fragment().broker } : { mqtt: { url: `mqtts://127.0.0.1:${await freePort()}` } }),
      cameras,
      health: { metricsPort: van.metricsPort, intervalSeconds: 5 },
      tablet: opts.tablet && b ? { enabled: true, host: '127.0.0.1', port: van.tabletPort, ...b.fragment().tabletCert, brokerWsPort: b.wsPort } : { enabled: false },
    };
    // A rig without a broker can never be "ready": it starts deployments without that check.
    if (opts.broker === false) base.deployment = { ...((base.deployment as Json | undefined) ?? {}), requireReady: false };
    van.config = deepMerge(base, opts.config ?? {});
    mkdirSync(path.join(van.dir, 'state'), { recursive: true });
    van.writeConfig();
    return van;
  }

  writeConfig(): void {
    writeFileSync(this.cfgFile, JSON.stringify(this.config, null, 2));
  }

  get stateDir(): string {
    return (this.config.paths as Json).stateDir as string;
  }
  /** TMPDIR of `lfr run`. */
  get tmpDir(): string {
    return path.join(this.dir, 'tmp');
  }

  get runtimeDir(): string {
    return (this.config.paths as Json).runtimeDir as string;
  }

  /** `lfr -c <this van's config> ...args` as a real process. */
  cli(...args: string[]): Promise<CliResult> {
    return runCli(['-c', this.cfgFile, ...args], { timeoutMs: 120_000 });
  }

  /** `lfr ... --json`, parsed (last stdout line); throws with stderr on a non-zero exit unless allowed. */
  async cliJson<T = Json>(args: string[], okCodes: number[] = [0]): Promise<T> {
    const r = await this.cli(...args, '--json');
    if (!okCodes.includes(r.code ?? -1)) throw new Error(`lfr ${args.join(' ')} exited ${r.code}: ${r.stderr.slice(-1500)}`);
    return lastJson<T>(r.stdout);
  }

  /** Start `lfr run`; resolves once it logs "daemon running" (models loaded, every part up). */
  async start(timeoutMs = 90_000): Promise<void> {
    if (this.child) throw new Error('van already started');
    this.stderr = '';
    // The daemon's working directory and TMPDIR are inside the van's temp dir, so any stray file
    // it writes (a core file lands in the cwd here, core_pattern "core") is among filesWritten().
    mkdirSync(this.tmpDir, { recursive: true });
    const argv = [CLI_ENTRY, '-c', this.cfgFile, 'run'];
    const env = { ...process.env, LFR_CONFIG: '', TMPDIR: this.tmpDir, ...this.opts.env };
    const child = this.opts.coreLimitUnlimited
      ? spawn('/bin/sh', ['-c', 'ulimit -c unlimited && exec "$0" "$@"', process.execPath, ...argv], { cwd: this.dir, stdio: ['ignore', 'ignore', 'pipe'], env })
      : spawn(process.execPath, argv, { cwd: this.dir, stdio: ['ignore', 'ignore', 'pipe'], env });
    this.child = child;
    child.stderr!.on('data', (d: Buffer) => (this.stderr += d.toString()));
    this.exited = new Promise((r) => child.once('exit', (code, signal) => r({ code, signal })));
    const t0 = Date.now();
    while (!this.stderr.includes('"daemon running"')) {
      if (child.exitCode !== null || child.signalCode !== null) throw new Error(`lfr run exited (${child.exitCode ?? child.signalCode}) before running: ${this.stderr.slice(-3000)}`);
      if (Date.now() - t0 > timeoutMs) throw new Error(`lfr run did not start in ${timeoutMs} ms: ${this.stderr.slice(-3000)}`);
      await sleep(100);
    }
  }

  get running(): boolean {
    return this.child !== null && this.child.exitCode === null && this.child.signalCode === null;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  /** The daemon's log so far (pino JSON lines on stderr). */
  log(): string {
    return this.stderr;
  }

  /** Wait until the daemon's log matches. */
  async waitLog(re: RegExp, timeoutMs: number, what = String(re)): Promise<void> {
    const t0 = Date.now();
    while (!re.test(this.stderr)) {
      if (!this.running) throw new Error(`lfr run exited while waiting for ${what}: ${this.stderr.slice(-2000)}`);
      if (Date.now() - t0 > timeoutMs) throw new Error(`timed out waiting for ${what}: ${this.stderr.slice(-2000)}`);
      await sleep(100);
    }
  }

  /** Signal the daemon and wait for it to exit (SIGKILL after graceMs). */
  async stop(signal: NodeJS.Signals = 'SIGTERM', graceMs = 20_000): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    const child = this.child;
    if (!child || !this.exited) return { code: null, signal: null };
    if (this.running) child.kill(signal);
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    const r = await this.exited;
    clearTimeout(timer);
    this.child = null;
    return r;
  }

  /**
   * A signed bundle built the station's way (`lfr watchlist build`, the real CLI) for THIS van,
   * from subjects whose images are JPEG/PNG buffers. Returns the bundle path.
   */
  async buildBundle(subjects: BundleSubject[], name = 'watchlist'): Promise<string> {
    const src = path.join(this.dir, 'station', name);
    mkdirSync(src, { recursive: true });
    const rows = ['subject_ref,category,reason,images'];
    subjects.forEach((s, i) => {
      const files = s.images.map((img, j) => {
        const f = `s${i}-${j}.${img[0] === 0x89 ? 'png' : 'jpg'}`;
        writeFileSync(path.join(src, f), img);
        return f;
      });
      // RFC 4180: a field with a comma or a quote is quoted (a reason text often has both).
      const q = (f: string) => (/[",\n]/.test(f) ? `"${f.replace(/"/g, '""')}"` : f);
      rows.push([s.ref, s.category ?? 'wanted', s.reason ?? 'test', files.join(';')].map(q).join(','));
    });
    writeFileSync(path.join(src, 'watchlist.csv'), rows.join('\n') + '\n');
    const out = path.join(this.dir, 'station', `${name}.lfrwl`);
    const r = await runCli(['watchlist', 'build', '--csv', path.join(src, 'watchlist.csv'), '--images', src, '--sign-key', this.keys.signingKey, '--to', this.keys.vanPub, '--out', out], { timeoutMs: 120_000 });
    if (r.code !== 0) throw new Error(`lfr watchlist build exited ${r.code}: ${r.stderr.slice(-1500)}`);
    return out;
  }

  /** `lfr deployment start` with sensible test values (override any flag). */
  async startDeployment(extra: string[] = []): Promise<Json> {
    const args = ['deployment', 'start', '--authorisation', 'AUTH-TEST-1', '--location', 'Test rig', '--officer', 'Insp Test', '--ends-at', '+1h', '--threshold', '0.56', ...extra];
    return this.cliJson(args);
  }

  async endDeployment(extra: string[] = []): Promise<Json> {
    return this.cliJson(['deployment', 'end', ...extra]);
  }

  /**
   * A tablet-like MQTT client (WebSocket over TLS, the broker's tablet account unless `account`
   * names another officer) subscribed to this van's alert topic: `alerts` collects the alert
   * messages as they arrive. Closed at teardown. The broker allows one session per officer
   * account: a test that also signs a tablet page in must give the feed another account.
   */
  async alertFeed(t: ExecutionContext, account?: { user: string; password: string }): Promise<{ alerts: Array<Record<string, unknown>>; client: MqttClient }> {
    const b = this.broker;
    if (!b) throw new Error('this van has no broker');
    const acc = account ?? b.tablet;
    const client = await mqtt.connectAsync(b.wsUrl, { username: acc.user, password: acc.password, ca: readFileSync(b.caFile), clientId: `feed-${process.pid}-${Date.now()}`, reconnectPeriod: 500 });
    t.teardown(() => client.endAsync(true));
    const alerts: Array<Record<string, unknown>> = [];
    const prefix = `${((this.config.mqtt as Json | undefined)?.topicPrefix as string | undefined) ?? 'lfr'}/${(this.config.van as Json).id as string}`;
    client.on('message', (topic, payload) => {
      if (topic.startsWith(`${prefix}/alerts/`)) alerts.push(JSON.parse(payload.toString()) as Record<string, unknown>);
    });
    await client.subscribeAsync(`${prefix}/alerts/+`, { qos: 1 });
    return { alerts, client };
  }

  /**
   * GET a path of the van's tablet page over HTTPS (the van CA trusted), signed in as an officer
   * (default: the broker's first officer account; null: no credentials). Needs `tablet: true`.
   * E.g. `van.tabletGet('/api/alerts/' + id)` for an alert's content (faces, subject reference).
   */
  tabletGet(p: string, account: { user: string; password: string } | null | undefined = this.broker?.tablet): Promise<{ status: number; body: string }> {
    if (!this.tabletPort || !this.broker) throw new Error('this van serves no tablet page (Van.create with tablet: true)');
    const ca = readFileSync(this.broker.caFile);
    const headers: Record<string, string> = account ? { Authorization: `Basic ${Buffer.from(`${account.user}:${account.password}`).toString('base64')}` } : {};
    return new Promise((resolve, reject) => {
      https
        .get({ host: '127.0.0.1', port: this.tabletPort, path: p, ca, headers }, (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (d: Buffer) => chunks.push(d));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
        })
        .on('error', reject);
    });
  }

  /** `lfr status --json` of the running daemon. */
  status(): Promise<Json> {
    return this.cliJson(['status'], [0, 4]);
  }

  /** Every file under the van's state and runtime dirs, the broker's dir, and the test's temp dir. */
  filesWritten(): string[] {
    const roots = [this.dir, ...(this.ramDir ? [this.ramDir] : []), ...(this.broker ? [this.broker.dir] : [])];
    const out: string[] = [];
    const walk = (d: string): void => {
      let names: string[];
      try {
        names = readdirSync(d);
      } catch {
        return;
      }
      for (const n of names) {
        const p = path.join(d, n);
        try {
          const st = lstatSync(p);
          if (st.isDirectory()) walk(p);
          else if (st.isFile()) out.push(p);
        } catch {
          /* vanished meanwhile */
        }
      }
    };
    for (const r of roots) walk(r);
    return out;
  }

  /** Read every file written (see filesWritten) and report those containing `needle`. */
  filesContaining(needle: Buffer): string[] {
    return this.filesWritten().filter((f) => {
      try {
        return readFileSync(f).includes(needle);
      } catch {
        return false;
      }
    });
  }

  async cleanup(): Promise<void> {
    await this.stop('SIGKILL', 5000).catch(() => undefined);
    for (const s of this.rtsp) await s.stop().catch(() => undefined);
    await this.broker?.cleanup().catch(() => undefined);
    rmSync(this.dir, { recursive: true, force: true });
    if (this.ramDir) rmSync(this.ramDir, { recursive: true, force: true });
  }
}

const TMPFS_MAGIC = 0x01021994;

/** A fresh folder on tmpfs (/dev/shm), as /run/lfr is on a van; null when there is none. */
function tmpfsDir(): string | null {
  try {
    if (Number(statfsSync('/dev/shm').type) !== TMPFS_MAGIC) return null;
    return mkdtempSync(path.join('/dev/shm', 'lfr-run-'));
  } catch {
    return null;
  }
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
