// The encrypted alert store and outbox (SQLite, better-sqlite3). One row per alert: a few clear
// columns needed to order, list and purge (id, camera, times, score, publication and
// adjudication state: no personal data), and one AEAD blob holding the whole alert payload
// (subject reference, images) under the alert's own key (src/crypto/alert-keys.ts). The row is
// written BEFORE publication; `seq` gives the outbox its order.
//
// Irretrievable deletion: secure_delete=ON overwrites freed pages with zeros, the WAL is
// checkpointed and truncated after each purge, and the alert's key is destroyed, so a stale copy
// of the ciphertext anywhere (free disk blocks, a backup) cannot be opened.
import { mkdirSync } from 'node:fs';
import { ensurePrivateFile } from '../util/files.js';
import path from 'node:path';
import Database from 'better-sqlite3';
import { seal, open } from '../crypto/aead.js';
import type { AlertKeyStore } from '../crypto/alert-keys.js';
import type { AdjudicationOutcome, AlertPayload } from '../mqtt/topics.js';

export interface AlertRow {
  seq: number;
  id: string;
  camera: string;
  capturedAt: number;
  expiresAt: number;
  likelihood: number;
  threshold: number;
  publishedAt: number | null;
  outcome: AdjudicationOutcome | null;
  officerId: string | null;
  decidedAt: string | null;
}

interface DbRow {
  seq: number;
  id: string;
  camera: string;
  captured_at: number;
  expires_at: number;
  likelihood: number;
  threshold: number;
  published_at: number | null;
  outcome: string | null;
  officer_id: string | null;
  decided_at: string | null;
  sealed?: Buffer;
}

const toRow = (r: DbRow): AlertRow => ({
  seq: r.seq,
  id: r.id,
  camera: r.camera,
  capturedAt: r.captured_at,
  expiresAt: r.expires_at,
  likelihood: r.likelihood,
  threshold: r.threshold,
  publishedAt: r.published_at,
  outcome: r.outcome as AdjudicationOutcome | null,
  officerId: r.officer_id,
  decidedAt: r.decided_at,
});

const COLS = 'seq, id, camera, captured_at, expires_at, likelihood, threshold, published_at, outcome, officer_id, decided_at';
const ad = (id: string) => `alerts:${id}:payload`;

export class AlertStore {
  private db: Database.Database | null = null;

  constructor(
    readonly file: string,
    readonly keys: AlertKeyStore,
    private readonly readonly = false,
  ) {}

  open(): this {
    if (this.db) return this;
    if (!this.readonly) {
      mkdirSync(path.dirname(this.file), { recursive: true, mode: 0o700 });
      this.keys.ensureDir();
      ensurePrivateFile(this.file); // explicit 0600 (SQLite would create it 0644 & ~umask)
    }
    const db = new Database(this.file, { readonly: this.readonly, fileMustExist: this.readonly });
    db.pragma('secure_delete = ON');
    db.pragma('busy_timeout = 5000'); // the CLI (lfr alerts purge) may write while the daemon runs
    if (!this.readonly) {
      db.pragma('journal_mode = WAL');
      db.pragma('synchronous = FULL'); // raise() resolves only once the alert is durable
      db.exec(`CREATE TABLE IF NOT EXISTS alerts (
        seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL UNIQUE, camera TEXT NOT NULL,
        captured_at INTEGER NOT NULL, expires_at INTEGER NOT NULL, likelihood REAL NOT NULL,
        threshold REAL NOT NULL, published_at INTEGER, outcome TEXT, officer_id TEXT,
        decided_at TEXT, sealed BLOB NOT NULL);
        CREATE INDEX IF NOT EXISTS alerts_expiry ON alerts (expires_at);
        CREATE INDEX IF NOT EXISTS alerts_outbox ON alerts (published_at, seq);`);
    }
    this.db = db;
    return this;
  }

  close(): void {
    this.db?.close();
    this.db = null;
  }

  private get conn(): Database.Database {
    if (!this.db) throw new Error('alert store is not open');
    return this.db;
  }

  /** Encrypt under a fresh per-alert key and insert (durable when this returns). */
  insert(payload: AlertPayload, capturedAt: number, expiresAt: number): void {
    const key = this.keys.create(payload.alertId);
    const plain = Buffer.from(JSON.stringify(payload), 'utf8');
    try {
      const sealed = seal(key, plain, ad(payload.alertId));
      this.conn
        .prepare('INSERT INTO alerts (id, camera, captured_at, expires_at, likelihood, threshold, sealed) VALUES (?, ?, ?, ?, ?, ?, ?)')
        .run(payload.alertId, payload.camera, capturedAt, expiresAt, payload.likelihood, payload.threshold, sealed);
    } catch (err) {
      this.keys.destroy(payload.alertId);
      throw err;
    } finally {
      plain.fill(0);
      key.destroy();
    }
  }

