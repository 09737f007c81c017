// No face in a core file, none in swap (issue 11, item 7). The daemon's memory holds decoded
// frames, watchlist templates and reference images, alert crops and keys: a core dump of it
// (495 MB in the attack, with all of those and the MQTT password) or a page swapped to disk
// outlives every purge. So, at start and before analysis:
//   - prctl(PR_SET_DUMPABLE, 0): the kernel writes no core file for this process at all (with
//     fs.suid_dumpable 0, the default) and refuses /proc/PID/mem and ptrace to same-uid processes;
//     systemd-coredump (coredumpctl) gets nothing either, because the kernel never dumps;
//   - setrlimit(RLIMIT_CORE, 0): belt and braces for a kernel or a dumpable flag reset by exec;
//   - swap: none configured (/proc/swaps), or this process's cgroup forbids it (memory.swap.max = 0,
//     what MemorySwapMax=0 in lfr.service sets).
// The unit also says LimitCORE=0 and MemorySwapMax=0; the daemon checks rather than trusts, so a
// van started some other way (by hand, an edited unit) is caught too. Pure decision: checkMemorySafety.
import { readFileSync } from 'node:fs';
import type { Component } from '../lifecycle.js';
import type { Logger } from '../log.js';
import { setCoreLimitZero, setNotDumpable } from '../util/libc.js';
import type { Check } from './types.js';

export interface MemorySafetyFacts {
  /** PR_GET_DUMPABLE after our prctl (0 = no core, /proc/PID/mem closed); null when it could not be read. */
  dumpable: number | null;
  /** Soft core-size limit in bytes ('unlimited' as Infinity); null when unknown. */
  coreLimit: number | null;
  /** /proc/sys/fs/suid_dumpable: 2 dumps even non-dumpable processes (as root-readable files). */
  suidDumpable: number | null;
  /** Active swap areas (from /proc/swaps). */
  swapAreas: number;
  /** memory.swap.max of this process's cgroup (v2), or memory.memsw limit knowledge; null when unknown. */
  cgroupSwapMax: number | null;
  /** Why the lock-down calls failed, when they did. */
  error?: string;
}

function readNumber(file: string): number | null {
  try {
    const t = readFileSync(file, 'utf8').trim();
    if (t === 'max') return Infinity;
    const n = Number(t);
    return Number.isFinite(n) ? n : null;
  } catch {
    return null;
  }
}

/** Soft RLIMIT_CORE of a process from /proc/PID/limits. */
export function coreLimitOf(pid: number | 'self' = 'self'): number | null {
  try {
    const line = readFileSync(`/proc/${pid}/limits`, 'utf8').split('\n').find((l) => l.startsWith('Max core file size'));
    const soft = line?.slice('Max core file size'.length).trim().split(/\s+/)[0];
    if (soft === undefined) return null;
    return soft === 'unlimited' ? Infinity : Number(soft);
  } catch {
    return null;
  }
}

function swapAreas(): number {
  try {
    return readFileSync('/proc/swaps', 'utf8').trim().split('\n').length - 1;
  } catch {
    return 0;
  }
}

/** memory.swap.max of our own cgroup (cgroup v2), null when not on v2 or not readable. */
function cgroupSwapMax(): number | null {
  try {
    const line = readFileSync('/proc/self/cgroup', 'utf8').split('\n').find((l) => l.startsWith('0::'));
    if (!line) return null;
    const rel = line.slice(3).trim();
    for (const root of ['/sys/fs/cgroup', '/sys/fs/cgroup/unified']) {
      const v = readNumber(`${root}${rel === '/' ? '' : rel}/memory.swap.max`);
      if (v !== null) return v;
    }
    return null;
  } catch {
    return null;
  }
}

/** Lower what can be lowered (dumpable flag, core limit) and report the facts as they now are. */
export function lockDownMemory(): MemorySafetyFacts {
  let dumpable: number | null = null;
  let error: string | undefined;
  try {
    dumpable = setNotDumpable();
    setCoreLimitZero();
  } catch (err) {
    error = (err as Error).message;
  }
  return { ...readMemoryFacts(), dumpable, ...(error ? { error } : {}) };
}

/** The facts without changing anything (dumpable unknown: only the process itself can ask). */
export function readMemoryFacts(): MemorySafetyFacts {
  return { dumpable: null, coreLimit: coreLimitOf(), suidDumpable: readNumber('/proc/sys/fs/suid_dumpable'), swapAreas: swapAreas(), cgroupSwapMax: cgroupSwapMax() };
}

/**
 * The plain reason a face could reach a core file or swap, or null when neither can happen.
 * `self`: the facts are the daemon's own (dumpable known); otherwise only swap can be judged.
 */
export function memoryProblem(f: MemorySafetyFacts, self = true): string | null {
  if (self) {
    if (f.dumpable === null) return `the daemon could not turn off core dumps (prctl PR_SET_DUMPABLE: ${f.error ?? 'unavailable'}): a crash could write faces to a core file`;
    if (f.dumpable !== 0) return 'the daemon is still dumpable after prctl(PR_SET_DUMPABLE, 0): a crash could write faces to a core file';
    if (f.coreLimit === null || f.coreLimit > 0) return `the core file size limit is ${f.coreLimit === null ? 'unknown' : f.coreLimit === Infinity ? 'unlimited' : `${f.coreLimit} bytes`} and could not be lowered to 0: a crash could write faces to a core file (set LimitCORE=0 in lfr.service)`;
    if (f.suidDumpable === 2) return 'fs.suid_dumpable is 2: the kernel dumps even non-dumpable processes; set it to 0 (sysctl fs.suid_dumpable=0) so no core file can hold faces';
  }
  if (f.swapAreas > 0 && f.cgroupSwapMax !== 0) return `swap is on (${f.swapAreas} area${f.swapAreas === 1 ? '' : 's'}) and the daemon's memory may be swapped to disk: turn swap off (swapoff -a, and remove it from /etc/fstab) or run the daemon with MemorySwapMax=0 (lfr.service)`;
  return null;
}

export function checkMemorySafety(f: MemorySafetyFacts, self = true): Check {
  const p = memoryProblem(f, self);
  if (p) return { name: 'memory.safety', level: 'FAIL', message: p };
  return { name: 'memory.safety', level: 'OK', message: self ? 'no core dump possible (not dumpable, core limit 0); no swap' : 'no swap' };
}

/**
 * First component of the van: locks memory down before any face is decoded, and answers whether
 * analysis may start (the deployment hooks refuse to start analysis while problem() says why).
 */
export class MemoryGuard implements Component {
  readonly name = 'memory';
  private facts: MemorySafetyFacts | null = null;

  constructor(private readonly log: Logger) {}

  async start(): Promise<void> {
    this.facts = lockDownMemory();
    const p = memoryProblem(this.facts);
    if (p) this.log.error({ reason: p }, 'analysis will not start: a face could reach a core file or swap');
    else this.log.info('memory locked down: not dumpable, core limit 0, no swap');
  }

  async stop(): Promise<void> {}

  /** Current facts (swap can be turned on while running: re-read each time). */
  current(): MemorySafetyFacts {
    const base = this.facts ?? lockDownMemory();
    return { ...readMemoryFacts(), dumpable: base.dumpable, ...(base.error ? { error: base.error } : {}) };
  }

  /** Why analysis must not run, or null. */
  problem(): string | null {
    return memoryProblem(this.current());
  }
}
