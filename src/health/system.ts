// Machine facts for the health probes: systeminformation for CPU, memory, disk and GPU, and the
// OS's own view of clock synchronisation. Every reader degrades to "unknown" instead of throwing:
// a health check that crashes is worse than one that says WARN.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import os from 'node:os';
import si from 'systeminformation';
import type { ClockFacts, SystemFacts } from './types.js';

const run = promisify(execFile);
const MB = 1024 * 1024;

/** The file system holding `p`: the longest mount point that is a prefix of it. */
export function mountFor<T extends { mount: string }>(p: string, mounts: readonly T[]): T | undefined {
  let best: T | undefined;
  for (const m of mounts) {
    const prefix = m.mount.endsWith('/') ? m.mount : `${m.mount}/`;
    if ((p === m.mount || p.startsWith(prefix) || m.mount === '/') && (!best || m.mount.length > best.mount.length)) best = m;
  }
  return best;
}

export async function readSystemFacts(paths: readonly string[]): Promise<SystemFacts> {
  const [temp, mem, fs, gfx] = await Promise.all([
    si.cpuTemperature().catch(() => null),
    si.mem(),
    si.fsSize().catch(() => []),
    si.graphics().catch(() => ({ controllers: [] as si.Systeminformation.GraphicsControllerData[] })),
  ]);
  const temps = [temp?.main, temp?.max, ...(temp?.cores ?? [])].filter((t): t is number => typeof t === 'number' && t > 0);
  const disks = paths.map((p) => {
    const m = mountFor(p, fs);
    return m ? { path: p, mount: m.mount, freeMb: m.available / MB, sizeMb: m.size / MB } : null;
  });
  // Only discrete accelerators matter for the execution provider; an on-board VGA is not a GPU here.
  const gpus = gfx.controllers
    .filter((c) => /nvidia|amd|radeon|tegra/i.test(`${c.vendor} ${c.model}`))
    .map((c) => ({
      model: c.model || c.vendor,
      tempC: typeof c.temperatureGpu === 'number' ? c.temperatureGpu : null,
      memUsedMb: typeof c.memoryUsed === 'number' ? c.memoryUsed : null,
      memTotalMb: typeof c.memoryTotal === 'number' ? c.memoryTotal : null,
    }));
  return {
    load1: os.loadavg()[0] ?? 0,
    cores: os.availableParallelism(),
    cpuTempC: temps.length ? Math.max(...temps) : null,
    memTotalMb: mem.total / MB,
    memAvailableMb: mem.available / MB,
    disks: disks.filter((d): d is NonNullable<typeof d> => d !== null),
    gpus,
  };
}

/** `timedatectl show` prints NTPSynchronized=yes|no; chrony's tracking has a "Leap status". */
export function parseTimedatectl(out: string): boolean | null {
  const m = /^NTPSynchronized=(yes|no)$/m.exec(out);
  return m ? m[1] === 'yes' : null;
}

export function parseChronyTracking(out: string): boolean | null {
  const m = /^Leap status\s*:\s*(.+)$/m.exec(out);
  if (!m) return null;
  return m[1]!.trim() === 'Normal';
}

export async function readClockFacts(): Promise<ClockFacts> {
  const opts = { timeout: 3000 };
  try {
    const { stdout } = await run('timedatectl', ['show', '--property=NTPSynchronized'], opts);
    const synced = parseTimedatectl(stdout);
    if (synced !== null) return { synced, source: 'timedatectl' };
  } catch {
    /* no systemd as PID 1 (containers): try chrony */
  }
  try {
    const { stdout } = await run('chronyc', ['-n', 'tracking'], opts);
    const synced = parseChronyTracking(stdout);
    if (synced !== null) return { synced, source: 'chrony' };
  } catch {
    /* no chrony either */
  }
  return { synced: null, source: 'neither timedatectl nor chronyc could tell' };
}
