// Where the van keeps what must vanish at power-off: the encrypted watchlist store, the per-alert
// keys (crypto-shredding: an alert is irretrievable once its key is gone) and the control socket's
// uploads (bundles in transit). The promise rests on these folders being in RAM (tmpfs): on a disk,
// "deleting" a key file leaves its 32 bytes in free blocks, so a purged alert could be decrypted
// from a disk image, and the watchlist store would outlive the deployment on the platter.
// systemd's RuntimeDirectory=lfr (/run/lfr) is tmpfs on Debian; a config that points
// paths.runtimeDir, watchlist.storeFile or alerts.keyDir elsewhere is a FAIL with the reason.
import { statfsSync } from 'node:fs';
import path from 'node:path';
import type { Config } from '../config/schema.js';
import type { Check } from './types.js';

/** statfs(2) f_type of the file systems that live in RAM. */
const RAM_FS: Record<number, string> = { 0x01021994: 'tmpfs', 0x858458f6: 'ramfs' };
/** A few common disk file systems, named in the message (anything else is shown in hex). */
const KNOWN_FS: Record<number, string> = { 0xef53: 'ext4', 0x58465342: 'xfs', 0x9123683e: 'btrfs', 0x4d44: 'vfat', 0x2011bab0: 'exfat', 0x794c7630: 'overlayfs', 0x6969: 'nfs' };

export interface VolatilePlace {
  /** What lives there, in plain words. */
  what: string;
  path: string;
  /** File system type name ("tmpfs", "ext4", "0x1234"), or null when it could not be read. */
  fs: string | null;
  /** True when the file system is RAM-backed. */
  volatile: boolean | null;
  error?: string;
}

/** The folders whose content must not survive a power cut (resolved config). */
export function volatilePlaces(cfg: Config): Array<{ what: string; path: string }> {
  return [
    { what: 'watchlist store', path: path.dirname(cfg.watchlist.storeFile) },
    { what: 'alert keys', path: path.resolve(cfg.paths.runtimeDir, cfg.alerts.keyDir) },
    { what: 'runtime folder (uploads in transit)', path: cfg.paths.runtimeDir },
  ];
}

/** The nearest existing folder at or above p (a folder the daemon has not created yet lands there). */
function existingAncestor(p: string): string {
  let cur = path.resolve(p);
  for (;;) {
    try {
      statfsSync(cur);
      return cur;
    } catch {
      const up = path.dirname(cur);
      if (up === cur) return cur;
      cur = up;
    }
  }
}

/** Reads the file system type of each volatile place (statfs: no I/O beyond the syscall). */
export function readVolatileFacts(cfg: Config): VolatilePlace[] {
  return volatilePlaces(cfg).map(({ what, path: p }) => {
    try {
      const type = Number(statfsSync(existingAncestor(p)).type);
      const ram = RAM_FS[type];
      return { what, path: p, fs: ram ?? KNOWN_FS[type] ?? `0x${type.toString(16)}`, volatile: ram !== undefined };
    } catch (err) {
      return { what, path: p, fs: null, volatile: null, error: (err as Error).message };
    }
  });
}

/** Pure verdict: every place on tmpfs/ramfs is OK; any on a disk FAILs, naming it. */
export function checkVolatileStorage(places: readonly VolatilePlace[]): Check {
  const name = 'storage.volatile';
  const onDisk = places.filter((p) => p.volatile === false);
  if (onDisk.length) {
    const list = onDisk.map((p) => `${p.what} ${p.path} is on ${p.fs}`).join('; ');
    return { name, level: 'FAIL', message: `${list}, not tmpfs: purged alert keys and watchlist data would survive on the disk (set paths.runtimeDir to a tmpfs such as /run/lfr)` };
  }
  const unknown = places.filter((p) => p.volatile === null);
  if (unknown.length) return { name, level: 'WARN', message: `could not tell the file system of ${unknown.map((p) => p.path).join(', ')}` };
  return { name, level: 'OK', message: `watchlist store, alert keys and uploads on ${[...new Set(places.map((p) => p.fs))].join(', ')}` };
}
