// `lfr health` against real parts: a real mosquitto, a real RTSP server (scripts/rtsp-server.py),
// and the real daemon (`lfr run`, started by fixtures/fieldops-env.ts). A camera nobody serves and a
// stopped broker must FAIL with a plain reason and a non-zero exit; the metrics endpoint must
// say the same and carry nothing personal.
import test from 'ava';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { INSTALL_ROOT } from '../../src/paths.js';
import { lastJson, runCli } from '../helpers/cli.js';
import type { HealthReport } from '../../src/health/types.js';
import { freePort, makeEnv, startHost } from './fixtures/fieldops-env.js';
import { requirePrereqs } from '../helpers/prereq.js';

const MOSQUITTO = '/usr/sbin/mosquitto';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function waitPort(port: number, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    const ok = await new Promise<boolean>((r) => {
      const s = net.connect(port, '127.0.0.1', () => (s.destroy(), r(true)));
      s.on('error', () => r(false));
    });
    if (ok) return;
    await sleep(100);
  }
  throw new Error(`port ${port} never opened`);
}

function stop(child: ChildProcess): Promise<void> {
  return new Promise((r) => {
    if (child.exitCode !== null || child.signalCode) return r();
    child.once('exit', () => r());
    child.kill('SIGTERM');
  });
}

function startRtsp(): Promise<{ child: ChildProcess; url: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('/usr/bin/python3', [path.join(INSTALL_ROOT, 'scripts/rtsp-server.py'), '--port', '0', '--mount', '/cam1=test:h264:320x240@10'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    const timer = setTimeout(() => reject(new Error('rtsp server did not start')), 20_000);
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /READY (rtsp:\/\/\S+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve({ child, url: m[1]! });
      }
    });
    child.once('exit', (c) => reject(new Error(`rtsp server exited ${c}`)));
  });
}

const check = (r: HealthReport, name: string) => r.checks.find((c) => c.name === name);

