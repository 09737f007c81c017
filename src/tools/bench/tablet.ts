// `lfr bench tablet`: alert to SCREEN on the real van. `lfr run` (the one composition root, a
// child process as on a van) with a local mosquitto set up by `lfr broker setup`'s code, a local
// RTSP camera showing a watchlisted face for 1 s in every 3 (so every loop is a new sighting:
// cooldown 0), a station-built bundle, a deployment started with the CLI, and the tablet page in
// headless Chromium signed in as an officer. For every alert: raise (the van's `raisedAt`, taken
// when the daemon begins to store it) -> MQTT message -> HTTPS content -> the card with both faces
// decoded and drawn (the page's `lfrDrawnAt`, Date.now() after img.decode()). Both clocks are this
// machine's. The last stdout line (--json) holds alerts, alertToScreenP50Ms, alertToScreenP99Ms.
// With --guessers N the same run also alternates windows with and without N password guessers
// (tablet-guessing.ts) and reports both side by side under `guessing`; the usual figures are then
// those of the alerts delivered with no guessers.
import { spawn, type ChildProcess } from 'node:child_process';
import { X509Certificate, createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Config } from '../../config/schema.js';
import { createFaceEngine } from '../../vision/engine.js';
import { silentLogger } from '../../log.js';
import { wipe } from '../../crypto/secure.js';
import { CLI_ENTRY } from '../../paths.js';
import { brokerPaths } from '../../mqtt/broker-setup.js';
import type { TabletState } from '../../mqtt/topics.js';
import { freePort } from '../../util/net.js';
import { LocalBroker, MOSQUITTO } from '../broker.js';
import { RtspServer, rtspServerAvailable } from '../rtsp-server.js';
import { buildDemoBundle, cropReferenceFace, demoPhoto, makeDemoVideo, runtimeDirFor } from '../demo/kit.js';
import { BenchNotReady, type Bench } from './types.js';
import { compareUnderGuessing, type GuessingResult } from './tablet-guessing.js';

const CHROMIUM = '/usr/bin/chromium';
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const quantile = (sorted: number[], q: number): number => sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)]!;
const round1 = (v: number): number => Math.round(v * 10) / 10;

function spki(certFile: string): string {
  const der = new X509Certificate(readFileSync(certFile)).publicKey.export({ type: 'spki', format: 'der' });
  return createHash('sha256').update(der).digest('base64');
}

function runCli(cfgFile: string, args: string[]): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, [CLI_ENTRY, '-c', cfgFile, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    p.stdout.on('data', (d: Buffer) => (out += d.toString()));
    p.stderr.on('data', (d: Buffer) => (out += d.toString()));
    p.on('exit', (code) => resolve({ code, out }));
  });
}

export interface TabletBenchResult {
  alerts: number;
  alertToScreenP50Ms: number;
  alertToScreenP99Ms: number;
  /** The parts: raise -> MQTT message at the page; message -> card drawn (HTTPS content + decode). */
  raiseToMessageP50Ms: number;
  raiseToMessageP99Ms: number;
  messageToScreenP50Ms: number;
  messageToScreenP99Ms: number;
  /** GET /api/alerts/<id> as the page saw it (Resource Timing): duration and body size. */
  contentFetchP50Ms: number;
  contentFetchP99Ms: number;
  contentBytesP50: number;
  alertToScreenMinMs: number;
  alertToScreenMaxMs: number;
  /** 1-minute load average when the bench ended (the box is shared). */
  loadAverage: number;
  /** 1-minute load average when the measurement began. */
  loadAverageAtStart: number;
  /** --guessers N: delivery with and without password guessers, side by side. */
  guessing?: GuessingResult;
}

