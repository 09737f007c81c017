// Opening files that someone else named, and creating files only the daemon may read.
//
// openRegularFile: a path from a request, a USB stick or the command line may be a FIFO (open()
// would block for ever, and with it every purge queued behind it), a device, or a symlink to
// something the caller could not read. O_NOFOLLOW refuses a symlink as the last component,
// O_NONBLOCK makes open() of a FIFO return at once, and fstat on the opened descriptor (not a
// second stat of the path, which could be swapped in between) must say "regular file".
import { chmodSync, closeSync, constants as FS, fstatSync, openSync, readFileSync, type Stats } from 'node:fs';
import { open as openAsync, type FileHandle } from 'node:fs/promises';

export class NotARegularFile extends Error {
  override name = 'NotARegularFile';
}

function kindOf(st: Stats): string {
  if (st.isFIFO()) return 'a FIFO';
  if (st.isCharacterDevice() || st.isBlockDevice()) return 'a device';
  if (st.isSocket()) return 'a socket';
  if (st.isDirectory()) return 'a directory';
  return 'not a regular file';
}

function explain(file: string, err: unknown): Error {
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'ELOOP') return new NotARegularFile(`${file} is a symbolic link: give the file itself`);
  if (code === 'ENOENT') return new NotARegularFile(`${file} not found`);
  if (code === 'EACCES') return new NotARegularFile(`permission denied reading ${file}`);
  return new NotARegularFile(`cannot open ${file}: ${code ?? String(err)}`);
}

/** Open read-only, refusing symlinks, FIFOs, devices and sockets before reading a byte. */
export async function openRegularFile(file: string): Promise<{ fh: FileHandle; size: number }> {
  let fh: FileHandle;
  try {
    fh = await openAsync(file, FS.O_RDONLY | FS.O_NOFOLLOW | FS.O_NONBLOCK);
  } catch (err) {
    throw explain(file, err);
  }
  const st = await fh.stat();
  if (!st.isFile()) {
    await fh.close();
    throw new NotARegularFile(`${file} is ${kindOf(st)}, not a regular file: refused`);
  }
  return { fh, size: st.size };
}

/** Synchronous twin of openRegularFile: returns the descriptor and size. */
export function openRegularFileSync(file: string): { fd: number; size: number } {
  let fd: number;
  try {
    fd = openSync(file, FS.O_RDONLY | FS.O_NOFOLLOW | FS.O_NONBLOCK);
  } catch (err) {
    throw explain(file, err);
  }
  const st = fstatSync(fd);
  if (!st.isFile()) {
    closeSync(fd);
    throw new NotARegularFile(`${file} is ${kindOf(st)}, not a regular file: refused`);
  }
  return { fd, size: st.size };
}

/**
 * Read a small file named by a config or the command line (a key, a password, a CA, a camera's
 * credentials): a FIFO, device, socket or directory is refused at once (O_NONBLOCK, then fstat of
 * the opened descriptor) instead of blocking the caller for ever, and a file over `maxBytes` is
 * refused before it is read. Symbolic links are followed (installs link keys and certificates).
 * Errors are NotARegularFile with a plain message that names the file, never its content.
 */
export function readSmallFileSync(file: string, maxBytes = 1024 * 1024): Buffer {
  let fd = -1;
  try {
    try {
      fd = openSync(file, FS.O_RDONLY | FS.O_NONBLOCK);
    } catch (err) {
      throw explain(file, err);
    }
    const st = fstatSync(fd);
    if (!st.isFile()) throw new NotARegularFile(`${file} is ${kindOf(st)}, not a regular file: refused`);
    if (st.size > maxBytes) throw new NotARegularFile(`${file} is ${st.size} bytes, more than the ${maxBytes} such a file can hold: refused`);
    return readFileSync(fd);
  } finally {
    if (fd >= 0) closeSync(fd);
  }
}

/** Async twin of readSmallFileSync for larger files (images): same refusals. */
export async function readSmallFile(file: string, maxBytes: number): Promise<Buffer> {
  let fh: FileHandle | null = null;
  try {
    try {
      fh = await openAsync(file, FS.O_RDONLY | FS.O_NONBLOCK);
    } catch (err) {
      throw explain(file, err);
    }
    const st = await fh.stat();
    if (!st.isFile()) throw new NotARegularFile(`${file} is ${kindOf(st)}, not a regular file: refused`);
    if (st.size > maxBytes) throw new NotARegularFile(`${file} is ${st.size} bytes, more than the ${maxBytes} such a file can hold: refused`);
    return await fh.readFile();
  } finally {
    await fh?.close();
  }
}

/**
 * Make sure `file` exists with exactly `mode` before a library (SQLite) opens it: SQLite creates
 * a new database with 0644 & ~umask, and its -wal/-shm/-journal files copy the database's mode,
 * so setting it here covers them too.
 */
export function ensurePrivateFile(file: string, mode = 0o600): void {
  try {
    closeSync(openSync(file, FS.O_WRONLY | FS.O_CREAT | FS.O_NOFOLLOW, mode));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ELOOP') throw new Error(`${file} is a symbolic link: refused`);
    throw err;
  }
  chmodSync(file, mode);
}
