// The pure health probes and the metrics text: verdicts from plain facts, no I/O.
import test from 'ava';
import { checkAlertAge, checkBroker, checkCamera, checkClock, checkCpuLoad, checkCpuTemp, checkDisks, checkGpus, checkMemory, checkModels, checkWatchlist, evaluate, formatReport, worst } from '../../src/health/probes.js';
import { escapeLabel, renderMetrics } from '../../src/health/metrics.js';
import { mountFor, parseChronyTracking, parseTimedatectl } from '../../src/health/system.js';
import { parseRtspStatus } from '../../src/health/active.js';
import { watchdogInterval } from '../../src/health/sd-notify.js';
import { chooseBundle } from '../../src/control/usb.js';
import type { HealthFacts, HealthThresholds, SystemFacts } from '../../src/health/types.js';

const T: HealthThresholds = { maxCpuTempC: 85, minFreeDiskMb: 500, maxLoadPerCore: 1.5, minFreeMemMb: 512, maxGpuTempC: 87, minCameraFps: 2, warnWatchlistExpiryMinutes: 60 };
const SYS: SystemFacts = { load1: 1, cores: 4, cpuTempC: 50, memTotalMb: 16000, memAvailableMb: 8000, disks: [{ path: '/var/lib/lfr', mount: '/', freeMb: 20000, sizeMb: 100000 }], gpus: [] };
const NOW = Date.parse('2026-11-23T12:00:00Z');
const H = 3_600_000;

test('cpu load: per core against the limit, twice the limit fails', (t) => {
  t.is(checkCpuLoad({ ...SYS, load1: 4 }, T).level, 'OK');
  t.is(checkCpuLoad({ ...SYS, load1: 7 }, T).level, 'WARN');
  t.is(checkCpuLoad({ ...SYS, load1: 13 }, T).level, 'FAIL');
});

test('cpu temperature: unknown warns, near the limit warns, at the limit fails', (t) => {
  t.is(checkCpuTemp({ ...SYS, cpuTempC: null }, T).level, 'WARN');
  t.is(checkCpuTemp({ ...SYS, cpuTempC: 60 }, T).level, 'OK');
  t.is(checkCpuTemp({ ...SYS, cpuTempC: 78 }, T).level, 'WARN');
  const f = checkCpuTemp({ ...SYS, cpuTempC: 85 }, T);
  t.is(f.level, 'FAIL');
  t.regex(f.message, /ventilation/);
});

test('memory and disk thresholds', (t) => {
  t.is(checkMemory({ ...SYS, memAvailableMb: 400 }, T).level, 'FAIL');
  t.is(checkMemory({ ...SYS, memAvailableMb: 800 }, T).level, 'WARN');
  t.is(checkMemory(SYS, T).level, 'OK');
  t.deepEqual(checkDisks({ ...SYS, disks: [{ path: '/s', mount: '/', freeMb: 100, sizeMb: 1000 }, { path: '/r', mount: '/run', freeMb: 900, sizeMb: 1000 }] }, T).map((c) => c.level), ['FAIL', 'WARN']);
  t.is(checkDisks({ ...SYS, disks: [] }, T)[0]!.level, 'WARN');
  // The tmpfs runtime folder is judged by its own size: a 200 MB /run with 150 MB free is fine, a full one FAILs.
  const run = (freeMb: number) => checkDisks({ ...SYS, disks: [{ path: '/run/lfr', mount: '/run', freeMb, sizeMb: 200, volatile: true }] }, T)[0]!;
  t.is(run(150).level, 'OK');
  t.is(run(30).level, 'WARN');
  t.is(run(0).level, 'FAIL');
  t.regex(run(0).message, /FULL .*tmpfs|tmpfs.*FULL/);
});

test('GPU: none is fine (CPU provider), hot fails, unknown temperature is OK', (t) => {
  t.is(checkGpus(SYS, T)[0]!.level, 'OK');
  t.is(checkGpus({ ...SYS, gpus: [{ model: 'RTX A2000', tempC: 90, memUsedMb: 1, memTotalMb: 2 }] }, T)[0]!.level, 'FAIL');
  t.is(checkGpus({ ...SYS, gpus: [{ model: 'RTX A2000', tempC: null, memUsedMb: null, memTotalMb: null }] }, T)[0]!.level, 'OK');
});