export async function benchTablet(base: Config, n: number, guessers = 0): Promise<TabletBenchResult> {
  if (!MOSQUITTO) throw new BenchNotReady('mosquitto is not installed');
  if (!rtspServerAvailable()) throw new BenchNotReady('the RTSP test server needs python3-gi and gst-rtsp-server (bash scripts/setup.sh)');
  if (!existsSync(CHROMIUM)) throw new BenchNotReady(`Chromium is not installed at ${CHROMIUM}`);
  let chromium: typeof import('playwright-core').chromium;
  try {
    ({ chromium } = await import('playwright-core'));
  } catch {
    throw new BenchNotReady('playwright-core is not installed (a dev dependency: npm ci)');
  }
  const dir = mkdtempSync(path.join(os.tmpdir(), 'lfr-bench-tablet-'));
  // On a tmpfs as on a van: a deployment refuses a runtime folder on a disk (storage.volatile).
  const { runDir, onTmpfs } = runtimeDirFor(dir, 'lfr-bench-run-');
  const broker = new LocalBroker();
  let server: RtspServer | null = null;
  let daemon: ChildProcess | null = null;
  let browser: Awaited<ReturnType<typeof chromium.launch>> | null = null;
  try {
    const engine = await createFaceEngine(base, silentLogger());
    const ref = await cropReferenceFace(engine, demoPhoto(1), base.quality.enrolment).finally(() => engine.close());
    const wl = await buildDemoBundle(path.join(dir, 'station'), ref, 'BENCH-1');
    wipe(ref);
    const video = path.join(dir, 'station', 'repeat.mp4');
    // 2 s of nobody: longer than match.trackMaxMissMs (1 s), so each appearance is a new track.
    await makeDemoVideo(video, ['black:2', `${demoPhoto(1)}:1`]);
    server = await RtspServer.start({ mounts: { '/cam': `file:${video}` } });
    await broker.setup();
    const tabletPort = await freePort();
    const f = broker.fragment();
    const cfgFile = path.join(dir, 'lfr.json');
    mkdirSync(path.join(dir, 'state'), { recursive: true });
    writeFileSync(
      cfgFile,
      JSON.stringify({
        van: { id: 'bench-van' },
        paths: { stateDir: path.join(dir, 'state'), runtimeDir: runDir, modelsDir: base.paths.modelsDir },
        watchlist: { vanKeyFile: wl.vanKeyFile, trustedSigningKeys: [wl.signingPubFile], storeFile: path.join(runDir, 'watchlist.db') },
        mqtt: f.mqtt,
        broker: f.broker,
        tablet: { enabled: true, host: '127.0.0.1', port: tabletPort, ...f.tabletCert, brokerWsPort: broker.wsPort },
        match: { cooldownSeconds: 0 },
        health: { metricsPort: 0 },
        log: { level: 'warn' },
        cameras: [{ name: 'bench-1', url: server.url('/cam'), location: 'bench rig' }],
      }),
    );
    let log = '';
    daemon = spawn(process.execPath, [CLI_ENTRY, '-c', cfgFile, 'run'], { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, LFR_CONFIG: '' } });
    daemon.stderr!.on('data', (d: Buffer) => (log = (log + d.toString()).slice(-20_000)));
    const up = Date.now();
    // The daemon logs at warn: wait for its tablet page instead of its "running" line.
    for (;;) {
      if (daemon.exitCode !== null) throw new Error(`lfr run exited: ${log.slice(-2000)}`);
      if (Date.now() - up > 120_000) throw new Error(`lfr run did not serve the tablet page in 120 s: ${log.slice(-2000)}`);
      const st = await runCli(cfgFile, ['status', '--json']);
      if (st.code === 0) break;
      await sleep(500);
    }

    browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--autoplay-policy=no-user-gesture-required', `--ignore-certificate-errors-spki-list=${[spki(f.tabletCert.certFile), spki(brokerPaths(broker.config).certFile)].join(',')}`],
    });
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    await page.goto(`https://127.0.0.1:${tabletPort}/`);
    // Room for every content request's timing (the default keeps 250 entries, and the state reads
    // of a --guessers run alone would fill it).
    await page.evaluate('performance.setResourceTimingBufferSize(100000)');
    await page.fill('#officer', broker.tablet.user);
    await page.fill('#password', broker.tablet.password);
    await page.click('#signin');
    await page.waitForSelector('#conn[data-state="connected"]', { timeout: 30_000 });

    const dep = await runCli(cfgFile, ['deployment', 'start', '--authorisation', 'BENCH', '--location', 'bench rig', '--officer', 'Bench', '--threshold', String(base.match.threshold), '--ends-at', '+1h', '--watchlist', wl.bundle, ...(onTmpfs ? [] : ['--allow-degraded'])]);
    if (dep.code !== 0) throw new Error(`deployment start failed: ${dep.out.slice(-1500)}`);
    const loadAverageAtStart = round1(os.loadavg()[0]!);
    const readDrawn = async () => (await page.evaluate('Object.fromEntries(globalThis.lfrDrawnAt)')) as Record<string, number>;
    // The van's raise times, from the van (HTTPS, as the officer).
    const readRaised = async () => {
      const state = (await page.evaluate(
        `fetch('api/state', { headers: { Authorization: 'Basic ' + btoa(${JSON.stringify(`${broker.tablet.user}:${broker.tablet.password}`)}) } }).then((r) => r.json())`,
      )) as TabletState;
      return new Map(state.alerts.map((a) => [a.alertId, Date.parse(a.raisedAt)]));
    };
    const readMessage = async () => (await page.evaluate('Object.fromEntries(globalThis.lfrMessageAt)')) as Record<string, number>;
    let drawn: Record<string, number> = {};
    let guessing: GuessingResult | undefined;
    let only: Set<string> | null = null;
    if (guessers > 0) {
      // Guess a colleague's password (an existing account: the costly case on the broker).
      const victim = broker.officers[1]?.user ?? broker.tablet.user;
      const targets = { tabletPort, brokerWsPort: broker.wsPort, ca: readFileSync(broker.caFile), victim };
      const r = await compareUnderGuessing({ raised: readRaised, drawn: readDrawn, message: readMessage }, targets, guessers, n, Math.max(900_000, n * 3 * 20_000));
      guessing = r.result;
      only = new Set(r.quietIds);
      drawn = await readDrawn();
    } else {
      const t0 = Date.now();
      while (Object.keys(drawn).length < n) {
        if (Date.now() - t0 > Math.max(120_000, n * 6000)) throw new Error(`only ${Object.keys(drawn).length} of ${n} alerts reached the screen in time: ${log.slice(-1500)}`);
        await sleep(1000);
        drawn = await readDrawn();
      }
    }
    const raised = await readRaised();
    const message = await readMessage();
    // The HTTPS content requests, from the page's Resource Timing: duration and size.
    const fetches = ((await page.evaluate(`performance.getEntriesByType('resource').filter((e) => e.name.includes('/api/alerts/')).map((e) => [e.duration, e.encodedBodySize, e.name])`)) as Array<[number, number, string]>).filter(
      (f) => !only || only.has(decodeURIComponent(f[2].split('/api/alerts/')[1] ?? '')),
    );
    const ids = Object.keys(drawn).filter((id) => raised.has(id) && message[id] !== undefined && (!only || only.has(id)));
    const sorted = (f: (id: string) => number) => ids.map(f).sort((a, b) => a - b);
    const lat = sorted((id) => drawn[id]! - raised.get(id)!);
    const toMsg = sorted((id) => message[id]! - raised.get(id)!);
    const msgToScreen = sorted((id) => drawn[id]! - message[id]!);
    await runCli(cfgFile, ['deployment', 'end', '--json']);
    return {
      alerts: lat.length,
      alertToScreenP50Ms: round1(quantile(lat, 0.5)),
      alertToScreenP99Ms: round1(quantile(lat, 0.99)),
      raiseToMessageP50Ms: round1(quantile(toMsg, 0.5)),
      raiseToMessageP99Ms: round1(quantile(toMsg, 0.99)),
      messageToScreenP50Ms: round1(quantile(msgToScreen, 0.5)),
      messageToScreenP99Ms: round1(quantile(msgToScreen, 0.99)),
      contentFetchP50Ms: round1(quantile(fetches.map((x) => x[0]).sort((a, b) => a - b), 0.5)),
      contentFetchP99Ms: round1(quantile(fetches.map((x) => x[0]).sort((a, b) => a - b), 0.99)),
      contentBytesP50: Math.round(quantile(fetches.map((x) => x[1]).sort((a, b) => a - b), 0.5)),
      alertToScreenMinMs: round1(lat[0]!),
      alertToScreenMaxMs: round1(lat[lat.length - 1]!),
      loadAverage: round1(os.loadavg()[0]!),
      loadAverageAtStart,
      ...(guessing ? { guessing } : {}),
    };
  } finally {
    await browser?.close().catch(() => undefined);
    if (daemon && daemon.exitCode === null) {
      const d = daemon;
      await new Promise<void>((r) => {
        const t = setTimeout(() => d.kill('SIGKILL'), 20_000);
        d.once('exit', () => {
          clearTimeout(t);
          r();
        });
        d.kill('SIGTERM');
      });
    }
    await server?.stop().catch(() => undefined);
    await broker.cleanup();
    rmSync(dir, { recursive: true, force: true });
    if (onTmpfs) rmSync(runDir, { recursive: true, force: true });
  }
}

