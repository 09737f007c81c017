// Pure health probes (GUIDE practice 10): each turns gathered facts into {name, level, message}
// with no I/O, so every verdict is unit tested with plain objects. Messages are plain words an
// operator at the roadside can act on.
import { checkAnalysis, checkInference, checkPace } from './analysis.js';
import type { AlertFacts, AuditFacts, BrokerFacts, CameraFacts, Check, ClockFacts, HealthFacts, HealthReport, HealthThresholds, Level, ModelFacts, SystemFacts, WatchlistFacts } from './types.js';
import { checkMemorySafety } from './memory-safety.js';
import { checkVolatileStorage } from './storage.js';
import { checkKeyProtection } from './keys.js';
import { checkVanCa } from './van-ca.js';

const HOUR_MS = 3_600_000;
const ok = (name: string, message: string): Check => ({ name, level: 'OK', message });
const warn = (name: string, message: string): Check => ({ name, level: 'WARN', message });
const fail = (name: string, message: string): Check => ({ name, level: 'FAIL', message });
const fmt1 = (n: number) => (Math.round(n * 10) / 10).toString();

export function checkCpuLoad(s: SystemFacts, t: HealthThresholds): Check {
  const perCore = s.load1 / Math.max(1, s.cores);
  const msg = `load ${fmt1(s.load1)} on ${s.cores} cores`;
  // A load per core above the limit means frames queue and get dropped; twice the limit means
  // analysis cannot keep up at all.
  if (perCore > 2 * t.maxLoadPerCore) return fail('cpu.load', `${msg}: overloaded, frames are being dropped`);
  if (perCore > t.maxLoadPerCore) return warn('cpu.load', `${msg}: busy`);
  return ok('cpu.load', msg);
}

export function checkCpuTemp(s: SystemFacts, t: HealthThresholds): Check {
  if (s.cpuTempC === null) return warn('cpu.temperature', 'CPU temperature not exposed by this machine');
  const msg = `${fmt1(s.cpuTempC)} °C`;
  if (s.cpuTempC >= t.maxCpuTempC) return fail('cpu.temperature', `${msg}, at or above ${t.maxCpuTempC} °C: check the fans and the van's ventilation`);
  // 10 °C of headroom is roughly where CPUs begin to throttle under sustained load.
  if (s.cpuTempC >= t.maxCpuTempC - 10) return warn('cpu.temperature', `${msg}, close to the ${t.maxCpuTempC} °C limit`);
  return ok('cpu.temperature', msg);
}

export function checkMemory(s: SystemFacts, t: HealthThresholds): Check {
  const msg = `${Math.round(s.memAvailableMb)} MB available of ${Math.round(s.memTotalMb)} MB`;
  if (s.memAvailableMb < t.minFreeMemMb) return fail('memory', `${msg}: below ${t.minFreeMemMb} MB`);
  if (s.memAvailableMb < 2 * t.minFreeMemMb) return warn('memory', `${msg}: running low`);
  return ok('memory', msg);
}

export function checkDisks(s: SystemFacts, t: HealthThresholds): Check[] {
  if (s.disks.length === 0) return [warn('disk', 'no file system found for the state folder')];
  return s.disks.map((d) => {
    const name = `disk ${d.path}`;
    const msg = `${Math.round(d.freeMb)} MB free on ${d.mount}`;
    if (d.volatile) {
      // A tmpfs is sized from RAM and small: judge it by its own size (a tenth of it, at most the
      // disk limit). Full, the watchlist store and bundle uploads cannot be written.
      const min = Math.min(t.minFreeDiskMb, d.sizeMb / 10);
      const tmpfsMsg = `${Math.round(d.freeMb)} MB free of ${Math.round(d.sizeMb)} MB on ${d.mount} (tmpfs)`;
      if (d.freeMb < min || d.freeMb < 1) return fail(name, `${tmpfsMsg}: FULL or nearly (below ${Math.round(min)} MB): the watchlist store and bundle uploads cannot be written`);
      if (d.freeMb < 2 * min) return warn(name, `${tmpfsMsg}: running low`);
      return ok(name, tmpfsMsg);
    }
    if (d.freeMb < t.minFreeDiskMb) return fail(name, `${msg}: below ${t.minFreeDiskMb} MB, alerts and the audit log may not be written`);
    if (d.freeMb < 2 * t.minFreeDiskMb) return warn(name, `${msg}: running low`);
    return ok(name, msg);
  });
}

