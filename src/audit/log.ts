// Append-only, hash-chained audit trail (SQLite). Each entry stores the hash of the previous one
// and its own hash over (seq, at, type, actor, fields, prev), so editing, deleting or reordering
// any entry breaks the chain. Deleting the newest entries (truncating the tail) leaves a valid
// chain, so the head (seq and hash of the last entry) is also written to a separate file beside
// the database after every record: verify() compares the two. docs/audit.md.
//
// No biometric data ever: fields are flat primitives and strings are capped (AUDIT_MAX_STRING),
// so an image, a template or a key cannot be written into the trail even by mistake.
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import type { Clock } from '../lifecycle.js';
import type { Config } from '../config/schema.js';
import { sha256Hex } from '../crypto/hash.js';

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

export function checkFields(fields: AuditFields): void {
  for (const [k, v] of Object.entries(fields)) {
    if (!/^[A-Za-z][A-Za-z0-9_.]{0,63}$/.test(k)) throw new Error(`audit field name ${JSON.stringify(k)} is not allowed`);
    if (v !== null && !['string', 'number', 'boolean'].includes(typeof v)) throw new Error(`audit field ${k} must be a string, number, boolean or null`);
    if (typeof v === 'string' && v.length > AUDIT_MAX_STRING) throw new Error(`audit field ${k} is too long (${v.length} > ${AUDIT_MAX_STRING}): images and templates never go in the audit trail`);
    if (typeof v === 'number' && !Number.isFinite(v)) throw new Error(`audit field ${k} is not a finite number`);
  }
}

export class AuditLog implements AuditRecorder {
  private db: Database.Database | null = null;
  private last: { seq: number; hash: string } | null = null;
  readonly headFile: string;

  constructor(
    readonly file: string,
    private readonly clock: Clock,
    private readonly readonly = false,
  ) {
    this.headFile = `${file}.head`;
  }

  open(): this {
    if (this.db) return this;
    if (!this.readonly) mkdirSync(path.dirname(this.file), { recursive: true, mode: 0o700 });
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
    writeFileSync(tmp, `${JSON.stringify(this.last)}\n`, { mode: 0o600 });
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
    const problems: AuditProblem[] = [];
    let prevHash = GENESIS;
    let expectSeq = 1;
    let n = 0;
    let last: { seq: number; hash: string } | null = null;
    // Read in physical (rowid) order too: a reordering that swaps seq values is caught by prev.
    for (const r of this.conn.prepare('SELECT * FROM audit ORDER BY seq').iterate() as Iterable<Omit<AuditEntry, 'fields'> & { fields: string }>) {
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
}

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
