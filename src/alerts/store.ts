// The encrypted alert store and outbox (SQLite, better-sqlite3). One row per alert: clear columns
// needed to order, list, publish and purge (id, deployment, camera, category, times, score,
// publication and decision state: nothing that shows or names a person), one AEAD blob holding the
// content (subject reference, reason, images) and one holding officers' notes, both under the
// alert's own key (src/crypto/alert-keys.ts). The row is written BEFORE publication; `seq` gives
// the outbox its order.
//
// Irretrievable deletion: secure_delete=ON overwrites freed pages with zeros, the WAL is
// checkpointed and truncated after each purge, and the alert's key is destroyed, so a stale copy
// of the ciphertext anywhere (free disk blocks, a backup) cannot be opened.
import { mkdirSync } from 'node:fs';
import { ensurePrivateFile } from '../util/files.js';
import { aheadCutoff } from '../retention/policy.js';
import path from 'node:path';
import Database from 'better-sqlite3';
import { seal, open } from '../crypto/aead.js';
import type { AlertKeyStore } from '../crypto/alert-keys.js';
import type { AdjudicationOutcome, AlertNote, EngagementOutcome } from '../mqtt/topics.js';
import type { SealedContent } from './content.js';

export interface AlertRow {
  seq: number;
  id: string;
  deploymentId: string | null;
  camera: string;
  category: string;
  capturedAt: number;
  raisedAt: number;
  expiresAt: number;
  likelihood: number;
  threshold: number;
  publishedAt: number | null;
  outcome: AdjudicationOutcome | null;
  officerId: string | null;
  decidedAt: string | null;
  engagement: EngagementOutcome | null;
  engagementOfficer: string | null;
  /** A later sighting of a person closed in this deployment: the alert that closed them. */
  repeatOf: string | null;
}

/** The clear fields of a new alert. */
export type NewAlert = Pick<AlertRow, 'id' | 'deploymentId' | 'camera' | 'category' | 'capturedAt' | 'raisedAt' | 'expiresAt' | 'likelihood' | 'threshold'> & { repeatOf?: string | null };

interface DbRow {
  seq: number;
  id: string;
  deployment_id: string | null;
  camera: string;
  category: string;
  captured_at: number;
  raised_at: number;
  expires_at: number;
  likelihood: number;
  threshold: number;
  published_at: number | null;
  outcome: string | null;
  officer_id: string | null;
  decided_at: string | null;
  engagement: string | null;
  engagement_officer: string | null;
  repeat_of: string | null;
}

const toRow = (r: DbRow): AlertRow => ({
  seq: r.seq,
  id: r.id,
  deploymentId: r.deployment_id,
  camera: r.camera,
  category: r.category,
  capturedAt: r.captured_at,
  raisedAt: r.raised_at,
  expiresAt: r.expires_at,
  likelihood: r.likelihood,
  threshold: r.threshold,
  publishedAt: r.published_at,
  outcome: r.outcome as AdjudicationOutcome | null,
  officerId: r.officer_id,
  decidedAt: r.decided_at,
  engagement: r.engagement as EngagementOutcome | null,
  engagementOfficer: r.engagement_officer,
  repeatOf: r.repeat_of,
});