  /** The decrypted payload, or null when the row or its key is gone (shredded). */
  payload(id: string): AlertPayload | null {
    const r = this.conn.prepare('SELECT sealed FROM alerts WHERE id = ?').get(id) as { sealed: Buffer } | undefined;
    if (!r) return null;
    const key = this.keys.load(id);
    if (!key) return null;
    try {
      const plain = open(key, r.sealed, ad(id));
      try {
        return JSON.parse(plain.toString('utf8')) as AlertPayload;
      } finally {
        plain.fill(0);
      }
    } finally {
      key.destroy();
    }
  }

  get(id: string): AlertRow | null {
    const r = this.conn.prepare(`SELECT ${COLS} FROM alerts WHERE id = ?`).get(id) as DbRow | undefined;
    return r ? toRow(r) : null;
  }

  list(limit = 1000): AlertRow[] {
    return (this.conn.prepare(`SELECT ${COLS} FROM alerts ORDER BY seq DESC LIMIT ?`).all(limit) as DbRow[]).map(toRow);
  }

  /** Unpublished alerts in outbox order, after `afterSeq`. */
  pending(afterSeq: number, limit: number): AlertRow[] {
    return (this.conn.prepare(`SELECT ${COLS} FROM alerts WHERE published_at IS NULL AND seq > ? ORDER BY seq LIMIT ?`).all(afterSeq, limit) as DbRow[]).map(toRow);
  }

  pendingCount(): number {
    return (this.conn.prepare('SELECT COUNT(*) AS n FROM alerts WHERE published_at IS NULL').get() as { n: number }).n;
  }

  count(): number {
    return (this.conn.prepare('SELECT COUNT(*) AS n FROM alerts').get() as { n: number }).n;
  }

  markPublished(id: string, at: number): void {
    this.conn.prepare('UPDATE alerts SET published_at = ? WHERE id = ? AND published_at IS NULL').run(at, id);
  }

  /** Record the first decision; returns false when the alert already has one. */
  adjudicate(id: string, outcome: AdjudicationOutcome, officerId: string, decidedAt: string): boolean {
    return this.conn.prepare('UPDATE alerts SET outcome = ?, officer_id = ?, decided_at = ? WHERE id = ? AND outcome IS NULL').run(outcome, officerId, decidedAt, id).changes === 1;
  }

  nextExpiry(): number | null {
    const r = this.conn.prepare('SELECT MIN(expires_at) AS e FROM alerts').get() as { e: number | null };
    return r.e;
  }

  /**
   * Delete rows due at `now` (expired, older than `maxAgeMs` under the policy in force now, or
   * with a capture time implausibly far ahead: see retention/policy.ts shouldPurge), destroy
   * their keys, and destroy keys without a row (a crash between the two). `all` purges everything
   * (`lfr alerts purge --all`). Returns the deleted ids.
   */
  purge(now: number, maxAgeMs: number, all = false): { ids: string[]; orphanKeys: number } {
    const db = this.conn;
    const due = (all
      ? db.prepare('SELECT id FROM alerts').all()
      : db.prepare('SELECT id FROM alerts WHERE expires_at <= ? OR captured_at <= ? OR captured_at > ?').all(now, now - maxAgeMs, now + maxAgeMs)) as { id: string }[];
    const ids = due.map((r) => r.id);
    if (ids.length) {
      const del = db.prepare('DELETE FROM alerts WHERE id = ?');
      db.transaction(() => {
        for (const id of ids) del.run(id);
      })();
      // Move the zeroed pages into the main file and cut the WAL to zero bytes, so no copy of
      // the old page images stays in alerts.db-wal.
      db.pragma('wal_checkpoint(TRUNCATE)');
    }
    for (const id of ids) this.keys.destroy(id);
    const live = new Set((db.prepare('SELECT id FROM alerts').all() as { id: string }[]).map((r) => r.id));
    let orphanKeys = 0;
    for (const id of this.keys.ids()) if (!live.has(id) && this.keys.destroy(id)) orphanKeys++;
    return { ids, orphanKeys };
  }

  /** Rows whose key is gone (power cut wiped tmpfs): unreadable, so delete them now. */
  dropKeyless(): string[] {
    const rows = this.conn.prepare('SELECT id FROM alerts').all() as { id: string }[];
    const gone = rows.map((r) => r.id).filter((id) => !this.keys.has(id));
    if (gone.length) {
      const del = this.conn.prepare('DELETE FROM alerts WHERE id = ?');
      this.conn.transaction(() => {
        for (const id of gone) del.run(id);
      })();
      this.conn.pragma('wal_checkpoint(TRUNCATE)');
    }
    return gone;
  }
}