/** GPU is optional: none found is OK (CPU execution provider), a hot one is not. */
export function checkGpus(s: SystemFacts, t: HealthThresholds): Check[] {
  if (s.gpus.length === 0) return [ok('gpu', 'no GPU found: analysis runs on the CPU')];
  return s.gpus.map((g, i) => {
    const name = s.gpus.length === 1 ? 'gpu' : `gpu ${i}`;
    if (g.tempC === null) return ok(name, `${g.model} present (temperature not reported)`);
    const msg = `${g.model} at ${fmt1(g.tempC)} °C`;
    if (g.tempC >= t.maxGpuTempC) return fail(name, `${msg}, at or above ${t.maxGpuTempC} °C`);
    if (g.tempC >= t.maxGpuTempC - 10) return warn(name, `${msg}, close to the limit`);
    return ok(name, msg);
  });
}

/** Unknown sync is a WARN, never a FAIL: many boxes have no way to say, and alerts still work. */
export function checkClock(c: ClockFacts): Check {
  if (c.synced === true) return ok('clock', `synchronised (${c.source})`);
  if (c.synced === false) return warn('clock', `not synchronised (${c.source}): alert and audit times may be wrong; connect the GNSS/NTP source`);
  return warn('clock', `synchronisation unknown (${c.source})`);
}

export function checkCamera(c: CameraFacts, t: HealthThresholds): Check {
  const check = cameraCheck(c, t);
  return check.level !== 'OK' && c.url ? { ...check, url: c.url } : check;
}

function cameraCheck(c: CameraFacts, t: HealthThresholds): Check {
  const name = `camera ${c.name}`;
  if (!c.enabled) return ok(name, 'disabled in the config');
  const why = c.reason ? `: ${c.reason}` : '';
  switch (c.state) {
    case 'live': {
      if (c.fps !== null && c.fps < t.minCameraFps) return warn(name, `live but only ${fmt1(c.fps)} fps (below ${t.minCameraFps})`);
      const drops = c.dropped ? `, ${c.dropped} frames dropped` : '';
      return ok(name, `live${c.fps !== null ? ` at ${fmt1(c.fps)} fps` : ''}${drops}`);
    }
    case 'reachable':
      return ok(name, `reachable${why}`);
    case 'connecting':
      return warn(name, `connecting${why}`);
    case 'ended':
      return warn(name, 'file source reached its end');
    case 'stopped':
      return warn(name, 'stopped');
    default:
      return fail(name, `${c.state}${why}`);
  }
}

export function checkCameras(cams: CameraFacts[], t: HealthThresholds): Check[] {
  if (cams.length === 0) return [warn('cameras', 'no cameras configured')];
  return cams.map((c) => checkCamera(c, t));
}

export function checkBroker(b: BrokerFacts): Check {
  if (b.connected === true) return ok('broker', 'connected');
  if (b.connected === false) return fail('broker', `not connected${b.reason ? `: ${b.reason}` : ''}: tablets will not receive alerts`);
  return warn('broker', b.reason ?? 'connection state unknown');
}

export function checkModels(models: ModelFacts[]): Check {
  if (models.length === 0) return fail('models', 'no model checked (manifest missing?)');
  const bad = models.filter((m) => !m.ok);
  if (bad.length) return fail('models', bad.map((m) => `${m.id}: ${m.message}`).join('; '));
  return ok('models', `${models.length} model files match the manifest hashes`);
}

