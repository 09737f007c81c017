// The van's ONE record of the bundles it has imported and ended (bundle id, build time, first
// import, end): no personal data, in paths.stateDir because it must survive a power cut (the
// watchlist itself, on tmpfs, does not). It is what makes "a watchlist lives 24 h from its first
// import here, and never runs again after its deployment" hold against someone with root, so:
//   - it is MACed with a key derived from the van's PRIVATE key (crypto/van-derived.ts): an
//     edited or forged record fails authentication;
//   - each write bumps `generation` and is audited (watchlist.record_written); an authentic but
//     OLDER copy put back (a rollback to before a bundle was marked ended) is caught by comparing
//     with the last audited generation, and the audit chain itself is pinned outside the van by the
//     signed heads the tablets and reports keep (docs/audit.md);
//   - a missing, damaged or rolled-back record is never "forgotten": it is replaced by an empty
//     one whose `since` is now, and every bundle BUILT before `since` that the record does not name
//     is refused (a new bundle from the station works); the loss is audited (watchlist.record_lost);
//   - the daemon checks it at import AND whenever it opens a store (holder.ts): a store of an ended
//     bundle, or of a bundle this record does not name, is refused and purged.
// Read and rewritten whole (a few hundred bytes per bundle; entries drop out after 96 h), atomically,
// mode 0600. File: {"body": "<json>", "mac": "<hex>"}; the MAC is over the exact body string.
import { chownSync, closeSync, mkdirSync, fsyncSync, openSync, readFileSync, renameSync, statSync, writeSync, constants as FS } from 'node:fs';
import { timingSafeEqual } from 'node:crypto';
import path from 'node:path';
import type { BoxKeyPair } from '../crypto/box.js';
import { importRecordMacKey, mac } from '../crypto/van-derived.js';
import { recordPrunable, type ImportRecord } from './lifetime.js';

export const RECORD_FILE = 'watchlist-imports.json';
const MAC_LABEL = 'lfr-watchlist-import-record/2';

export interface RecordBody {
  schema: 2;
  /** Bumped by every write; audited, so an older authentic copy put back is recognised. */
  generation: number;
  /** ISO time from which this record knows every import: bundles built before it and not named here are refused. */
  since: string;
  bundles: ImportRecord[];
}

export type RecordLoss = 'missing' | 'damaged' | 'forged' | 'rolled_back';

/** What the record reports (the daemon audits these; never personal data). */
export type RecordEvent =
  | { type: 'watchlist.record_written'; generation: number; bundles: number; since: string; change: 'created' | 'import' | 'ended' | 'replaced' }
  | { type: 'watchlist.record_lost'; reason: RecordLoss; message: string; since: string };

export interface VanRecordDeps {
  clock: () => number;
  /** The generation of the last audited write (audit log), or null when none was ever audited. */
  lastAuditedGeneration?: () => number | null;
  onEvent?: (e: RecordEvent) => void;
}

/** Seal a body with the van's record key: the file's whole text. Pure (given the key pair). */
export function sealRecord(body: RecordBody, van: BoxKeyPair): string {
  const text = JSON.stringify(body);
  const key = importRecordMacKey(van);
  try {
    return `${JSON.stringify({ body: text, mac: mac(key, [MAC_LABEL, text]).toString('hex') })}\n`;
  } finally {
    key.destroy();
  }
}

/** Verify and parse a record file's text; a plain reason when it is not an authentic record. */
export function openRecord(text: string, van: BoxKeyPair): { ok: true; body: RecordBody } | { ok: false; reason: 'damaged' | 'forged'; message: string } {
  let outer: { body?: unknown; mac?: unknown };
  try {
    outer = JSON.parse(text) as { body?: unknown; mac?: unknown };
  } catch {
    return { ok: false, reason: 'damaged', message: 'it is not JSON' };
  }
  if (typeof outer?.body !== 'string' || typeof outer.mac !== 'string' || !/^[0-9a-f]{64}$/.test(outer.mac)) return { ok: false, reason: 'forged', message: 'it carries no authentication tag (an old unauthenticated record, or written by hand)' };
  const key = importRecordMacKey(van);
  let expected: Buffer;
  try {
    expected = mac(key, [MAC_LABEL, outer.body]);
  } finally {
    key.destroy();
  }
  if (!timingSafeEqual(expected, Buffer.from(outer.mac, 'hex'))) return { ok: false, reason: 'forged', message: "it failed authentication (edited, or not written with this van's key)" };
  try {
    const b = JSON.parse(outer.body) as RecordBody;
    if (b.schema === 2 && Number.isSafeInteger(b.generation) && Number.isFinite(Date.parse(b.since)) && Array.isArray(b.bundles) && b.bundles.every((x) => typeof x?.bundleId === 'string' && typeof x.firstImportedAt === 'string')) return { ok: true, body: b };
  } catch {
    /* fall through */
  }
  return { ok: false, reason: 'damaged', message: 'its content is malformed' };
}

