// Append-only, hash-chained audit trail (SQLite). Each entry stores the hash of the previous one
// and its own hash over (seq, at, type, actor, fields, prev), so editing, deleting or reordering
// any entry breaks the chain. Deleting the newest entries (truncating the tail) leaves a valid
// chain, so the head (seq and hash of the last entry) is also written to a separate file beside
// the database after every record: verify() compares the two. docs/audit.md.
//
// No biometric data ever: fields are flat primitives and strings are capped (AUDIT_MAX_STRING),
// so an image, a template or a key cannot be written into the trail even by mistake. No personal
// data past 24 h either: fields that would name a watchlisted person or carry an officer's free
// text (FORBIDDEN_FIELDS) are refused. An alert is referred to by its alert id, a random
// pseudonym whose only link to a person is the alert record, encrypted and crypto-shredded at
// 24 h (docs/audit.md): once the alert is purged, the audit entry names nobody.
//
// Anchoring (anchor.ts): at each deployment end the head is signed with a key derived from the
// van's private key and printed in the results report; `lfr audit verify --head VALUE` then
// detects a tail rewritten together with its head file.
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import type { Clock } from '../lifecycle.js';
import type { Config } from '../config/schema.js';
import { sha256Hex } from '../crypto/hash.js';
import { ensurePrivateFile } from '../util/files.js';
import { signAnchor, type AuditAnchor } from './anchor.js';

export type AuditValue = string | number | boolean | null;
export type AuditFields = Record<string, AuditValue>;

/** Longest string accepted in a field: ids, hashes, reasons. A base64 face crop is ~10,000+. */
export const AUDIT_MAX_STRING = 512;
const GENESIS = '0'.repeat(64);

/** Event types written by the product (others may be added; keep them in docs/audit.md). */
export type AuditType =
  | 'daemon.start' | 'daemon.stop'
  | 'deployment.start' | 'deployment.end'
  | 'watchlist.import' | 'watchlist.purge'
  | 'alert.raised' | 'alert.published' | 'alert.purged'
  | 'adjudication.recorded' | 'adjudication.rejected'
  | 'alert.note_added' | 'alert.note_refused'
  | 'retention.purge' | 'config.change' | 'cli'
  | (string & {});

export interface AuditEntry {
  seq: number;
  at: string;
  type: string;
  actor: string | null;
  fields: AuditFields;
  prev: string;
  hash: string;
}

export interface AuditProblem {
  seq: number;
  problem: string;
}

export interface AuditVerifyResult {
  ok: boolean;
  entries: number;
  head: { seq: number; hash: string } | null;
  problems: AuditProblem[];
}

/** What other parts hold: one object with record(). */
export interface AuditRecorder {
  record(type: AuditType, fields?: AuditFields, actor?: string): void;
  /** Sign the current head (deployment end); null when the log cannot be anchored (no van key). */
  anchor?(): AuditAnchor | null;
}

/** Where the audit trail of this configuration lives. */
export function auditFile(cfg: Config): string {
  return path.resolve(cfg.paths.stateDir, cfg.audit.file);
}

export function entryHash(e: Omit<AuditEntry, 'hash'>): string {
  // Canonical form: fixed key order, fields sorted by name, so the hash does not depend on how
  // a caller happened to build its object.
  const fields = Object.fromEntries(Object.keys(e.fields).sort().map((k) => [k, e.fields[k]]));
  return sha256Hex(JSON.stringify([e.seq, e.at, e.type, e.actor, fields, e.prev]));
}

/**
 * Field names the audit trail refuses: a subject reference names a person on the watchlist (it
 * lives in the encrypted alert store for 24 h, never here), and officers' notes are free text
 * that may name anyone (they belong with the alert). Compared case-insensitively, also as the
 * last part of a dotted name.
 */
export const FORBIDDEN_FIELDS = ['subjectref', 'subject', 'subjectname', 'name', 'note', 'notes', 'comment', 'freetext', 'text'];

export function checkFields(fields: AuditFields): void {
  for (const [k, v] of Object.entries(fields)) {
    if (!/^[A-Za-z][A-Za-z0-9_.]{0,63}$/.test(k)) throw new Error(`audit field name ${JSON.stringify(k)} is not allowed`);
    if (FORBIDDEN_FIELDS.includes(k.toLowerCase().split('.').pop()!)) throw new Error(`audit field ${k} is not allowed: subject references and free-text notes never go in the audit trail (they live with the alert, encrypted, 24 h)`);
    if (v !== null && !['string', 'number', 'boolean'].includes(typeof v)) throw new Error(`audit field ${k} must be a string, number, boolean or null`);
    if (typeof v === 'string' && v.length > AUDIT_MAX_STRING) throw new Error(`audit field ${k} is too long (${v.length} > ${AUDIT_MAX_STRING}): images and templates never go in the audit trail`);
    if (typeof v === 'number' && !Number.isFinite(v)) throw new Error(`audit field ${k} is not a finite number`);
  }
}