const MODE_TEXT = { none: 'no guessers', page: 'guessers on the page (sign-in API + /mqtt proxy)', broker: 'guessers on the page AND the broker WebSocket listener directly' };

function guessingLines(g: GuessingResult): string[] {
  return [
    `  with and without ${g.guessers} password guessers, alternating ${g.windowSeconds} s windows; broker WebSocket listener reachable by the guessers: ${g.brokerWsReachable ? 'yes' : `no (${g.brokerWsProbe})`}`,
    ...g.conditions.map(
      (c) =>
        `    ${MODE_TEXT[c.mode]}: ${c.alerts} alerts${c.notDelivered ? ` (+${c.notDelivered} not on screen in time)` : ''}, raise -> card p50 ${c.raiseToScreenP50Ms} ms, p95 ${c.raiseToScreenP95Ms} ms (max ${c.raiseToScreenMaxMs}); raise -> message p50 ${c.raiseToMessageP50Ms}, p95 ${c.raiseToMessageP95Ms} ms` +
        (c.mode === 'none' ? '' : `; ${c.guessesPerSecond} guesses/s (${Object.entries(c.guesses).map(([t, a]) => `${t} ${Object.entries(a).map(([k, v]) => `${k}x${v}`).join(' ')}`).join('; ')}); the guessers used ${c.benchCpuPercent} % of a core of this box`),
    ),
  ];
}

