// The few Linux libc calls Node has no API for, through koffi (a maintained FFI with prebuilt
// binaries for linux-x64 and linux-arm64, so the van needs no compiler):
//   peerCredentials(fd)   getsockopt(SO_PEERCRED): who is on the other end of a unix socket
//   setNotDumpable()      prctl(PR_SET_DUMPABLE, 0): no core file, /proc/PID/mem closed to same-uid
//   setCoreLimitZero()    setrlimit(RLIMIT_CORE, {0, 0}): the kernel writes no core file
//   tryLockExclusive(fd)  flock(LOCK_EX | LOCK_NB): the one-van-process lock (src/run-lock.ts)
// Loaded lazily, once; every function throws LibcUnavailable when koffi or libc cannot be loaded
// (a non-Linux developer machine), and callers say what that costs.
import { createRequire } from 'node:module';

export class LibcUnavailable extends Error {
  override name = 'LibcUnavailable';
}

const SOL_SOCKET = 1;
const SO_PEERCRED = 17;
const PR_GET_DUMPABLE = 3;
const PR_SET_DUMPABLE = 4;
const RLIMIT_CORE = 4;
const LOCK_EX = 2;
const LOCK_NB = 4;
const EWOULDBLOCK = 11;
const EINTR = 4;

interface Fns {
  getsockopt: (fd: number, level: number, name: number, buf: Buffer, len: number[]) => number;
  prctl: (option: number, a2: number, a3: number, a4: number, a5: number) => number;
  setrlimit: (resource: number, rlim: Buffer) => number;
  getrlimit: (resource: number, rlim: Buffer) => number;
  flock: (fd: number, op: number) => number;
  errno: () => number;
}

let fns: Fns | null = null;
let loadError: Error | null = null;

function libc(): Fns {
  if (fns) return fns;
  if (loadError) throw loadError;
  try {
    if (process.platform !== 'linux') throw new Error(`not Linux (${process.platform})`);
    // koffi is CommonJS; createRequire keeps this module ESM without a default-import shim.
    const koffi = createRequire(import.meta.url)('koffi') as typeof import('koffi');
    const lib = koffi.load('libc.so.6');
    const errnoLoc = lib.func('int *__errno_location()');
    fns = {
      getsockopt: lib.func('int getsockopt(int, int, int, _Out_ uint8_t *buf, _Inout_ uint32_t *len)') as Fns['getsockopt'],
      prctl: lib.func('int prctl(int, unsigned long, unsigned long, unsigned long, unsigned long)') as Fns['prctl'],
      // struct rlimit is two unsigned longs (rlim_cur, rlim_max): 16 bytes on 64-bit Linux.
      setrlimit: lib.func('int setrlimit(int, const uint8_t *rlim)') as Fns['setrlimit'],
      getrlimit: lib.func('int getrlimit(int, _Out_ uint8_t *rlim)') as Fns['getrlimit'],
      flock: lib.func('int flock(int, int)') as Fns['flock'],
      errno: () => koffi.decode(errnoLoc(), 'int') as number,
    };
    return fns;
  } catch (err) {
    loadError = new LibcUnavailable(`libc calls unavailable: ${(err as Error).message}`);
    throw loadError;
  }
}

export interface PeerCredentials {
  pid: number;
  uid: number;
  gid: number;
}

/** The credentials the kernel recorded for the peer of a connected unix socket (at connect time). */
export function peerCredentials(fd: number): PeerCredentials {
  const f = libc();
  const buf = Buffer.alloc(12); // struct ucred { pid_t pid; uid_t uid; gid_t gid; }
  const len = [12];
  if (f.getsockopt(fd, SOL_SOCKET, SO_PEERCRED, buf, len) !== 0) throw new Error(`getsockopt(SO_PEERCRED) failed: errno ${f.errno()}`);
  return { pid: buf.readInt32LE(0), uid: buf.readUInt32LE(4), gid: buf.readUInt32LE(8) };
}

/** prctl(PR_SET_DUMPABLE, 0); returns the dumpable flag read back (0 = done). */
export function setNotDumpable(): number {
  const f = libc();
  f.prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
  return f.prctl(PR_GET_DUMPABLE, 0, 0, 0, 0);
}

/** Lower both the soft and hard core limits to 0 (always allowed: lowering needs no privilege). */
export function setCoreLimitZero(): { soft: bigint; hard: bigint } {
  const f = libc();
  f.setrlimit(RLIMIT_CORE, Buffer.alloc(16));
  const out = Buffer.alloc(16);
  if (f.getrlimit(RLIMIT_CORE, out) !== 0) throw new Error(`getrlimit(RLIMIT_CORE) failed: errno ${f.errno()}`);
  return { soft: out.readBigUInt64LE(0), hard: out.readBigUInt64LE(8) };
}

/**
 * flock(fd, LOCK_EX | LOCK_NB): true when this open file now holds the exclusive lock, false when
 * another open file (another process) holds it. The kernel drops the lock when the last descriptor
 * of that open file closes, including when the process is killed or the power goes: no stale lock.
 */
export function tryLockExclusive(fd: number): boolean {
  const f = libc();
  for (;;) {
    if (f.flock(fd, LOCK_EX | LOCK_NB) === 0) return true;
    const e = f.errno();
    if (e === EWOULDBLOCK) return false;
    if (e !== EINTR) throw new Error(`flock failed: errno ${e}`);
  }
}
