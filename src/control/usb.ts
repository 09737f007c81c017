// Finding the watchlist bundle on an inserted USB stick. The convention (hardware/README.md):
// exactly one file ending in .lfrwl, at the top of the stick or in a folder named "lfr". More
// than one is refused rather than guessed: importing the wrong deployment's watchlist is worse
// than importing none.
import { lstatSync, readdirSync } from 'node:fs';
import path from 'node:path';

export const BUNDLE_SUFFIX = '.lfrwl';

export class UsbError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsbError';
  }
}

/** Pure choice among the names found (relative paths); throws UsbError with a plain reason. */
export function chooseBundle(names: readonly string[]): string {
  const found = names.filter((n) => n.toLowerCase().endsWith(BUNDLE_SUFFIX) && !path.basename(n).startsWith('.'));
  if (found.length === 0) throw new UsbError(`no watchlist bundle (*${BUNDLE_SUFFIX}) at the top of the stick or in its lfr/ folder`);
  if (found.length > 1) throw new UsbError(`${found.length} watchlist bundles on the stick (${found.join(', ')}): leave exactly one`);
  return found[0]!;
}

/** The bundle's absolute path under a mount point (or any directory standing in for one). */
export function findBundle(mountDir: string): string {
  let top: string[];
  try {
    top = readdirSync(mountDir);
  } catch (err) {
    throw new UsbError(`cannot read ${mountDir} (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
  }
  const names = [...top];
  const sub = top.find((n) => n.toLowerCase() === 'lfr');
  // lstat, never stat: no symlink on the stick is followed (vfat/exFAT have none; this is for a
  // stick that was mounted some other way). The bundle itself is opened with O_NOFOLLOW.
  if (sub && lstatSync(path.join(mountDir, sub)).isDirectory()) {
    for (const n of readdirSync(path.join(mountDir, sub))) names.push(path.join(sub, n));
  }
  const chosen = chooseBundle(names);
  const full = path.join(mountDir, chosen);
  if (!lstatSync(full).isFile()) throw new UsbError(`${chosen} is not a regular file (a symlink, FIFO or device on a stick is refused)`);
  return full;
}
