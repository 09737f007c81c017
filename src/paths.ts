// Where the project is installed: the nearest folder above this compiled file that holds
// package.json. Works from dist/, from a developer's .build/NAME/ and from /opt/lfr.
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

function findRoot(start: string): string {
  let dir = start;
  for (;;) {
    if (existsSync(path.join(dir, 'package.json')) && existsSync(path.join(dir, 'models'))) return dir;
    const up = path.dirname(dir);
    if (up === dir) return process.cwd();
    dir = up;
  }
}

export const INSTALL_ROOT = findRoot(path.dirname(fileURLToPath(import.meta.url)));
/** The compiled tree this code runs from (dist/ or .build/NAME/). */
export const BUILD_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
/** The process entry of the CLI inside this build, for tests and for the daemon re-spawning itself. */
export const CLI_ENTRY = path.join(BUILD_ROOT, 'src', 'cli', 'entry.js');