export class AuditLog implements AuditRecorder {
  private db: Database.Database | null = null;
  private last: { seq: number; hash: string } | null = null;
  readonly headFile: string;

  /** Incremental verification state (verifyIncremental). */
  private checked: { seq: number; hash: string } | null = null;
  private recheckFrom = 1;

  constructor(
    readonly file: string,
    private readonly clock: Clock,
    private readonly readonly = false,
    /** The van's private key file: the head is signed with a key derived from it at each deployment end. */
    private readonly anchorKeyFile?: string,
  ) {
    this.headFile = `${file}.head`;
  }

  open(): this {
    if (this.db) return this;
    if (!this.readonly) {
      mkdirSync(path.dirname(this.file), { recursive: true, mode: 0o700 });
      // 0600 before SQLite creates it (its -wal and -shm copy the mode): evidence, not for others.
      ensurePrivateFile(this.file);
    }
    const db = new Database(this.file, { readonly: this.readonly, fileMustExist: this.readonly });
    if (!this.readonly) {
      db.pragma('journal_mode = WAL');
      db.pragma('synchronous = FULL'); // an audit entry is evidence: durable before record() returns
      db.exec(`CREATE TABLE IF NOT EXISTS audit (
        seq INTEGER PRIMARY KEY, at TEXT NOT NULL, type TEXT NOT NULL, actor TEXT,
        fields TEXT NOT NULL, prev TEXT NOT NULL, hash TEXT NOT NULL)`);
    }
    this.db = db;
    const row = db.prepare('SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1').get() as { seq: number; hash: string } | undefined;
    this.last = row ?? null;
    return this;
  }

  close(): void {
    this.db?.close();
    this.db = null;
  }

  private get conn(): Database.Database {
    if (!this.db) throw new Error('audit log is not open');
    return this.db;
  }

  record(type: AuditType, fields: AuditFields = {}, actor?: string): void {
    checkFields(fields);
    const db = this.conn;
    // The chain's last entry is read inside the write transaction, not from a cache: the CLI
    // (`lfr alerts purge`, `lfr officers add`) appends to the same log while the daemon runs,
    // and a cached head would make the daemon's next entry collide with theirs.
    this.last = db.transaction(() => {
      const last = (db.prepare('SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1').get() as { seq: number; hash: string } | undefined) ?? null;
      const seq = (last?.seq ?? 0) + 1;
      const base = { seq, at: new Date(this.clock()).toISOString(), type, actor: actor ?? null, fields, prev: last?.hash ?? GENESIS };
      const hash = entryHash(base);
      db.prepare('INSERT INTO audit (seq, at, type, actor, fields, prev, hash) VALUES (?, ?, ?, ?, ?, ?, ?)').run(seq, base.at, type, base.actor, JSON.stringify(fields), base.prev, hash);
      return { seq, hash };
    }).immediate();
    this.writeHead();
  }

  private writeHead(): void {
    const tmp = `${this.headFile}.tmp`;
    writeFileSync(tmp, `${JSON.stringify(this.last)}\n`, { mode: 0o600, flag: 'w' });
    renameSync(tmp, this.headFile);
  }

  /** Newest first, at most `limit`. */
  list(limit = 100, type?: string): AuditEntry[] {
    const rows = (type
      ? this.conn.prepare('SELECT * FROM audit WHERE type = ? ORDER BY seq DESC LIMIT ?').all(type, limit)
      : this.conn.prepare('SELECT * FROM audit ORDER BY seq DESC LIMIT ?').all(limit)) as (Omit<AuditEntry, 'fields'> & { fields: string })[];
    return rows.map((r) => ({ ...r, fields: JSON.parse(r.fields) as AuditFields }));
  }

  count(): number {
    return (this.conn.prepare('SELECT COUNT(*) AS n FROM audit').get() as { n: number }).n;
  }

  /** Walk the whole chain; report every break, and compare the last entry with the head file. */
  verify(): AuditVerifyResult {
    const r = this.walk(0, GENESIS, 1, Number.MAX_SAFE_INTEGER);
    return this.withHead(r.problems, r.count, r.last);
  }

  /**
   * For the health loop (every 30 s on the main thread): check only what is new since the last
   * call, plus the next RECHECK_CHUNK old entries (so edits of old entries are still found, within
   * entries / RECHECK_CHUNK calls), and the head file every time. 50,000 entries took 590-660 ms
   * for a full walk; this costs a few ms. `lfr audit verify` always walks the whole chain.
   */
  verifyIncremental(): AuditVerifyResult {
    const problems: AuditProblem[] = [];
    const from = this.checked ?? { seq: 0, hash: GENESIS };
    const fresh = this.walk(from.seq, from.hash, from.seq + 1, Number.MAX_SAFE_INTEGER);
    problems.push(...fresh.problems);
    const last = fresh.last ?? (from.seq > 0 ? from : null);
    if (last && last.seq < from.seq) problems.push({ seq: last.seq, problem: 'entries already verified have disappeared' });
    // Rolling re-check of older entries: start from the entry before the window (its stored hash
    // is the window's expected prev; the window itself re-hashes every entry it reads).
    if (this.checked && this.checked.seq > 0) {
      const start = this.recheckFrom > this.checked.seq ? 1 : this.recheckFrom;
      const before = start > 1 ? (this.conn.prepare('SELECT hash FROM audit WHERE seq = ?').get(start - 1) as { hash: string } | undefined)?.hash : GENESIS;
      if (before === undefined) problems.push({ seq: start - 1, problem: 'an entry verified before is missing (deleted)' });
      else {
        const old = this.walk(start - 1, before, start, Math.min(this.checked.seq, start + RECHECK_CHUNK - 1));
        problems.push(...old.problems);
      }
      this.recheckFrom = start + RECHECK_CHUNK;
    }
    const count = this.count();
    const res = this.withHead(problems, count, last);
    if (res.ok && last) this.checked = { seq: last.seq, hash: last.hash };
    else if (!res.ok) this.checked = null; // start over next time, so the report stays complete
    return res;
  }