/** The generation a `watchlist.record_written` audit entry names (the rollback check's input). */
export function recordGeneration(e: { fields: Record<string, unknown> } | undefined): number | null {
  const g = e?.fields.generation;
  return typeof g === 'number' ? g : null;
}

export class RecordError extends Error {
  override name = 'RecordError';
}

export class VanRecord {
  constructor(
    readonly file: string,
    private readonly van: BoxKeyPair,
    private readonly d: VanRecordDeps,
  ) {}

  static forStateDir(stateDir: string, van: BoxKeyPair, d: VanRecordDeps): VanRecord {
    return new VanRecord(path.resolve(stateDir, RECORD_FILE), van, d);
  }

  /**
   * The authentic record. Missing (when a write was ever audited), damaged, forged or rolled back:
   * replaced now by an empty record whose `since` is now, and the loss audited; missing on a van
   * that never audited a write (first start): created empty, `since` 1970, audited as created.
   */
  load(): RecordBody {
    let text: string | null = null;
    try {
      text = readFileSync(this.file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw new RecordError(`the van's record of imported bundles (${this.file}) cannot be read: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
    }
    const audited = this.d.lastAuditedGeneration?.() ?? null;
    if (text === null) {
      if (audited === null) return this.fresh(audited, null);
      return this.fresh(audited, { reason: 'missing', message: `the record was deleted (the audit trail shows generation ${audited} was written)` });
    }
    const r = openRecord(text, this.van);
    if (!r.ok) return this.fresh(audited, { reason: r.reason, message: r.message });
    if (audited !== null && r.body.generation < audited) return this.fresh(audited, { reason: 'rolled_back', message: `an older copy was put back (generation ${r.body.generation}; the audit trail shows ${audited} was written)` });
    return r.body;
  }

  get(bundleId: string): ImportRecord | null {
    return this.load().bundles.find((b) => b.bundleId === bundleId) ?? null;
  }

  /** Record a first import (no-op when the id is known), pruning entries that no longer matter. */
  noteImport(r: Omit<ImportRecord, 'endedAt'>, now: number): void {
    const body = this.load();
    if (body.bundles.some((b) => b.bundleId === r.bundleId)) return;
    body.bundles = body.bundles.filter((b) => !recordPrunable(b, now));
    body.bundles.push({ ...r, endedAt: null });
    this.write(body, 'import');
  }

  /**
   * The deployment that used this bundle ended: it is never loaded again. Idempotent. A bundle the
   * record does not name (imported before a loss) is added as ended, so it stays refused even if
   * it was built after `since`.
   */
  markEnded(bundleId: string, at: number, bundleCreatedAt?: string): void {
    const body = this.load();
    const b = body.bundles.find((x) => x.bundleId === bundleId);
    if (b?.endedAt) return;
    const endedAt = new Date(at).toISOString();
    if (b) b.endedAt = endedAt;
    else body.bundles.push({ bundleId, bundleCreatedAt: bundleCreatedAt ?? endedAt, firstImportedAt: endedAt, endedAt });
    this.write(body, 'ended');
  }

  private fresh(audited: number | null, loss: { reason: RecordLoss; message: string } | null): RecordBody {
    // A first record (nothing was ever audited as written: a new van, a station's test bench)
    // knows of no earlier import, so it refuses nothing for its age; a replacement after a loss
    // starts now and refuses what was built before.
    const since = new Date(loss ? this.d.clock() : 0).toISOString();
    const body: RecordBody = { schema: 2, generation: audited ?? 0, since, bundles: [] };
    if (loss) this.d.onEvent?.({ type: 'watchlist.record_lost', reason: loss.reason, message: `the van's record of imported bundles ${loss.message}: every bundle built before ${since} that it does not name is refused from now on (build a new bundle at the station)`, since });
    this.write(body, loss ? 'replaced' : 'created');
    return body;
  }

  private write(body: RecordBody, change: 'created' | 'import' | 'ended' | 'replaced'): void {
    body.generation += 1;
    mkdirSync(path.dirname(this.file), { recursive: true, mode: 0o700 });
    const tmp = `${this.file}.tmp`;
    const fd = openSync(tmp, FS.O_WRONLY | FS.O_CREAT | FS.O_TRUNC | FS.O_NOFOLLOW, 0o600);
    try {
      writeSync(fd, sealRecord(body, this.van));
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
    this.d.onEvent?.({ type: 'watchlist.record_written', generation: body.generation, bundles: body.bundles.length, since: body.since, change });
  }
}