test('clock: unknown is a plain WARN, never a FAIL', (t) => {
  t.is(checkClock({ synced: true, source: 'chrony' }).level, 'OK');
  t.is(checkClock({ synced: false, source: 'chrony' }).level, 'WARN');
  t.is(checkClock({ synced: null, source: 'x' }).level, 'WARN');
  t.true(parseTimedatectl('NTPSynchronized=yes\n'));
  t.false(parseTimedatectl('NTPSynchronized=no\n'));
  t.is(parseTimedatectl('garbage'), null);
  t.true(parseChronyTracking('Reference ID    : C0A80001\nLeap status     : Normal\n'));
  t.false(parseChronyTracking('Leap status     : Not synchronised\n'));
});

test('cameras: down, stalled and failed FAIL with the reason; slow live warns', (t) => {
  const base = { name: 'n1', enabled: true, fps: 10, dropped: 0 };
  t.is(checkCamera({ ...base, state: 'live' }, T).level, 'OK');
  t.is(checkCamera({ ...base, state: 'live', fps: 1 }, T).level, 'WARN');
  const down = checkCamera({ ...base, state: 'unreachable', reason: 'connection refused at 10.0.0.21:554' }, T);
  t.is(down.level, 'FAIL');
  t.regex(down.message, /connection refused/);
  t.is(checkCamera({ ...base, state: 'stalled' }, T).level, 'FAIL');
  t.is(checkCamera({ ...base, state: 'connecting' }, T).level, 'WARN');
  t.is(checkCamera({ ...base, state: 'failed', enabled: false }, T).level, 'OK');
  t.regex(checkCamera({ ...base, state: 'live', dropped: 12 }, T).message, /12 frames dropped/);
});

test('broker, models, alerts retention', (t) => {
  t.is(checkBroker({ connected: false, reason: 'ECONNREFUSED' }).level, 'FAIL');
  t.is(checkBroker({ connected: true }).level, 'OK');
  t.is(checkBroker({ connected: null }).level, 'WARN');
  t.is(checkModels([{ id: 'a', ok: true, message: '' }, { id: 'b', ok: false, message: 'hash differs' }]).level, 'FAIL');
  t.is(checkModels([]).level, 'FAIL');
  t.is(checkAlertAge({ oldestCapturedAt: NOW - 25 * H, retentionHours: 24 }, NOW).level, 'FAIL');
  t.is(checkAlertAge({ oldestCapturedAt: NOW - 23 * H, retentionHours: 24 }, NOW).level, 'OK');
  t.is(checkAlertAge({ oldestCapturedAt: null, retentionHours: 24 }, NOW).level, 'OK');
});

test('watchlist: none is right between deployments, wrong during one; expiry warns and fails', (t) => {
  const none = { present: false, loaded: null, expiresAtMs: null, subjects: null };
  t.is(checkWatchlist(none, NOW, T, false).level, 'OK');
  t.is(checkWatchlist(none, NOW, T, true).level, 'FAIL');
  const wl = { present: true, loaded: true, expiresAtMs: NOW + 5 * H, subjects: 40 };
  const ok = checkWatchlist(wl, NOW, T, true);
  t.is(ok.level, 'OK');
  t.regex(ok.message, /40 subjects, loaded, expires in 5 h 0 min/);
  t.is(checkWatchlist({ ...wl, expiresAtMs: NOW + 30 * 60_000 }, NOW, T, true).level, 'WARN');
  t.is(checkWatchlist({ ...wl, expiresAtMs: NOW - 1 }, NOW, T, true).level, 'FAIL');
  t.is(checkWatchlist({ ...wl, loaded: false }, NOW, T, true).level, 'WARN');
  t.is(checkWatchlist({ ...none, error: 'store damaged' }, NOW, T, false).level, 'FAIL');
});

const FACTS: HealthFacts = {
  now: NOW,
  daemonRunning: true,
  system: SYS,
  clock: { synced: true, source: 'chrony' },
  cameras: [{ name: 'north-1', enabled: true, state: 'live', fps: 9.5, dropped: 3 }],
  broker: { connected: true },
  models: [{ id: 'rfb320', ok: true, message: 'hash matches' }],
  watchlist: { present: false, loaded: false, expiresAtMs: null, subjects: null },
  alerts: { oldestCapturedAt: null, retentionHours: 24 },
  audit: { intact: true, message: 'chain intact (120 records)' },
};