  /** Entries with seq in [fromSeq+1 .. toSeq], checking the chain from (prevSeq, prevHash). */
  private walk(prevSeq: number, prevHashIn: string, fromSeq: number, toSeq: number): { problems: AuditProblem[]; count: number; last: { seq: number; hash: string } | null } {
    const problems: AuditProblem[] = [];
    let prevHash = prevHashIn;
    let expectSeq = prevSeq + 1;
    let n = 0;
    let last: { seq: number; hash: string } | null = null;
    // Read in physical (rowid) order too: a reordering that swaps seq values is caught by prev.
    for (const r of this.conn.prepare('SELECT * FROM audit WHERE seq >= ? AND seq <= ? ORDER BY seq').iterate(fromSeq, toSeq) as Iterable<Omit<AuditEntry, 'fields'> & { fields: string }>) {
      n++;
      if (r.seq !== expectSeq) problems.push({ seq: r.seq, problem: `expected entry ${expectSeq} here: ${r.seq - expectSeq} entr${r.seq - expectSeq === 1 ? 'y' : 'ies'} missing or out of order` });
      let fields: AuditFields;
      try {
        fields = JSON.parse(r.fields) as AuditFields;
      } catch {
        problems.push({ seq: r.seq, problem: 'fields are not valid JSON (edited)' });
        fields = {};
      }
      if (r.prev !== prevHash) problems.push({ seq: r.seq, problem: 'does not follow the previous entry (an entry before it was deleted, inserted or reordered)' });
      if (entryHash({ seq: r.seq, at: r.at, type: r.type, actor: r.actor, fields, prev: r.prev }) !== r.hash) problems.push({ seq: r.seq, problem: 'content does not match its hash (edited)' });
      prevHash = r.hash;
      expectSeq = r.seq + 1;
      last = { seq: r.seq, hash: r.hash };
    }
    return { problems, count: n, last };
  }

  private withHead(problems: AuditProblem[], n: number, last: { seq: number; hash: string } | null): AuditVerifyResult {
    const head = readHead(this.headFile);
    if (head === 'missing') {
      if (n > 0) problems.push({ seq: last!.seq, problem: `head file ${this.headFile} is missing: truncation of the newest entries cannot be ruled out` });
    } else if (head === 'damaged') {
      problems.push({ seq: last?.seq ?? 0, problem: `head file ${this.headFile} is damaged` });
    } else if (!last || head.seq !== last.seq || head.hash !== last.hash) {
      problems.push({ seq: head.seq, problem: `the head file records entry ${head.seq} as the newest, the log ends at ${last?.seq ?? 0}: newest entries deleted or the log replaced` });
    }
    return { ok: problems.length === 0, entries: n, head: last, problems };
  }

  /** The entry with this seq (for `lfr audit verify --head`), or null. */
  entry(seq: number): AuditEntry | null {
    const r = this.conn.prepare('SELECT * FROM audit WHERE seq = ?').get(seq) as (Omit<AuditEntry, 'fields'> & { fields: string }) | undefined;
    return r ? { ...r, fields: JSON.parse(r.fields) as AuditFields } : null;
  }

  /**
   * Sign the current head with the van's anchor key (deployment end). The head covers every entry
   * before it, so a report that prints it pins the whole chain up to that moment.
   */
  anchor(): AuditAnchor | null {
    if (!this.anchorKeyFile || !this.last) return null;
    return signAnchor(this.last, this.anchorKeyFile);
  }
}

/** Old entries re-hashed per incremental call: 2,000 x ~12 us = ~25 ms at 30 s intervals. */
const RECHECK_CHUNK = 2000;

function readHead(file: string): { seq: number; hash: string } | 'missing' | 'damaged' {
  if (!existsSync(file)) return 'missing';
  try {
    const v = JSON.parse(readFileSync(file, 'utf8')) as { seq?: unknown; hash?: unknown } | null;
    if (v && typeof v.seq === 'number' && typeof v.hash === 'string') return { seq: v.seq, hash: v.hash };
  } catch {
    /* fall through */
  }
  return 'damaged';
}
