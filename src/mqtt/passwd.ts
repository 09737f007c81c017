// mosquitto password files, read and written here rather than with mosquitto_passwd: that tool
// takes the password on its command line (visible to every user in `ps`), and the daemon must
// check the same hashes itself when an officer's tablet asks for an alert's content over HTTPS
// (one account per officer, for the broker and the page alike).
//
// Format (mosquitto 2.0): one "user:$7$<iterations>$<base64 salt>$<base64 hash>" line per
// account; $7$ is PBKDF2-HMAC-SHA512 with a 64-byte hash. mosquitto_passwd uses 101 iterations;
// we use 50,000 (~55 ms on the van's CPU per check, paid once per MQTT connect and cached by the
// page's verifier), which makes a stolen file far slower to attack.
import { pbkdf2, pbkdf2Sync, randomBytes, timingSafeEqual } from 'node:crypto';
import { chmodSync, closeSync, fsyncSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs';
import path from 'node:path';
import { OFFICER_ID_RE } from './topics.js';

export const PBKDF2_ITERATIONS = 50_000;
const SALT_BYTES = 12;
const HASH_BYTES = 64;

export class PasswdError extends Error {
  override name = 'PasswdError';
}

/** A mosquitto $7$ hash of `password`. */
export function hashPassword(password: string, iterations = PBKDF2_ITERATIONS): string {
  const salt = randomBytes(SALT_BYTES);
  const hash = pbkdf2Sync(password, salt, iterations, HASH_BYTES, 'sha512');
  return `$7$${iterations}$${salt.toString('base64')}$${hash.toString('base64')}`;
}

interface Parsed {
  iterations: number;
  salt: Buffer;
  hash: Buffer;
}

function parseHash(h: string): Parsed | null {
  const m = /^\$7\$(\d{1,7})\$([A-Za-z0-9+/=]+)\$([A-Za-z0-9+/=]+)$/.exec(h);
  if (!m) return null;
  const iterations = Number(m[1]);
  const salt = Buffer.from(m[2]!, 'base64');
  const hash = Buffer.from(m[3]!, 'base64');
  if (iterations < 1 || hash.length !== HASH_BYTES || salt.length === 0) return null;
  return { iterations, salt, hash };
}

/** Checks `password` against a $7$ hash, off the main thread (libuv's pool). */
export function verifyPassword(storedHash: string, password: string): Promise<boolean> {
  const p = parseHash(storedHash);
  if (!p) return Promise.resolve(false);
  return new Promise((resolve) => {
    pbkdf2(password, p.salt, p.iterations, HASH_BYTES, 'sha512', (err, got) => resolve(!err && timingSafeEqual(got, p.hash)));
  });
}

/** user -> hash, in file order. A missing file is an empty list. */
export function readPasswd(file: string): Map<string, string> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return new Map();
    throw err;
  }
  const out = new Map<string, string>();
  for (const line of text.split('\n')) {
    const t = line.trim();
    if (!t || t.startsWith('#')) continue;
    const i = t.indexOf(':');
    if (i <= 0) continue;
    out.set(t.slice(0, i), t.slice(i + 1));
  }
  return out;
}

/** Writes the whole file atomically (temp file, fsync, rename) with `mode`. */
export function writePasswd(file: string, users: ReadonlyMap<string, string>, mode = 0o640): void {
  for (const u of users.keys()) if (!OFFICER_ID_RE.test(u)) throw new PasswdError(`account name "${u}" must be 1-32 letters, digits, dot, dash or underscore`);
  const body = [...users].map(([u, h]) => `${u}:${h}\n`).join('');
  const tmp = path.join(path.dirname(file), `.${path.basename(file)}.tmp-${randomBytes(4).toString('hex')}`);
  const fd = openSync(tmp, 'wx', mode);
  try {
    writeSync(fd, body);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  chmodSync(tmp, mode); // umask may have narrowed it
  renameSync(tmp, file);
}

/** A random password an officer can type: 4 groups of 4 from an unambiguous alphabet (~80 bits). */
export function randomPassword(): string {
  const alphabet = 'abcdefghjkmnpqrstuvwxyz23456789';
  const bytes = randomBytes(16);
  let s = '';
  for (let i = 0; i < 16; i++) {
    s += alphabet[bytes[i]! % alphabet.length];
    if (i % 4 === 3 && i < 15) s += '-';
  }
  return s;
}