test('evaluate: all good is OK; one failing part makes the whole FAIL', (t) => {
  const r = evaluate(FACTS, T);
  t.is(r.level, 'OK', formatReport(r));
  const bad = evaluate({ ...FACTS, audit: { intact: false, message: 'record 17 does not chain' } }, T);
  t.is(bad.level, 'FAIL');
  t.regex(formatReport(bad), /^FAIL audit\s+record 17 does not chain$/m);
  t.is(evaluate({ ...FACTS, daemonRunning: false }, T).checks[0]!.level, 'FAIL');
  t.is(worst([]), 'OK');
});

test('metrics text: one HELP/TYPE per family, labels escaped, no personal data', (t) => {
  const r = evaluate(FACTS, T);
  const text = renderMetrics(r, FACTS, { running: true, facesAnalysed: 1200, alerts: 3, confirmed: 1, falseAlerts: 1, undecided: 1 });
  t.regex(text, /^lfr_camera_fps\{camera="north-1"\} 9.5$/m);
  t.regex(text, /^lfr_deployment_faces_analysed_total 1200$/m);
  t.regex(text, /^lfr_deployment_adjudications\{decision="false"\} 1$/m);
  t.is(text.match(/^# TYPE lfr_deployment_adjudications /gm)?.length, 1);
  t.is(escapeLabel('a"b\\c\nd'), 'a\\"b\\\\c\\nd');
  t.true(text.endsWith('\n'));
});

test('metrics: latency figures are plain gauges, no quantile label (that belongs to a summary)', (t) => {
  const text = renderMetrics(null, null, null, { eventLoopLagP50Ms: 2, eventLoopLagP99Ms: 9, eventLoopLagMaxMs: 20, decisionLatencyP50Ms: 40, decisionLatencyP99Ms: 80 });
  t.false(/quantile=/.test(text), text);
  t.regex(text, /^# TYPE lfr_event_loop_delay_p99_seconds gauge$/m);
  t.regex(text, /^lfr_event_loop_delay_p99_seconds 0.009$/m);
  t.regex(text, /^lfr_decision_latency_p50_seconds 0.04$/m);
  // Every sample of a gauge family is unlabelled or carries only its own labels: never quantile.
  for (const m of text.matchAll(/^# TYPE (\S+) gauge$/gm)) t.false(new RegExp(`^${m[1]}\\{[^}]*quantile`, 'm').test(text));
});

test('helpers: mount lookup, RTSP status line, watchdog interval, bundle choice', (t) => {
  const mounts = [{ mount: '/' }, { mount: '/var' }, { mount: '/var/lib/lfr' }];
  t.is(mountFor('/var/lib/lfr/state', mounts)?.mount, '/var/lib/lfr');
  t.is(mountFor('/variety', mounts)?.mount, '/');
  t.is(parseRtspStatus('RTSP/1.0 401 Unauthorized\r\n'), 401);
  t.is(parseRtspStatus('HTTP/1.1 200 OK\r\n'), null);
  t.is(watchdogInterval({ WATCHDOG_USEC: '30000000' }, 1), 15_000);
  t.is(watchdogInterval({ WATCHDOG_USEC: '30000000', WATCHDOG_PID: '2' }, 1), null);
  t.is(watchdogInterval({}, 1), null);
  t.is(watchdogInterval({ WATCHDOG_USEC: 'x' }, 1), null);
  t.is(chooseBundle(['notes.txt', 'lfr/dep-17.lfrwl']), 'lfr/dep-17.lfrwl');
  t.throws(() => chooseBundle(['a.lfrwl', 'lfr/b.lfrwl']), { message: /2 watchlist bundles/ });
  t.throws(() => chooseBundle(['.a.lfrwl', 'x.zip']), { message: /no watchlist bundle/ });
});

test('the runtime folder on tmpfs is measured with statfs, not the root disk systeminformation reports', async (t) => {
  const { readSystemFacts } = await import('../../src/health/system.js');
  const { statfsSync } = await import('node:fs');
  const shm = '/dev/shm';
  let st;
  try {
    st = statfsSync(shm);
  } catch {
    return t.pass('no /dev/shm here');
  }
  if (Number(st.type) !== 0x01021994) return t.pass('/dev/shm is not tmpfs here');
  const f = await readSystemFacts([`${shm}/lfr-not-created-yet`]);
  const d = f.disks[0]!;
  t.true(d.volatile);
  t.is(d.mount, shm);
  t.is(Math.round(d.sizeMb), Math.round((Number(st.blocks) * Number(st.bsize)) / 1024 / 1024));
});