test('camera down and broker stopped FAIL; live ones are OK; metrics agree', async (t) => {
  requirePrereqs(['mosquitto']);
  requirePrereqs(['rtsp']);
  const rtsp = await startRtsp();
  const mqttPort = await freePort();
  const deadPort = await freePort();
  const env = await makeEnv({
    mqtt: { url: `mqtt://127.0.0.1:${mqttPort}` },
    cameras: [
      { name: 'north-1', url: `${rtsp.url.replace(/\/$/, '')}/cam1` },
      { name: 'south-1', url: `rtsp://127.0.0.1:${deadPort}/stream1` },
    ],
  });
  const conf = path.join(env.dir, 'mosquitto.conf');
  writeFileSync(conf, `listener ${mqttPort} 127.0.0.1\nallow_anonymous true\npersistence false\n`);
  const broker = spawn(MOSQUITTO, ['-c', conf], { stdio: 'ignore' });
  const host = await startHost(env);
  t.teardown(async () => {
    await host.stop();
    await stop(broker);
    await stop(rtsp.child);
    env.cleanup();
  });
  await waitPort(mqttPort);

  const r1 = await runCli(['-c', env.cfgFile, 'health', '--json']);
  const rep1 = lastJson<HealthReport>(r1.stdout);
  t.is(r1.code, 1, 'a FAIL anywhere exits 1');
  t.is(check(rep1, 'daemon')?.level, 'OK');
  t.is(check(rep1, 'camera north-1')?.level, 'OK', check(rep1, 'camera north-1')?.message);
  t.is(check(rep1, 'camera south-1')?.level, 'FAIL');
  // The daemon's camera manager reports what GStreamer saw (no RTSP server on that port).
  t.regex(check(rep1, 'camera south-1')!.message, /cannot connect|refused/);
  t.is(check(rep1, 'broker')?.level, 'OK', check(rep1, 'broker')?.message);
  t.is(check(rep1, 'models')?.level, 'OK');
  t.is(check(rep1, 'audit')?.level, 'OK', check(rep1, 'audit')?.message);
  t.is(rep1.level, 'FAIL');

  // Human output: one line per check with its level first.
  const human = await runCli(['-c', env.cfgFile, 'health']);
  t.regex(human.stdout, /^FAIL camera south-1\s+.*(cannot connect|refused)/m);
  t.regex(human.stdout, /^OK\s+broker\s+connected/m);

  await stop(broker);
  const r2 = await runCli(['-c', env.cfgFile, 'health', '--json']);
  const rep2 = lastJson<HealthReport>(r2.stdout);
  t.is(r2.code, 1);
  t.is(check(rep2, 'broker')?.level, 'FAIL');
  t.regex(check(rep2, 'broker')!.message, /not connected/);

  // The daemon's metrics reflect its last evaluation (the `lfr health` call above refreshed it).
  const metrics = await (await fetch(`http://127.0.0.1:${env.metricsPort}/metrics`)).text();
  t.regex(metrics, /^lfr_health_check\{check="broker"\} 2$/m);
  t.regex(metrics, /^lfr_health_check\{check="camera south-1"\} 2$/m);
  t.regex(metrics, /^lfr_health_check\{check="camera north-1"\} 0$/m);
  t.regex(metrics, /^# TYPE lfr_deployment_running gauge$/m);
  const health = await fetch(`http://127.0.0.1:${env.metricsPort}/health`);
  t.is(health.status, 503);
});

test('without a daemon, lfr health still probes and FAILs the daemon check', async (t) => {
  const env = await makeEnv({ cameras: [{ name: 'east-1', url: `rtsp://127.0.0.1:${await freePort()}/s` }] });
  t.teardown(() => env.cleanup());
  const r = await runCli(['-c', env.cfgFile, 'health', '--json']);
  t.is(r.code, 1);
  const rep = lastJson<HealthReport>(r.stdout);
  t.is(check(rep, 'daemon')?.level, 'FAIL');
  t.is(check(rep, 'camera east-1')?.level, 'FAIL');
  t.is(check(rep, 'broker')?.level, 'FAIL');
  t.is(check(rep, 'watchlist')?.level, 'OK');
  t.not(check(rep, 'clock'), undefined);
});

test('with the real camera manager: a live camera is OK with its fps, a dead one FAILs and stays FAILed', async (t) => {
  requirePrereqs(['rtsp']);
  const rtsp = await startRtsp();
  const env = await makeEnv({
    ingest: { stallTimeoutMs: 2000, backoffInitialMs: 200, backoffMaxMs: 1000 },
    cameras: [
      { name: 'north-1', url: `${rtsp.url.replace(/\/$/, '')}/cam1`, decoder: 'cpu', analysisFps: 5, analysisWidth: 320 },
      { name: 'south-1', url: `rtsp://127.0.0.1:${await freePort()}/stream1`, decoder: 'cpu' },
    ],
  });
  // The ingest holds two libuv workers per camera (src/ingest/manager.ts threadPoolSizeFor).
  const host = await startHost(env);
  t.teardown(async () => {
    await host.stop();
    await stop(rtsp.child);
    env.cleanup();
  });
  let rep: HealthReport | null = null;
  const seen: string[] = [];
  for (let i = 0; i < 20; i++) {
    rep = lastJson<HealthReport>((await runCli(['-c', env.cfgFile, 'health', '--json'])).stdout);
    seen.push(`${check(rep, 'camera north-1')?.level}/${check(rep, 'camera south-1')?.level}`);
    if (check(rep, 'camera north-1')?.level === 'OK' && check(rep, 'camera south-1')?.level === 'FAIL') break;
    await sleep(1000);
  }
  t.is(check(rep!, 'camera north-1')?.level, 'OK', seen.join(' '));
  t.regex(check(rep!, 'camera north-1')!.message, /^live at \d+(\.\d)? fps/);
  t.is(check(rep!, 'camera south-1')?.level, 'FAIL', seen.join(' '));
  t.regex(check(rep!, 'camera south-1')!.message, /cannot connect|refused/i);
  // Retries do not turn a dead camera into a mere WARN.
  for (let i = 0; i < 3; i++) {
    await sleep(700);
    const r = lastJson<HealthReport>((await runCli(['-c', env.cfgFile, 'health', '--json'])).stdout);
    t.is(check(r, 'camera south-1')?.level, 'FAIL', check(r, 'camera south-1')?.message);
  }
});
