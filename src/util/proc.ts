// Process figures from /proc (Linux), for benchmarks and health: CPU time and memory of this
// process and of its decoder processes.
import { readdirSync, readFileSync } from 'node:fs';

/** CPU time (user + system) of a process in ms; 0 when it has gone. */
export function procCpuMs(pid: number): number {
  try {
    // /proc/PID/stat fields 14 and 15: utime and stime in clock ticks (100 Hz on Linux).
    const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return (Number(f[11]) + Number(f[12])) * 10;
  } catch {
    return 0;
  }
}

/** CPU time (user + system, ms) of each thread of a process, by thread id; empty when it has gone. */
export function threadCpuMs(pid: number): Map<number, number> {
  const out = new Map<number, number>();
  try {
    for (const tid of readdirSync(`/proc/${pid}/task`)) out.set(Number(tid), procCpuMs(Number(tid)));
  } catch {
    // gone
  }
  return out;
}

/**
 * Resident and proportional memory of a process in MB. RSS counts shared library pages in full
 * in every process; PSS divides them among the processes sharing them, so PSS summed over the
 * daemon and its decoder processes is what they really take together.
 */
export function procMemMb(pid: number): { rss: number; pss: number } {
  try {
    const t = readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8');
    const kb = (k: string): number => Number(new RegExp(`^${k}:\\s+(\\d+) kB`, 'm').exec(t)?.[1] ?? 0);
    return { rss: Math.round(kb('Rss') / 1024), pss: Math.round(kb('Pss') / 1024) };
  } catch {
    return { rss: 0, pss: 0 };
  }
}