export const tabletBench: Bench = {
  name: 'tablet',
  description: 'alert to screen on the real van: lfr run, local broker, RTSP camera, tablet page in headless Chromium; raise -> card with both faces drawn, p50/p99 over at least 20 alerts (--iterations N for more); --guessers [N]: also with N password guessers, side by side',
  flags: [{ flags: '--guessers [n]', key: 'guessers', description: 'also measure delivery while N password guessers hammer the page sign-in, the /mqtt proxy and (when reachable) the broker WebSocket listener, alternating with no guessers', preset: 6, min: 1, max: 32 }],
  async run(config, opts) {
    const n = Math.max(20, opts.iterations);
    const r = await benchTablet(config, n, opts.guessers ?? 0);
    return {
      human: [
        `tablet: ${r.alerts} alerts${r.guessing ? ' (no guessers)' : ''}, raise -> card with both faces drawn: p50 ${r.alertToScreenP50Ms} ms, p99 ${r.alertToScreenP99Ms} ms (min ${r.alertToScreenMinMs}, max ${r.alertToScreenMaxMs}); load average ${r.loadAverageAtStart} -> ${r.loadAverage}`,
        `  raise -> MQTT message at the page: p50 ${r.raiseToMessageP50Ms} ms, p99 ${r.raiseToMessageP99Ms} ms; message -> card drawn (HTTPS content, decode): p50 ${r.messageToScreenP50Ms} ms, p99 ${r.messageToScreenP99Ms} ms`,
        `  of which the content request: p50 ${r.contentFetchP50Ms} ms, p99 ${r.contentFetchP99Ms} ms, ${r.contentBytesP50} bytes`,
        ...(r.guessing ? guessingLines(r.guessing) : []),
      ].join('\n'),
      json: r,
    };
  },
};
