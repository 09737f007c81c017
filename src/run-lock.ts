// One van process. `lfr run` (every Daemon: the demo and benches too) takes an exclusive lock on
// paths.runtimeDir/lfr.lock BEFORE it binds or deletes anything (the control socket, the uploads
// folder, ports, the MQTT client id); a second one finds it held and exits at once with
// "lfr is already running (pid N)", having touched nothing. The CLI's offline mode (watchlist
// import/purge on the store when no daemon answers) takes the same lock for its work, so it is
// refused while a daemon runs even when that daemon's socket is gone.
//
// Why flock(2) through koffi and not a pid file: the kernel drops a flock when the holding process
// dies, however it dies (kill -9, an OOM kill, a power cut: /run is tmpfs anyway), so there is never
// a stale lock to judge. A pid file needs "is that pid alive, and is it still the same process"
// (start time from /proc) and a delete-and-recreate of a stale file, which two processes starting
// at the same instant can both do. The lock file is never deleted (unlinking a flock file lets a
// third process lock a new inode while the second still holds the old one); its content, the
// holder's pid, is only for the message. libuv opens it O_CLOEXEC: children never inherit it.
import { closeSync, constants as FS, ftruncateSync, mkdirSync, openSync, readSync, writeSync } from 'node:fs';
import path from 'node:path';
import { LibcUnavailable, tryLockExclusive } from './util/libc.js';

export const RUN_LOCK_FILE = 'lfr.lock';
export const runLockPath = (runtimeDir: string): string => path.join(runtimeDir, RUN_LOCK_FILE);

export class AlreadyRunning extends Error {
  constructor(
    readonly pid: number | null,
    readonly lockFile: string,
  ) {
    super(`lfr is already running (${pid ? `pid ${pid}` : 'pid unknown'}; lock ${lockFile})`);
    this.name = 'AlreadyRunning';
  }
}

function readPid(fd: number): number | null {
  const buf = Buffer.alloc(32);
  const n = readSync(fd, buf, 0, buf.length, 0);
  const pid = Number.parseInt(buf.subarray(0, n).toString('utf8'), 10);
  return Number.isInteger(pid) && pid > 0 ? pid : null;
}

export class RunLock {
  private fd: number | null = null;
  /** Why no lock could be taken at all (not Linux); the caller logs it. */
  unavailable: string | null = null;

  constructor(readonly file: string) {}

  static forRuntimeDir(runtimeDir: string): RunLock {
    return new RunLock(runLockPath(runtimeDir));
  }

  get held(): boolean {
    return this.fd !== null;
  }

  /** Take the lock or throw AlreadyRunning. Creates the runtime folder (0750) and the lock file (0600: like every file the daemon writes, private to the lfr user). */
  acquire(): void {
    if (this.fd !== null) return;
    mkdirSync(path.dirname(this.file), { recursive: true, mode: 0o750 });
    const fd = openSync(this.file, FS.O_RDWR | FS.O_CREAT | FS.O_NOFOLLOW, 0o600);
    let locked: boolean;
    try {
      locked = tryLockExclusive(fd);
    } catch (err) {
      if (!(err instanceof LibcUnavailable)) {
        closeSync(fd);
        throw err;
      }
      // A developer machine without libc calls: carry on unlocked, and say so.
      this.unavailable = err.message;
      closeSync(fd);
      return;
    }
    if (!locked) {
      let pid: number | null = null;
      try {
        pid = readPid(fd);
      } finally {
        closeSync(fd);
      }
      throw new AlreadyRunning(pid, this.file);
    }
    ftruncateSync(fd, 0);
    writeSync(fd, `${process.pid}\n`, 0);
    this.fd = fd;
  }

  /** Release (close the descriptor: the kernel drops the lock). The file stays, emptied. */
  release(): void {
    if (this.fd === null) return;
    try {
      ftruncateSync(this.fd, 0);
    } catch {
      /* the lock goes with the close all the same */
    }
    closeSync(this.fd);
    this.fd = null;
  }
}