export function checkWatchlist(w: WatchlistFacts, now: number, t: HealthThresholds, deploymentRunning: boolean): Check {
  if (w.error) return fail('watchlist', w.error);
  if (!w.present) {
    // No watchlist is correct between deployments; during one it means nothing can match.
    return deploymentRunning ? fail('watchlist', 'no watchlist while a deployment is running') : ok('watchlist', 'none (no deployment running)');
  }
  const left = (w.expiresAtMs ?? now) - now;
  if (left <= 0) return fail('watchlist', 'expired but still present: it must be purged');
  const mins = Math.floor(left / 60_000);
  const ttl = mins >= 60 ? `${Math.floor(mins / 60)} h ${mins % 60} min` : `${mins} min`;
  const count = w.subjects !== null ? `${w.subjects} subjects, ` : '';
  if (w.loaded === false) return warn('watchlist', `${count}stored but not loaded by the matcher; expires in ${ttl}`);
  if (mins < t.warnWatchlistExpiryMinutes) return warn('watchlist', `${count}expires in ${ttl}`);
  return ok('watchlist', `${count}${w.loaded ? 'loaded, ' : ''}expires in ${ttl}`);
}

export function checkAlertAge(a: AlertFacts, now: number): Check {
  if (a.oldestCapturedAt === null) return ok('alerts.retention', 'no alerts stored');
  const ageH = (now - a.oldestCapturedAt) / HOUR_MS;
  const msg = `oldest alert is ${fmt1(ageH)} h old (limit ${a.retentionHours} h)`;
  if (ageH > a.retentionHours) return fail('alerts.retention', `${msg}: the retention purge is not running`);
  return ok('alerts.retention', msg);
}

export function checkAudit(a: AuditFacts): Check {
  if (a.intact === true) return ok('audit', a.message);
  if (a.intact === false) return fail('audit', a.message);
  return warn('audit', a.message);
}

export function worst(checks: readonly Check[]): Level {
  if (checks.some((c) => c.level === 'FAIL')) return 'FAIL';
  if (checks.some((c) => c.level === 'WARN')) return 'WARN';
  return 'OK';
}

/** Every probe over one set of facts, in the order `lfr health` prints them. */
export function evaluate(f: HealthFacts, t: HealthThresholds, deploymentRunning = false): HealthReport {
  const checks: Check[] = [];
  checks.push(f.daemonRunning ? ok('daemon', 'running') : fail('daemon', 'not running (systemctl status lfr)'));
  if (f.system) {
    checks.push(checkCpuLoad(f.system, t), checkCpuTemp(f.system, t), checkMemory(f.system, t), ...checkDisks(f.system, t), ...checkGpus(f.system, t));
  } else {
    checks.push(warn('system', 'system figures could not be read'));
  }
  checks.push(checkClock(f.clock), ...checkCameras(f.cameras, t), checkBroker(f.broker), checkModels(f.models));
  checks.push(checkWatchlist(f.watchlist, f.now, t, deploymentRunning));
  if (f.volatile) checks.push(checkVolatileStorage(f.volatile));
  if (f.keys) checks.push(checkKeyProtection(f.keys));
  if (f.vanCa) checks.push(checkVanCa(f.vanCa, f.now));
  checks.push(f.alerts ? checkAlertAge(f.alerts, f.now) : warn('alerts.retention', 'alert store not readable from here'));
  checks.push(f.audit ? checkAudit(f.audit) : warn('audit', 'audit chain not checked'));
  if (f.memory) checks.push(checkMemorySafety(f.memory.facts, f.memory.self));
  // Alerts still reach tablets that use another page copy, so a page that is down WARNs, not FAILs.
  if (f.tablet) checks.push(f.tablet.served ? ok('tablet', 'page served') : warn('tablet', `page not served: ${f.tablet.reason ?? 'unknown'}`));
  if (f.analysis) checks.push(checkAnalysis(f.analysis.cameras, f.now, f.analysis.stallLimitMs), checkInference(f.analysis.workers, f.analysis.droppedByCamera));
  const pace = f.analysis?.pace && f.analysis.missWindowMs ? checkPace(f.analysis.pace, f.analysis.missWindowMs) : null;
  if (pace) checks.push(pace);
  return { at: new Date(f.now).toISOString(), level: worst(checks), checks };
}

/** One line per check, as `lfr health` prints them. */
export function formatReport(r: HealthReport): string {
  const width = Math.max(...r.checks.map((c) => c.name.length), 6);
  const lines = r.checks.map((c) => `${c.level.padEnd(4)} ${c.name.padEnd(width)}  ${c.message}${c.url ? ` (${c.url})` : ''}`);
  lines.push(`overall: ${r.level}`);
  return lines.join('\n');
}
