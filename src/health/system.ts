// Machine facts for the health probes: systeminformation for CPU, memory, disk and GPU, and the
// OS's own view of clock synchronisation. Every reader degrades to "unknown" instead of throwing:
// a health check that crashes is worse than one that says WARN.
import { execFile } from 'node:child_process';
import { statfsSync, type StatsFs } from 'node:fs';
import path from 'node:path';
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

/** tmpfs and ramfs (statfs f_type). */
const RAM_FS = new Set([0x01021994, 0x858458f6]);

/** statfs of the nearest existing folder at or above p (one the daemon has not created yet lands there). */
function statfsAt(p: string): (StatsFs & { at: string }) | null {
  let cur = path.resolve(p);
  for (;;) {
    try {
      return { ...statfsSync(cur), at: cur };
    } catch {
      const up = path.dirname(cur);
      if (up === cur) return null;
      cur = up;
    }
  }
}

export async function readSystemFacts(paths: readonly string[]): Promise<SystemFacts> {
  const [temp, mem, fs, gfx] = await Promise.all([
    si.cpuTemperature().catch(() => null),
    si.mem(),
    si.fsSize().catch(() => []),
    si.graphics().catch(() => ({ controllers: [] as si.Systeminformation.GraphicsControllerData[] })),
  ]);
  const temps = [temp?.main, temp?.max, ...(temp?.cores ?? [])].filter((t): t is number => typeof t === 'number' && t > 0);
  // Free space from statfs(2) of the folder itself: systeminformation's fsSize() lists no tmpfs, so
  // for /run/lfr it reported the ROOT disk and a full /run was never seen. fsSize only names the mount.
  const disks = paths.map((p) => {
    const st = statfsAt(p);
    const m = mountFor(p, fs);
    if (!st) return m ? { path: p, mount: m.mount, freeMb: m.available / MB, sizeMb: m.size / MB, volatile: false } : null;
    const volatile = RAM_FS.has(Number(st.type));
    return { path: p, mount: volatile || !m ? st.at : m.mount, freeMb: (Number(st.bavail) * Number(st.bsize)) / MB, sizeMb: (Number(st.blocks) * Number(st.bsize)) / MB, volatile };
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
