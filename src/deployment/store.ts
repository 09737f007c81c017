// Deployment records in SQLite under paths.stateDir. They outlive the deployment on purpose (the
// force publishes results days later) and hold no biometric data, so plain SQLite is right here;
// the watchlist itself lives only on tmpfs and is gone at the end.
import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { ensurePrivateFile } from '../util/files.js';
import path from 'node:path';
import type { DeploymentCounts, DeploymentRecord, DeploymentReport, EndReason } from './types.js';

const SCHEMA = `
CREATE TABLE IF NOT EXISTS deployments (
  id TEXT PRIMARY KEY,
  authorisation_ref TEXT NOT NULL,
  authorising_officer TEXT,
  operator TEXT NOT NULL,
  location TEXT NOT NULL,
  reason TEXT,
  threshold REAL NOT NULL,
  watchlist TEXT NOT NULL,
  cameras TEXT NOT NULL,
  started_at INTEGER NOT NULL,
  ends_at INTEGER NOT NULL,
  ended_at INTEGER,
  end_reason TEXT,
  counts TEXT NOT NULL,
  report TEXT,
  threshold_basis TEXT
);
-- At most one running deployment, enforced by the database rather than by care.
CREATE UNIQUE INDEX IF NOT EXISTS one_running ON deployments ((ended_at IS NULL)) WHERE ended_at IS NULL;
`;

interface Row {
  id: string;
  authorisation_ref: string;
  authorising_officer: string | null;
  operator: string;
  location: string;
  reason: string | null;
  threshold: number;
  watchlist: string;
  cameras: string;
  started_at: number;
  ends_at: number;
  ended_at: number | null;
  end_reason: string | null;
  counts: string;
  report: string | null;
  threshold_basis?: string | null;
}

const toRecord = (r: Row): DeploymentRecord => ({
  id: r.id,
  authorisationRef: r.authorisation_ref,
  authorisingOfficer: r.authorising_officer,
  operator: r.operator,
  location: r.location,
  reason: r.reason,
  threshold: r.threshold,
  thresholdBasis: r.threshold_basis ? (JSON.parse(r.threshold_basis) as DeploymentRecord['thresholdBasis']) : null,
  watchlist: JSON.parse(r.watchlist) as DeploymentRecord['watchlist'],
  cameras: JSON.parse(r.cameras) as string[],
  startedAt: r.started_at,
  endsAt: r.ends_at,
  endedAt: r.ended_at,
  endReason: r.end_reason as EndReason | null,
  counts: JSON.parse(r.counts) as DeploymentCounts,
});

export class DeploymentStore {
  private db: Database.Database | null = null;

  constructor(
    private readonly file: string,
    private readonly readonly = false,
  ) {}

  open(): this {
    if (this.db) return this;
    if (!this.readonly) {
      mkdirSync(path.dirname(this.file), { recursive: true, mode: 0o750 });
      ensurePrivateFile(this.file); // explicit 0600 (SQLite would create it 0644 & ~umask)
    }
    const db = new Database(this.file, { readonly: this.readonly, fileMustExist: this.readonly });
    if (!this.readonly) {
      db.pragma('journal_mode = WAL');
      // FULL: a deployment record must survive a power cut right after `lfr deployment start`.
      db.pragma('synchronous = FULL');
      db.exec(SCHEMA);
      // Stores made before threshold-from-FPIR lack the column.
      const cols = db.prepare('PRAGMA table_info(deployments)').all() as { name: string }[];
      if (!cols.some((c) => c.name === 'threshold_basis')) db.exec('ALTER TABLE deployments ADD COLUMN threshold_basis TEXT');
    }
    this.db = db;
    return this;
  }

  close(): void {
    this.db?.close();
    this.db = null;
  }

  private get d(): Database.Database {
    if (!this.db) throw new Error('deployment store is not open');
    return this.db;
  }

  insert(r: DeploymentRecord): void {
    this.d
      .prepare(
        `INSERT INTO deployments (id, authorisation_ref, authorising_officer, operator, location, reason, threshold, threshold_basis, watchlist, cameras, started_at, ends_at, counts)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      )
      .run(r.id, r.authorisationRef, r.authorisingOfficer, r.operator, r.location, r.reason, r.threshold, r.thresholdBasis ? JSON.stringify(r.thresholdBasis) : null, JSON.stringify(r.watchlist), JSON.stringify(r.cameras), r.startedAt, r.endsAt, JSON.stringify(r.counts));
  }

  running(): DeploymentRecord | null {
    const row = this.d.prepare('SELECT * FROM deployments WHERE ended_at IS NULL').get() as Row | undefined;
    return row ? toRecord(row) : null;
  }

  get(id: string): DeploymentRecord | null {
    const row = this.d.prepare('SELECT * FROM deployments WHERE id = ?').get(id) as Row | undefined;
    return row ? toRecord(row) : null;
  }

  checkpoint(id: string, counts: DeploymentCounts): void {
    this.d.prepare('UPDATE deployments SET counts = ? WHERE id = ? AND ended_at IS NULL').run(JSON.stringify(counts), id);
  }

  finish(id: string, endedAt: number, reason: EndReason, counts: DeploymentCounts, report: DeploymentReport): void {
    this.d
      .prepare('UPDATE deployments SET ended_at = ?, end_reason = ?, counts = ?, report = ? WHERE id = ? AND ended_at IS NULL')
      .run(endedAt, reason, JSON.stringify(counts), JSON.stringify(report), id);
  }

  report(id: string): DeploymentReport | null {
    const row = this.d.prepare('SELECT report FROM deployments WHERE id = ?').get(id) as { report: string | null } | undefined;
    return row?.report ? (JSON.parse(row.report) as DeploymentReport) : null;
  }

  /** Most recent first. */
  list(limit = 20): DeploymentRecord[] {
    return (this.d.prepare('SELECT * FROM deployments ORDER BY started_at DESC LIMIT ?').all(limit) as Row[]).map(toRecord);
  }
}

/** Where the records live: deployment.file, relative to paths.stateDir unless absolute. */
export const deploymentsFile = (cfg: { paths: { stateDir: string }; deployment: { file: string } }): string => path.resolve(cfg.paths.stateDir, cfg.deployment.file);
