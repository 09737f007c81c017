// The van's small record of the bundles it has imported (bundle id, build time, first import,
// whether its deployment ended): no personal data, kept on disk in paths.stateDir because its
// whole point is to survive a power cut (the watchlist itself, on tmpfs, does not). Read and
// rewritten whole (a few hundred bytes per bundle; entries drop out after 96 h, lifetime.ts),
// atomically, mode 0600. The decisions are in lifetime.ts (admitBundle); this file only stores.
import { chownSync, closeSync, mkdirSync, fsyncSync, openSync, readFileSync, renameSync, statSync, writeSync, constants as FS } from 'node:fs';
import path from 'node:path';
import { recordPrunable, type ImportRecord } from './lifetime.js';

export const REGISTRY_FILE = 'watchlist-imports.json';

export class RegistryError extends Error {
  override name = 'RegistryError';
}

export class ImportRegistry {
  constructor(readonly file: string) {}

  static forStateDir(stateDir: string): ImportRegistry {
    return new ImportRegistry(path.resolve(stateDir, REGISTRY_FILE));
  }

  private read(): ImportRecord[] {
    let text: string;
    try {
      text = readFileSync(this.file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw new RegistryError(`the van's record of imported bundles (${this.file}) cannot be read: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
    }
    try {
      const v = JSON.parse(text) as { schema?: number; bundles?: ImportRecord[] };
      if (v.schema === 1 && Array.isArray(v.bundles) && v.bundles.every((b) => typeof b?.bundleId === 'string' && typeof b.firstImportedAt === 'string')) return v.bundles;
    } catch {
      /* fall through */
    }
    // Refuse rather than forget: a damaged record would let an old bundle be imported as new.
    throw new RegistryError(`the van's record of imported bundles (${this.file}) is damaged: imports are refused until a technician removes it (every bundle older than ${72} h is refused anyway)`);
  }

  get(bundleId: string): ImportRecord | null {
    return this.read().find((b) => b.bundleId === bundleId) ?? null;
  }

  /** Record a first import (no-op when the id is known), pruning entries that no longer matter. */
  noteImport(r: Omit<ImportRecord, 'endedAt'>, now: number): void {
    const all = this.read().filter((b) => !recordPrunable(b, now));
    if (!all.some((b) => b.bundleId === r.bundleId)) all.push({ ...r, endedAt: null });
    this.write(all);
  }

  /** The deployment that used this bundle ended: never load it again. */
  markEnded(bundleId: string, at: number): void {
    const all = this.read();
    const b = all.find((x) => x.bundleId === bundleId);
    if (!b || b.endedAt) return;
    b.endedAt = new Date(at).toISOString();
    this.write(all);
  }

  private write(bundles: ImportRecord[]): void {
    mkdirSync(path.dirname(this.file), { recursive: true, mode: 0o700 });
    const tmp = `${this.file}.tmp`;
    const fd = openSync(tmp, FS.O_WRONLY | FS.O_CREAT | FS.O_TRUNC | FS.O_NOFOLLOW, 0o600);
    try {
      writeSync(fd, `${JSON.stringify({ schema: 1, bundles }, null, 1)}\n`);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    // A root-run CLI import on a stopped van must not leave a file the daemon (lfr) cannot update.
    if (process.getuid?.() === 0) {
      const dir = statSync(path.dirname(this.file));
      chownSync(tmp, dir.uid, dir.gid);
    }
    renameSync(tmp, this.file);
  }
}
