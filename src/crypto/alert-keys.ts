// Per-alert keys for crypto-shredding. Each alert is encrypted under its own random key, kept as
// one 0600 file in a folder on tmpfs (config alerts.keyDir, under paths.runtimeDir = /run/lfr):
// RAM, never written to the disk that holds the alert store. Destroying the key file makes the
// alert's ciphertext in SQLite (and any stale copy of it in free disk blocks) unreadable for good.
//
// Trade-off (docs/retention.md): the keys survive a daemon restart (tmpfs outlives the process),
// so queued alerts are still published afterwards; they do NOT survive a power cut, so an alert
// not yet delivered when the van loses power is lost (the store drops rows whose key is gone and
// audits it). We prefer that over keeping the key material at rest on disk, even sealed to the
// van key, because the van key file sits on the same disk. tmpfs can be swapped out: the install
// disables swap or uses encrypted swap (hardware/README.md).
import { existsSync, mkdirSync, openSync, readFileSync, readdirSync, unlinkSync, writeSync, closeSync, fsyncSync, statSync } from 'node:fs';
import path from 'node:path';
import { SecretKey, randomBytes, wipe } from './secure.js';
import { AEAD_KEY_BYTES } from './aead.js';

const NAME_RE = /^[0-9A-Za-z-]{8,40}$/;

export class AlertKeyStore {
  constructor(readonly dir: string) {}

  ensureDir(): void {
    mkdirSync(this.dir, { recursive: true, mode: 0o700 });
  }

  private file(id: string): string {
    if (!NAME_RE.test(id)) throw new Error('bad alert id for a key file');
    return path.join(this.dir, `${id}.key`);
  }

  /** A new random key for `id`, written 0600 (refuses to overwrite an existing key). */
  create(id: string): SecretKey {
    const raw = randomBytes(AEAD_KEY_BYTES);
    try {
      const fd = openSync(this.file(id), 'wx', 0o600);
      try {
        writeSync(fd, raw);
        fsyncSync(fd);
      } finally {
        closeSync(fd);
      }
      return SecretKey.from(raw);
    } finally {
      wipe(raw);
    }
  }

  /** The key of `id`, or null when it was destroyed (or lost with a power cut). */
  load(id: string): SecretKey | null {
    const f = this.file(id);
    if (!existsSync(f)) return null;
    const raw = readFileSync(f);
    try {
      if (raw.length !== AEAD_KEY_BYTES) return null;
      return SecretKey.from(raw);
    } finally {
      wipe(raw);
    }
  }

  has(id: string): boolean {
    return existsSync(this.file(id));
  }

  /** Overwrite with zeros, then unlink. Returns true when a key existed. */
  destroy(id: string): boolean {
    const f = this.file(id);
    if (!existsSync(f)) return false;
    try {
      const size = statSync(f).size;
      const fd = openSync(f, 'r+');
      try {
        writeSync(fd, Buffer.alloc(size), 0, size, 0);
        fsyncSync(fd);
      } finally {
        closeSync(fd);
      }
    } finally {
      unlinkSync(f);
    }
    return true;
  }

  /** Ids of every key present (to shred keys whose alert row is already gone). */
  ids(): string[] {
    if (!existsSync(this.dir)) return [];
    return readdirSync(this.dir).filter((f) => f.endsWith('.key')).map((f) => f.slice(0, -4)).filter((id) => NAME_RE.test(id));
  }
}
