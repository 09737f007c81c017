// Deployment records in SQLite under paths.stateDir. They outlive the deployment on purpose (the
// force publishes results days later) and hold no biometric data, so plain SQLite is right here;
// the watchlist itself lives only on tmpfs and is gone at the end.
//
// Three tables: the deployments; their alerts as the results report counts them (the ledger: id,
// camera, time, the decision and what happened; no subject, no officer, no image, so it can be
// kept with the record after the alerts themselves are purged at 24 h); and every version of
// every results report (a late decision regenerates the report; published versions stay).
import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { ensurePrivateFile } from '../util/files.js';
import path from 'node:path';
import { ZERO_COUNTS, ZERO_ENGAGEMENTS, type DeploymentCounts, type DeploymentRecord, type DeploymentReport, type EndReason, type LedgerAlert, type NotCovered, type PhotoCheckRecord } from './types.js';
import type { UptimeState } from './uptime.js';
import type { AdjudicationOutcome, EngagementOutcome } from '../mqtt/topics.js';
import type { EquitabilityRecord } from '../match/equitability.js';

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
CREATE TABLE IF NOT EXISTS deployment_alerts (
  alert_id TEXT PRIMARY KEY,
  deployment_id TEXT NOT NULL,
  camera TEXT NOT NULL,
  captured_at INTEGER NOT NULL,
  outcome TEXT,
  engagement TEXT,
  decided_at INTEGER,
  late INTEGER NOT NULL DEFAULT 0,
  repeat_of TEXT
);
CREATE INDEX IF NOT EXISTS deployment_alerts_dep ON deployment_alerts (deployment_id);
-- The officers on a deployment: those who signed in to the tablet (or decided) while it ran.
-- An ended deployment's alerts are shown to, and late decisions taken from, these officers only.
CREATE TABLE IF NOT EXISTS deployment_officers (
  deployment_id TEXT NOT NULL,
  officer_id TEXT NOT NULL,
  first_seen INTEGER NOT NULL,
  PRIMARY KEY (deployment_id, officer_id)
);
-- Each time a report version was written to a stick or disk (lfr deployment end/report --out):
-- a later version (a late decision) makes that copy stale, and the van says so.
CREATE TABLE IF NOT EXISTS deployment_reports_written (
  deployment_id TEXT NOT NULL,
  version INTEGER NOT NULL,
  written_at INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS deployment_reports (
  deployment_id TEXT NOT NULL,
  version INTEGER NOT NULL,
  report TEXT NOT NULL,
  PRIMARY KEY (deployment_id, version)
);
`;

/** Fields added after the first release: one JSON column (degraded reasons, uptime, interruptions). */
interface Extra {
  degraded?: string[];
  uptime?: UptimeState | null;
  checkpointAt?: number | null;
  suspendedAt?: number | null;
  notCovered?: NotCovered[];
  thresholdSource?: 'request' | 'config';
  recordUnwritable?: Array<{ from: number; to: number }>;
  photoCheck?: PhotoCheckRecord | null;
  equitability?: EquitabilityRecord | null;
}

/** Photo check outcome -> its counting column in deployment_alerts (a fixed list: never from input). */
const CHECK_COLUMN = { same_person_likely: 'checks_same', not_supported: 'checks_not', photo_unusable: 'checks_unusable' } as const;

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
  extra: string | null;
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
  // Counts checkpointed by an older version lack the newer fields: zero them.
  counts: { ...ZERO_COUNTS, ...(JSON.parse(r.counts) as Partial<DeploymentCounts>), engagements: { ...ZERO_ENGAGEMENTS, ...(JSON.parse(r.counts) as Partial<DeploymentCounts>).engagements } },
  ...((e: Extra) => ({ degraded: e.degraded ?? [], uptime: e.uptime ?? null, checkpointAt: e.checkpointAt ?? null, suspendedAt: e.suspendedAt ?? null, notCovered: e.notCovered ?? [], thresholdSource: e.thresholdSource ?? 'request', recordUnwritable: e.recordUnwritable ?? [], ...(e.photoCheck !== undefined ? { photoCheck: e.photoCheck } : {}), ...(e.equitability !== undefined ? { equitability: e.equitability } : {}) }))(r.extra ? (JSON.parse(r.extra) as Extra) : {}),
});

type ExtraFields = Pick<DeploymentRecord, 'degraded' | 'uptime' | 'checkpointAt' | 'suspendedAt' | 'notCovered' | 'thresholdSource' | 'recordUnwritable' | 'photoCheck' | 'equitability'>;
const extraOf = (r: ExtraFields): string => JSON.stringify({ degraded: r.degraded, uptime: r.uptime, checkpointAt: r.checkpointAt ?? null, suspendedAt: r.suspendedAt ?? null, notCovered: r.notCovered ?? [], thresholdSource: r.thresholdSource ?? 'request', recordUnwritable: r.recordUnwritable ?? [], ...(r.photoCheck !== undefined ? { photoCheck: r.photoCheck } : {}), ...(r.equitability !== undefined ? { equitability: r.equitability } : {}) } satisfies Extra);

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
      db.pragma('busy_timeout = 5000'); // the CLI records a report written to a stick while the daemon runs
      db.exec(SCHEMA);
      // Stores made by earlier versions lack these columns.
      const cols = (db.prepare('PRAGMA table_info(deployments)').all() as { name: string }[]).map((c) => c.name);
      if (!cols.includes('extra')) db.exec('ALTER TABLE deployments ADD COLUMN extra TEXT');
      if (!cols.includes('threshold_basis')) db.exec('ALTER TABLE deployments ADD COLUMN threshold_basis TEXT');
      const acols = (db.prepare('PRAGMA table_info(deployment_alerts)').all() as { name: string }[]).map((c) => c.name);
      if (!acols.includes('repeat_of')) db.exec('ALTER TABLE deployment_alerts ADD COLUMN repeat_of TEXT');
            for (const c of [...Object.values(CHECK_COLUMN), 'check_cited']) if (!acols.includes(c)) db.exec(`ALTER TABLE deployment_alerts ADD COLUMN ${c} INTEGER NOT NULL DEFAULT 0`);
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
        `INSERT INTO deployments (id, authorisation_ref, authorising_officer, operator, location, reason, threshold, threshold_basis, watchlist, cameras, started_at, ends_at, counts, extra)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      )
      .run(r.id, r.authorisationRef, r.authorisingOfficer, r.operator, r.location, r.reason, r.threshold, r.thresholdBasis ? JSON.stringify(r.thresholdBasis) : null, JSON.stringify(r.watchlist), JSON.stringify(r.cameras), r.startedAt, r.endsAt, JSON.stringify(r.counts), extraOf(r));
  }

  running(): DeploymentRecord | null {
    const row = this.d.prepare('SELECT * FROM deployments WHERE ended_at IS NULL').get() as Row | undefined;
    return row ? toRecord(row) : null;
  }

  get(id: string): DeploymentRecord | null {
    const row = this.d.prepare('SELECT * FROM deployments WHERE id = ?').get(id) as Row | undefined;
    return row ? toRecord(row) : null;
  }

  /** Save the running counters at `at`; `suspend`: an orderly daemon stop (not a power cut). */
  checkpoint(id: string, counts: DeploymentCounts, uptime: UptimeState | null, at: number, suspend = false): void {
    const r = this.get(id);
    if (!r) return;
    this.d.prepare('UPDATE deployments SET counts = ?, extra = ? WHERE id = ? AND ended_at IS NULL').run(JSON.stringify(counts), extraOf({ ...r, uptime, checkpointAt: at, suspendedAt: suspend ? at : null }), id);
  }

  /** A stretch when the record could not be written (a full state disk); analysis went on. */
  noteUnwritable(id: string, span: { from: number; to: number }): void {
    const r = this.get(id);
    if (!r || r.endedAt !== null) return;
    this.d.prepare('UPDATE deployments SET extra = ? WHERE id = ?').run(extraOf({ ...r, recordUnwritable: [...(r.recordUnwritable ?? []), span] }), id);
  }

  /** A stretch the van did not analyse (a restart, a power cut), kept on the running record. */
  noteNotCovered(id: string, gap: NotCovered): void {
    const r = this.get(id);
    if (!r || r.endedAt !== null) return;
    this.d.prepare('UPDATE deployments SET extra = ? WHERE id = ?').run(extraOf({ ...r, suspendedAt: null, notCovered: [...(r.notCovered ?? []), gap] }), id);
  }

  finish(id: string, endedAt: number, reason: EndReason, counts: DeploymentCounts, uptime: UptimeState | null, report: DeploymentReport): void {
    const r = this.get(id);
    if (!r) return;
    this.d.transaction(() => {
      this.d
        .prepare('UPDATE deployments SET ended_at = ?, end_reason = ?, counts = ?, extra = ?, report = ? WHERE id = ? AND ended_at IS NULL')
        .run(endedAt, reason, JSON.stringify(counts), extraOf({ ...r, uptime }), JSON.stringify(report), id);
      this.d.prepare('INSERT OR REPLACE INTO deployment_reports (deployment_id, version, report) VALUES (?, ?, ?)').run(id, report.version, JSON.stringify(report));
    })();
  }

  /** A regenerated report (a later version): kept beside the earlier ones, and the latest on the record. */
  saveReport(report: DeploymentReport): void {
    this.d.transaction(() => {
      this.d.prepare('INSERT INTO deployment_reports (deployment_id, version, report) VALUES (?, ?, ?)').run(report.deploymentId, report.version, JSON.stringify(report));
      this.d.prepare('UPDATE deployments SET report = ? WHERE id = ?').run(JSON.stringify(report), report.deploymentId);
    })();
  }

  /** The latest report (or a given version). */
  report(id: string, version?: number): DeploymentReport | null {
    const row = (version === undefined
      ? this.d.prepare('SELECT report FROM deployments WHERE id = ?').get(id)
      : this.d.prepare('SELECT report FROM deployment_reports WHERE deployment_id = ? AND version = ?').get(id, version)) as { report: string | null } | undefined;
    return row?.report ? (JSON.parse(row.report) as DeploymentReport) : null;
  }

  /** A report version was written to a stick or disk (the CLI's --out). */
  markWritten(deploymentId: string, version: number, at: number): void {
    this.d.prepare('INSERT INTO deployment_reports_written (deployment_id, version, written_at) VALUES (?, ?, ?)').run(deploymentId, version, at);
  }

  /**
   * Deployments whose report was written out and has changed since (a late decision made a later
   * version): the copy on the stick is stale. `id` limits it to one deployment.
   */
  staleCopies(id?: string): Array<{ deploymentId: string; writtenVersion: number; writtenAt: number; latestVersion: number }> {
    const rows = this.d
      .prepare(
        `SELECT w.deployment_id AS id, MAX(w.version) AS written, MAX(w.written_at) AS at, (SELECT MAX(version) FROM deployment_reports r WHERE r.deployment_id = w.deployment_id) AS latest
         FROM deployment_reports_written w ${id ? 'WHERE w.deployment_id = ?' : ''} GROUP BY w.deployment_id`,
      )
      .all(...(id ? [id] : [])) as Array<{ id: string; written: number; at: number; latest: number | null }>;
    return rows.filter((r) => r.latest !== null && r.latest > r.written).map((r) => ({ deploymentId: r.id, writtenVersion: r.written, writtenAt: r.at, latestVersion: r.latest! }));
  }

  // Officers ------------------------------------------------------------------------------------

  /** An officer took part in a deployment (idempotent: the first time is kept). */
  addOfficer(deploymentId: string, officerId: string, at: number): void {
    this.d.prepare('INSERT OR IGNORE INTO deployment_officers (deployment_id, officer_id, first_seen) VALUES (?, ?, ?)').run(deploymentId, officerId, at);
  }

  isOfficerOn(deploymentId: string, officerId: string): boolean {
    return this.d.prepare('SELECT 1 FROM deployment_officers WHERE deployment_id = ? AND officer_id = ?').get(deploymentId, officerId) !== undefined;
  }

  officers(deploymentId: string): string[] {
    return (this.d.prepare('SELECT officer_id FROM deployment_officers WHERE deployment_id = ? ORDER BY first_seen').all(deploymentId) as { officer_id: string }[]).map((r) => r.officer_id);
  }

  // The ledger ------------------------------------------------------------------------------------

  /** An alert raised in a deployment (idempotent). */
  addAlert(deploymentId: string, a: { alertId: string; camera: string; capturedAt: number; repeatOf?: string | null }): void {
    this.d.prepare('INSERT OR IGNORE INTO deployment_alerts (alert_id, deployment_id, camera, captured_at, repeat_of) VALUES (?, ?, ?, ?, ?)').run(a.alertId, deploymentId, a.camera, a.capturedAt, a.repeatOf ?? null);
  }

  /**
   * A decision (step 'decision') or the engagement after a confirmed match (step 'engagement'),
   * recorded at `at`; `late` when its deployment had already ended. Returns the deployment id, or
   * null when the alert is not in the ledger (raised outside a deployment).
   */
  decide(alertId: string, step: 'decision' | 'engagement', outcome: AdjudicationOutcome, engagement: EngagementOutcome | null, at: number, late: boolean): string | null {
    const row = this.d.prepare('SELECT deployment_id FROM deployment_alerts WHERE alert_id = ?').get(alertId) as { deployment_id: string } | undefined;
    if (!row) return null;
    if (step === 'decision') this.d.prepare('UPDATE deployment_alerts SET outcome = ?, engagement = COALESCE(?, engagement), decided_at = ?, late = ? WHERE alert_id = ? AND outcome IS NULL').run(outcome, engagement, at, late ? 1 : 0, alertId);
    else this.d.prepare('UPDATE deployment_alerts SET engagement = ?, late = MAX(late, ?) WHERE alert_id = ? AND engagement IS NULL').run(engagement, late ? 1 : 0, alertId);
    return row.deployment_id;
  }

  /** A photo check made on an alert of this deployment (counted by outcome). */
  addCheck(deploymentId: string, alertId: string, verdict: keyof typeof CHECK_COLUMN): void {
    const col = CHECK_COLUMN[verdict];
    this.d.prepare(`UPDATE deployment_alerts SET ${col} = ${col} + 1 WHERE alert_id = ? AND deployment_id = ?`).run(alertId, deploymentId);
  }

  /** The alert's decision cited a photo check. */
  citeCheck(alertId: string): void {
    this.d.prepare('UPDATE deployment_alerts SET check_cited = 1 WHERE alert_id = ?').run(alertId);
  }

  ledger(deploymentId: string): LedgerAlert[] {
    const rows = this.d.prepare('SELECT alert_id, camera, captured_at, outcome, engagement, decided_at, late, repeat_of, checks_same, checks_not, checks_unusable, check_cited FROM deployment_alerts WHERE deployment_id = ? ORDER BY captured_at').all(deploymentId) as Array<{ alert_id: string; camera: string; captured_at: number; outcome: string | null; engagement: string | null; decided_at: number | null; late: number; repeat_of: string | null; checks_same: number; checks_not: number; checks_unusable: number; check_cited: number }>;
    return rows.map((r) => ({
      alertId: r.alert_id,
      camera: r.camera,
      capturedAt: r.captured_at,
      outcome: r.outcome as LedgerAlert['outcome'],
      engagement: r.engagement as EngagementOutcome | null,
      decidedAt: r.decided_at,
      late: r.late === 1,
      repeatOf: r.repeat_of,
      photoChecks: { same_person_likely: r.checks_same, not_supported: r.checks_not, photo_unusable: r.checks_unusable },
      citedCheck: r.check_cited === 1,
    }));
  }

  /** Most recent first. */
  list(limit = 20): DeploymentRecord[] {
    return (this.d.prepare('SELECT * FROM deployments ORDER BY started_at DESC LIMIT ?').all(limit) as Row[]).map(toRecord);
  }
}

/** Where the records live: deployment.file, relative to paths.stateDir unless absolute. */
export const deploymentsFile = (cfg: { paths: { stateDir: string }; deployment: { file: string } }): string => path.resolve(cfg.paths.stateDir, cfg.deployment.file);