const COLS = 'seq, id, deployment_id, camera, category, captured_at, raised_at, expires_at, likelihood, threshold, published_at, outcome, officer_id, decided_at, engagement, engagement_officer, repeat_of';
const adContent = (id: string) => `alerts:${id}:content`;
const adNotes = (id: string) => `alerts:${id}:notes`;
/** Schema version (PRAGMA user_version). Alerts of an older layout are shredded on open. */
const STORE_VERSION = 3; // 3: repeat_of (later sightings of a person closed in the deployment)

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
      const version = db.pragma('user_version', { simple: true }) as number;
      if (version !== STORE_VERSION) {
        // An older layout (alerts are at most 24 h old, so this is a fresh upgrade): shred them
        // all rather than migrate personal data between formats.
        const old = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'alerts'").get()
          ? (db.prepare('SELECT id FROM alerts').all() as { id: string }[])
          : [];
        db.exec('DROP TABLE IF EXISTS alerts');
        for (const r of old) this.keys.destroy(r.id);
      }
      db.exec(`CREATE TABLE IF NOT EXISTS alerts (
        seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL UNIQUE, deployment_id TEXT,
        camera TEXT NOT NULL, category TEXT NOT NULL, captured_at INTEGER NOT NULL,
        raised_at INTEGER NOT NULL, expires_at INTEGER NOT NULL, likelihood REAL NOT NULL,
        threshold REAL NOT NULL, published_at INTEGER, outcome TEXT, officer_id TEXT,
        decided_at TEXT, engagement TEXT, engagement_officer TEXT, repeat_of TEXT,
        sealed BLOB NOT NULL, notes BLOB);
        CREATE INDEX IF NOT EXISTS alerts_expiry ON alerts (expires_at);
        CREATE INDEX IF NOT EXISTS alerts_outbox ON alerts (published_at, seq);`);
      db.pragma(`user_version = ${STORE_VERSION}`);
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

  /** Encrypt the content under a fresh per-alert key and insert (durable when this returns). */
  insert(a: NewAlert, content: SealedContent): void {
    const key = this.keys.create(a.id);
    const plain = Buffer.from(JSON.stringify(content), 'utf8');
    try {
      const sealed = seal(key, plain, adContent(a.id));
      this.conn
        .prepare('INSERT INTO alerts (id, deployment_id, camera, category, captured_at, raised_at, expires_at, likelihood, threshold, repeat_of, sealed) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)')
        .run(a.id, a.deploymentId, a.camera, a.category, a.capturedAt, a.raisedAt, a.expiresAt, a.likelihood, a.threshold, a.repeatOf ?? null, sealed);
    } catch (err) {
      this.keys.destroy(a.id);
      throw err;
    } finally {
      plain.fill(0);
      key.destroy();
    }
  }

  private openBlob(id: string, column: 'sealed' | 'notes', ad: string): Buffer | null {
    const r = this.conn.prepare(`SELECT ${column} AS b FROM alerts WHERE id = ?`).get(id) as { b: Buffer | null } | undefined;
    if (!r?.b) return null;
    const key = this.keys.load(id);
    if (!key) return null;
    try {
      return open(key, r.b, ad);
    } finally {
      key.destroy();
    }
  }

  /**
   * The decrypted content as JSON bytes (a SealedContent object), or null when the row or its key
   * is gone (shredded). The caller wipes the buffer when done with it.
   */
  contentJson(id: string): Buffer | null {
    return this.openBlob(id, 'sealed', adContent(id));
  }

  /** The decrypted content, parsed (for the CLI and tests). */
  content(id: string): SealedContent | null {
    const b = this.contentJson(id);
    if (!b) return null;
    try {
      return JSON.parse(b.toString('utf8')) as SealedContent;
    } finally {
      b.fill(0);
    }
  }

  notes(id: string): AlertNote[] {
    const b = this.openBlob(id, 'notes', adNotes(id));
    if (!b) return [];
    try {
      return JSON.parse(b.toString('utf8')) as AlertNote[];
    } finally {
      b.fill(0);
    }
  }

  /** Append an officer's note, sealed under the alert's key (gone with the alert). */
  addNote(id: string, note: AlertNote): boolean {
    const key = this.keys.load(id);
    if (!key) return false;
    const plain = Buffer.from(JSON.stringify([...this.notes(id), note]), 'utf8');
    try {
      return this.conn.prepare('UPDATE alerts SET notes = ? WHERE id = ?').run(seal(key, plain, adNotes(id)), id).changes === 1;
    } finally {
      plain.fill(0);
      key.destroy();
    }
  }

  get(id: string): AlertRow | null {
    const r = this.conn.prepare(`SELECT ${COLS} FROM alerts WHERE id = ?`).get(id) as DbRow | undefined;
    return r ? toRow(r) : null;
  }

  /** Newest first. */
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

  /** Alerts whose engagement closed a person (the subjects are read from their sealed content). */
  closing(engagements: readonly string[]): AlertRow[] {
    if (!engagements.length) return [];
    return (this.conn.prepare(`SELECT ${COLS} FROM alerts WHERE outcome = 'confirmed_match' AND engagement IN (${engagements.map(() => '?').join(', ')}) ORDER BY seq`).all(...engagements) as DbRow[]).map(toRow);
  }

  /** Record the first decision; returns false when the alert already has one. */
  adjudicate(id: string, outcome: AdjudicationOutcome, officerId: string, decidedAt: string, engagement: EngagementOutcome | null = null): boolean {
    return (
      this.conn
        .prepare('UPDATE alerts SET outcome = ?, officer_id = ?, decided_at = ?, engagement = ?, engagement_officer = ? WHERE id = ? AND outcome IS NULL')
        .run(outcome, officerId, decidedAt, engagement, engagement ? officerId : null, id).changes === 1
    );
  }

  /** Record what happened after a confirmed match (once). */
  engage(id: string, engagement: EngagementOutcome, officerId: string): boolean {
    return this.conn.prepare("UPDATE alerts SET engagement = ?, engagement_officer = ? WHERE id = ? AND outcome = 'confirmed_match' AND engagement IS NULL").run(engagement, officerId, id).changes === 1;
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
      : db.prepare('SELECT id FROM alerts WHERE expires_at <= ? OR captured_at <= ? OR captured_at > ?').all(now, now - maxAgeMs, aheadCutoff(now))) as { id: string }[];
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
