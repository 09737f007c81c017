// The deployment lifecycle inside the daemon. Order matters and is the point of this file:
//   start: validate -> readiness (every camera live, the broker up: else refused unless
//          --allow-degraded, which is recorded) -> import/open the watchlist -> RECORD
//          (authorisation, place, threshold, composition) and audit -> only then start analysis
//          -> arm the automatic end.
//   end:   stop analysis -> final counts -> purge the watchlist -> results report -> audit.
// While it runs it keeps the ledger of its alerts and their decisions (noteAlert, noteDecision)
// and each camera's live time (noteCamera); a decision recorded after the end regenerates the
// report from those records with a new version (src/deployment/report.ts).
// The daemon supplies the hooks (watchlist, matcher, counters); this class owns the rules and
// the record. One deployment at a time (also enforced by the database).
import { randomUUID } from 'node:crypto';
import type { Clock, Component } from '../lifecycle.js';
import type { Logger } from '../log.js';
import type { AuditRecorder } from '../audit/log.js';
import type { EquitabilityRecord } from '../match/equitability.js';
import { DeploymentError } from './errors.js';
import { DeploymentStore } from './store.js';
import { effectiveEnd, PolicyError, validateStart, type StartLimits } from './policy.js';
import { buildReport, ledgerCounts, reportChanges } from './report.js';
import { UptimeTracker } from './uptime.js';
import { ZERO_COUNTS, type AnalysisCounts, type DeploymentCounts, type DeploymentRecord, type DeploymentReport, type EndReason, type PhotoCheckRecord, type StartRequest, type ThresholdBasis, type WatchlistSummary } from './types.js';
import type { AdjudicationOutcome, EngagementOutcome } from '../mqtt/topics.js';

/** A camera as the start checks and the uptime see it. */
export interface CameraReadiness {
  name: string;
  live: boolean;
  /** 'connecting' (first connection, no error yet), 'live', 'reconnecting', 'stalled', 'failed', ... */
  state: string;
  reason?: string;
}

/** A report written to a stick that a late decision has since changed. */
export type StaleReport = ReturnType<DeploymentStore['staleCopies']>[number];

/** How long a start waits for cameras still making their first connection (the van just booted). */
const CONNECTING_GRACE_MS = 15_000;


/** Implemented by the daemon's composition root. */
export interface DeploymentHooks {
  /** Import the bundle (verify, decrypt, enrol) and open it for matching; returns its composition. */
  loadWatchlist(file: string, actor: string): Promise<WatchlistSummary>;
  /** The watchlist already imported and not expired (USB auto-import), or null. */
  currentWatchlist(): WatchlistSummary | null;
  /** Begin matching with this threshold. `resume` after a daemon restart mid-deployment. */
  startAnalysis(d: { deploymentId: string; threshold: number; resume: boolean; endsAt: number }): Promise<void>;
  stopAnalysis(): Promise<void>;
  /** Compare the watchlist's life (and its store file) with the clock now; on the clock check's beat. */
  recheckWatchlist?(): Promise<void>;
  /**
   * Purge the watchlist store and wipe it from memory, and record the bundle (its id from the
   * deployment record) as ended; true when something was deleted or nothing was left. `actor` is
   * the deployment end's (the operator's uid, or 'system' for a clock or power-cut end), so the
   * purge's audit entry says who caused it (before, it was recorded with no actor).
   */
  purgeWatchlist(bundleId: string | null, actor: string): Promise<boolean>;
  /** Analysis counters since startAnalysis (faces analysed, people seen), resumed base included. */
  counts(): AnalysisCounts;
  cameras(): string[];
  /** The enabled cameras' states now (start checks, live time). */
  cameraStates?(): CameraReadiness[];
  /** Whether the daemon is connected to the broker (start checks: no broker, no alert reaches a tablet). */
  brokerConnected?(): boolean;
  /** Safeguards that fail (e.g. storage.volatile: keys and watchlist on a disk): each refuses a start like a dead camera. */
  safeguardProblems?(): string[];
  /** Camera name -> place (config cameras[].location), for the report. */
  cameraLocations?(): Record<string, string | null>;
  /**
   * Threshold-from-FPIR (src/match/fpir.ts): the threshold for a target FPIR with this many
   * templates, or the basis of a fixed threshold (null: no calibration for this embedder).
   */
  thresholdBasis?(q: { targetFpir?: number; threshold?: number; templates: number }): Promise<{ threshold: number; basis: ThresholdBasis | null; message: string | null }>;
  /** The model pack's equitability statement at a threshold (src/match/equitability.ts); never throws. */
  equitability?(threshold: number): Promise<EquitabilityRecord>;
  /** Checked at daemon start: throws a plain message when a configured calibration cannot be used. */
  checkCalibration?(): Promise<void>;
}

/** Only the composition fields go into the record, whatever richer object the watchlist hands over. */
function summaryOf(w: WatchlistSummary): WatchlistSummary {
  return {
    subjects: w.subjects,
    templates: w.templates,
    categories: { ...w.categories },
    bundleSha256: w.bundleSha256,
    ...(w.bundleId ? { bundleId: w.bundleId } : {}),
    signerKeyId: w.signerKeyId,
    ...(w.importedAt ? { importedAt: w.importedAt } : {}),
    expiresAt: w.expiresAt,
    ...(w.notEnrolled !== undefined ? { notEnrolled: w.notEnrolled } : {}),
  };
}

/**
 * Re-check the deadline at least this often: a timer alone misses a clock step or a suspend.
 * The checks fall on a fixed beat from the deployment's start (startedAt + k x 15 s, monotonic
 * time), not 15 s after the last check finished, so a slow checkpoint never pushes the later
 * ones back; the watchlist's life is checked on the same beat (hooks.recheckWatchlist), so the
 * two halves of a clock step are seen together.
 */
export const CLOCK_CHECK_MS = 15_000;

export class DeploymentService implements Component {
  readonly name = 'deployment';
  private timer: NodeJS.Timeout | null = null;
  /** performance.now() at the running deployment's start (or resume): the clock check's beat. */
  private beatOrigin = performance.now();
  private busy: Promise<unknown> = Promise.resolve();
  private lastReport: DeploymentReport | null = null;
  private uptime: UptimeTracker | null = null;
  /** This process analyses for the running deployment (started or resumed here). */
  private analysing = false;
  /** Since when the record cannot be written (a full state disk), and why. */
  private recordTrouble: { since: number; message: string } | null = null;
  private readonly pendingLedger: Array<{ deploymentId: string; alertId: string; camera: string; capturedAt: number }> = [];
  private readonly officersSeen = new Set<string>();
  private photoCheck: (() => PhotoCheckRecord) | null = null;

  constructor(
    private readonly store: DeploymentStore,
    private readonly hooks: DeploymentHooks,
    private readonly audit: AuditRecorder,
    private readonly limits: StartLimits,
    private readonly clock: Clock,
    private readonly log: Logger,
  ) {}

  /** Opens the store and recovers a deployment left running by a crash or restart. */
  async start(): Promise<void> {
    // A target FPIR in the config needs the embedder's own calibration: refuse to start without it.
    await this.hooks.checkCalibration?.();
    this.store.open();
    const cur = this.store.running();
    if (!cur) return;
    const now = this.clock();
    // An orderly stop marks the record (suspendedAt); a record still running without that mark was
    // left by a van that lost power (or was killed): its deployment is ended now, not resumed, and
    // the report says from when it was not covered (the last checkpoint) to now.
    if (!cur.suspendedAt) {
      this.store.noteNotCovered(cur.id, { from: cur.checkpointAt ?? cur.uptime?.at ?? cur.startedAt, to: now, why: 'power_lost' });
      this.log.warn({ deploymentId: cur.id }, 'the van stopped without its orderly shutdown (power lost) while a deployment ran: it is ended now');
      await this.end('power_lost', 'system');
      return;
    }
    this.store.noteNotCovered(cur.id, { from: cur.suspendedAt, to: now, why: 'restart' });
    if (now >= cur.endsAt) {
      await this.end('ends_at_reached', 'system');
      return;
    }
    try {
      await this.hooks.startAnalysis({ deploymentId: cur.id, threshold: cur.threshold, resume: true, endsAt: cur.endsAt });
      this.uptime = new UptimeTracker(this.clock(), this.cameraStates(), cur.uptime);
      this.analysing = true;
      this.audit.record('deployment.resume', { deploymentId: cur.id }, 'system');
      this.beatOrigin = performance.now();
      this.arm();
    } catch (err) {
      this.log.error({ err }, 'could not resume the running deployment');
      await this.end('interrupted', 'system');
    }
  }

  async stop(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    const cur = this.store.running();
    if (cur) {
      try {
        // suspend: the next start knows this was an orderly stop, not a power cut.
        this.store.checkpoint(cur.id, this.counts(cur), this.uptime?.snapshot(this.clock()) ?? cur.uptime, this.clock(), true);
      } catch (err) {
        this.log.warn({ err }, 'final deployment checkpoint failed');
      }
    }
    await this.busy.catch(() => undefined);
    this.store.close();
  }

  current(): DeploymentRecord | null {
    return this.store.running();
  }

  /**
   * The running deployment's counts: analysis from the hooks while this process analyses for it
   * (they carry on from the checkpoint), else the checkpoint itself (a deployment ended at start,
   * before or without a resume); alerts and decisions from the ledger.
   */
  private counts(cur: DeploymentRecord): DeploymentCounts {
    const analysis = this.analysing ? this.hooks.counts() : { facesAnalysed: cur.counts.facesAnalysed, peopleSeen: cur.counts.peopleSeen, ...(cur.counts.splitTracks !== undefined ? { splitTracks: cur.counts.splitTracks } : {}) };
    return { ...analysis, ...ledgerCounts(this.store.ledger(cur.id)) };
  }

  private cameraStates(): CameraReadiness[] {
    return this.hooks.cameraStates?.() ?? this.hooks.cameras().map((name) => ({ name, live: true, state: 'live' }));
  }

  /** Status for `lfr status`, the status topic and metrics. Counts are live while running. */
  status(): { running: DeploymentRecord | null; counts: DeploymentCounts; remainingMs: number | null; lastReport: DeploymentReport | null; staleReports: StaleReport[] } {
    const cur = this.store.running();
    let staleReports: StaleReport[] = [];
    try {
      staleReports = this.store.staleCopies();
    } catch (err) {
      this.log.warn({ err }, 'could not read which written reports are stale');
    }
    return { running: cur, counts: cur ? this.counts(cur) : ZERO_COUNTS, remainingMs: cur ? Math.max(0, cur.endsAt - this.clock()) : null, lastReport: this.lastReport, staleReports };
  }

  /**
   * Save the counters so a crash loses at most one interval (the deployment timer and the health
   * loop). Never throws: a full state disk ("database or disk is full") must not stop the van. The
   * counts go on in memory, health FAILs (recordProblem), alerts the ledger could not take are kept
   * to be written later, and once the record can be written again it notes when it could not.
   */
  checkpoint(): void {
    const now = this.clock();
    try {
      const cur = this.store.running();
      if (!cur) return;
      this.flushPendingLedger();
      this.store.checkpoint(cur.id, this.counts(cur), this.uptime?.snapshot(now) ?? cur.uptime, now);
      if (this.recordTrouble) {
        this.store.noteUnwritable(cur.id, { from: this.recordTrouble.since, to: now });
        this.log.warn({ deploymentId: cur.id, since: new Date(this.recordTrouble.since).toISOString() }, 'the deployment record can be written again');
        this.recordTrouble = null;
      }
    } catch (err) {
      this.noteRecordTrouble(err, now);
    }
  }

  /** Why the deployment record cannot be written now (health FAILs while it is set), or null. */
  recordProblem(): string | null {
    const t = this.recordTrouble;
    return t ? `the deployment record cannot be written since ${new Date(t.since).toISOString()} (${t.message}); counts and alerts are kept in memory and written when it can` : null;
  }

  private noteRecordTrouble(err: unknown, now: number): void {
    const message = (err as Error).message;
    if (!this.recordTrouble) {
      this.recordTrouble = { since: now, message };
      this.log.error({ err }, 'the deployment record cannot be written (state disk full?): analysis and alerts go on from memory');
    }
  }

  /** Alerts the ledger could not take (a full disk): written at the next checkpoint that can. */
  private flushPendingLedger(): void {
    while (this.pendingLedger.length) {
      const p = this.pendingLedger[0]!;
      this.store.addAlert(p.deploymentId, p);
      this.pendingLedger.shift();
    }
  }

  /** A camera changed state (the camera manager's listener). */
  noteCamera(name: string, live: boolean): void {
    this.uptime?.note(name, live, this.clock());
  }

  /** A camera's analysis fell below / came back to the rate that keeps people apart (issue 19). */
  noteAnalysisPace(name: string, slow: boolean, analysedFps: number): void {
    this.uptime?.noteSlow(name, slow, this.clock(), analysedFps);
  }

  /**
   * An officer signed in to the tablet (or decided) while a deployment runs: they are on it. Kept
   * in memory too, so a busy tablet's every request costs no database write.
   */
  noteOfficer(officerId: string): void {
    const cur = this.store.running();
    if (!cur) return;
    const key = `${cur.id}\u0000${officerId}`;
    if (this.officersSeen.has(key)) return;
    try {
      this.store.addOfficer(cur.id, officerId, this.clock());
      if (this.officersSeen.size > 10_000) this.officersSeen.clear();
      this.officersSeen.add(key);
    } catch (err) {
      this.log.error({ err }, 'the officer could not be added to the deployment record');
    }
  }

  /** Where a deployment stands for an officer: unknown, running, or ended (and whether they were on it). */
  membership(deploymentId: string, officerId: string): { known: boolean; ended: boolean; onIt: boolean } {
    const rec = this.store.get(deploymentId);
    if (!rec) return { known: false, ended: true, onIt: false };
    return { known: true, ended: rec.endedAt !== null, onIt: this.store.isOfficerOn(deploymentId, officerId) };
  }

  /** The photo check's setting, recorded with each deployment (the daemon sets it). */
  setPhotoCheck(fn: (() => PhotoCheckRecord) | null): void {
    this.photoCheck = fn;
  }

  /** A photo check was made on an alert (the photo check's listener): counted in its deployment's ledger. */
  notePhotoCheck(r: { deploymentId: string; alertId: string; verdict: 'same_person_likely' | 'not_supported' | 'photo_unusable' }): void {
    try {
      this.store.addCheck(r.deploymentId, r.alertId, r.verdict);
    } catch (err) {
      this.log.error({ err, alertId: r.alertId }, 'the photo check could not be added to the deployment record');
    }
  }

  /** An alert was raised (the alert service's listener): the ledger of its deployment. */
  noteAlert(r: { alertId: string; deploymentId: string | null; camera: string; capturedAt: number }): void {
    if (!r.deploymentId) return;
    try {
      this.store.addAlert(r.deploymentId, r);
    } catch (err) {
      // Kept in memory and written at the next checkpoint that can (the report must count it).
      this.pendingLedger.push({ deploymentId: r.deploymentId, alertId: r.alertId, camera: r.camera, capturedAt: r.capturedAt });
      this.noteRecordTrouble(err, this.clock());
      this.log.error({ err, alertId: r.alertId }, 'the alert could not be added to the deployment record yet');
    }
  }

  /**
   * An officer's decision or engagement outcome was recorded (the alert service's listener). After
   * the deployment ended, the results report is regenerated from the records with a new version.
   */
  noteDecision(r: { alertId: string; deploymentId: string | null; outcome: AdjudicationOutcome; engagement: EngagementOutcome | null; recordedAt: number; step: 'decision' | 'engagement'; photoCheck?: { checkId: string } | null }): void {
    if (!r.deploymentId) return;
    try {
      if (r.photoCheck) this.store.citeCheck(r.alertId);
      const rec = this.store.get(r.deploymentId);
      const late = rec !== null && rec.endedAt !== null;
      const dep = this.store.decide(r.alertId, r.step, r.outcome, r.engagement, r.recordedAt, late);
      if (dep && late) this.serial(() => this.revise(dep)).catch((err: unknown) => this.log.error({ err }, 'the results report could not be regenerated'));
    } catch (err) {
      this.log.error({ err, alertId: r.alertId }, 'the decision could not be added to the deployment record');
    }
  }

  /**
   * What is not ready for a deployment: cameras not live, the broker down (plain reasons). With
   * `waitMs`, cameras still making their first connection are given that long to come up.
   */
  async readiness(waitMs = 0): Promise<string[]> {
    const deadline = this.clock() + waitMs;
    let cams = this.cameraStates();
    while (waitMs > 0 && cams.some((c) => c.state === 'connecting') && this.clock() < deadline) {
      await new Promise((r) => setTimeout(r, 250));
      cams = this.cameraStates();
    }
    const problems = cams.filter((c) => !c.live && !(waitMs === 0 && c.state === 'connecting')).map((c) => `camera ${c.name} is not live (${c.state}${c.reason ? `: ${c.reason}` : ''})`);
    if (this.hooks.brokerConnected && !this.hooks.brokerConnected()) problems.push('the broker is not connected (no alert would reach a tablet)');
    problems.push(...(this.hooks.safeguardProblems?.() ?? []));
    return problems;
  }

  /**
   * A start refused because the van is not ready (a dead camera, the broker down, a safeguard that
   * FAILs such as storage.volatile): audited, since a refused start is part of what happened on the
   * van (issue 21: "replayed on the running van, refused AND audited"). The problems are the
   * checks' plain words (camera names, folders), never personal data.
   */
  private degradedRefusal(problems: string[], actor: string): DeploymentError {
    try {
      this.audit.record('deployment.start_refused', { code: 'not_ready', problems: problems.join('; ').slice(0, 500) }, actor);
    } catch (err) {
      this.log.error({ err }, 'the refused start could not be audited');
    }
    return new DeploymentError(`the van is not ready: ${problems.join('; ')}. Fix it and start again, or start anyway with --allow-degraded (recorded in the deployment and its report)`, 'not_ready');
  }

  /** The checks a start request must pass before anything is imported (validation, one at a time). */
  checkStart(raw: StartRequest, actor = 'system'): void {
    try {
      validateStart(raw, this.clock(), this.limits);
    } catch (err) {
      if (err instanceof PolicyError) throw new DeploymentError(err.message, 'invalid');
      throw err;
    }
    const cur = this.store.running();
    if (cur) throw new DeploymentError(`deployment ${cur.id} (${cur.authorisationRef}) is still running: end it first with "lfr deployment end"`, 'conflict');
    if (!raw.allowDegraded && this.limits.requireReady !== false) {
      // Cameras still connecting are judged later (doStart waits for them); a failed camera or a
      // broker that is down refuses the start here, before a byte of the bundle is sent.
      const cams = this.cameraStates().filter((c) => !c.live && c.state !== 'connecting').map((c) => `camera ${c.name} is not live (${c.state}${c.reason ? `: ${c.reason}` : ''})`);
      if (this.hooks.brokerConnected && !this.hooks.brokerConnected()) cams.push('the broker is not connected (no alert would reach a tablet)');
      cams.push(...(this.hooks.safeguardProblems?.() ?? []));
      if (cams.length) throw this.degradedRefusal(cams, actor);
    }
  }

  startDeployment(req: StartRequest, actor: string): Promise<DeploymentRecord> {
    return this.serial(() => this.doStart(req, actor));
  }

  endDeployment(reason: EndReason, actor: string): Promise<DeploymentReport> {
    return this.serial(() => this.end(reason, actor));
  }

  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const p = this.busy.then(fn, fn);
    this.busy = p.catch(() => undefined);
    return p;
  }

  private async doStart(raw: StartRequest, actor: string): Promise<DeploymentRecord> {
    const now = this.clock();
    let req: StartRequest;
    try {
      req = validateStart(raw, now, this.limits);
    } catch (err) {
      if (err instanceof PolicyError) throw new DeploymentError(err.message, 'invalid');
      throw err;
    }
    const cur = this.store.running();
    if (cur) throw new DeploymentError(`deployment ${cur.id} (${cur.authorisationRef}) is still running: end it first with "lfr deployment end"`, 'conflict');
    const degraded = this.limits.requireReady === false ? [] : await this.readiness(CONNECTING_GRACE_MS);
    if (degraded.length && !req.allowDegraded) throw this.degradedRefusal(degraded, actor);

    const loaded = req.watchlistFile ? await this.hooks.loadWatchlist(req.watchlistFile, actor) : this.hooks.currentWatchlist();
    if (!loaded) throw new DeploymentError('no watchlist has been imported: insert the USB stick with the bundle, or pass --watchlist FILE', 'invalid');
    const watchlist = summaryOf(loaded);
    if (req.expectBundleSha256 && req.expectBundleSha256 !== watchlist.bundleSha256) throw new DeploymentError(`the watchlist now loaded is bundle ${watchlist.bundleSha256.slice(0, 16)}, not ${req.expectBundleSha256.slice(0, 16)} that was sent for this deployment: nothing started`, 'conflict');
    const endsAt = effectiveEnd(req.endsAt, Date.parse(watchlist.expiresAt));
    let threshold = req.threshold;
    let thresholdBasis: ThresholdBasis | null = null;
    if (this.hooks.thresholdBasis) {
      try {
        const b = await this.hooks.thresholdBasis({ targetFpir: req.targetFpir, threshold: req.threshold, templates: watchlist.templates });
        threshold = b.threshold;
        thresholdBasis = b.basis;
        if (b.message) this.log.info({ threshold, targetFpir: req.targetFpir ?? null }, b.message);
      } catch (err) {
        // A fixed threshold never depends on the calibration; a target FPIR cannot work without it.
        if (req.targetFpir !== undefined) throw new DeploymentError((err as Error).message, 'invalid');
        this.log.warn({ err }, 'no false-alert estimate for the fixed threshold');
      }
    }
    // Neither flag given: the config's match.targetFpir (when set, through thresholdBasis above)
    // or its match.threshold, recorded as coming from the config (README: a recorded setting).
    const thresholdSource = req.threshold === undefined && req.targetFpir === undefined ? 'config' : 'request';
    if (threshold === undefined && thresholdSource === 'config' && this.limits.configThreshold !== undefined) threshold = this.limits.configThreshold;
    if (threshold === undefined) throw new DeploymentError('this van cannot derive a threshold from a target FPIR: start with --threshold', 'invalid');
    // What the models are known to do per group at this threshold, from the model pack (read
    // before the start time is taken: nothing awaits between it and the record).
    const equitability = (await this.hooks.equitability?.(threshold)) ?? null;
    // The deployment starts when it is recorded, not when it was asked for: the readiness wait and
    // the watchlist import above take seconds (15 s for a one-person bundle on a loaded box), and a
    // start time before them made the report's span longer than the cameras' live time counted
    // from here (a camera live throughout showed 48 %).
    const startedAt = this.clock();
    const rec: DeploymentRecord = {
      id: `dep-${new Date(now).toISOString().slice(0, 10)}-${randomUUID().slice(0, 8)}`,
      authorisationRef: req.authorisationRef,
      authorisingOfficer: req.authorisingOfficer ?? null,
      operator: actor,
      location: req.location,
      reason: req.reason ?? null,
      threshold,
      thresholdBasis,
      thresholdSource,
      watchlist,
      cameras: this.hooks.cameras(),
      startedAt,
      endsAt,
      endedAt: null,
      endReason: null,
      counts: ZERO_COUNTS,
      degraded,
      uptime: null,
      photoCheck: this.photoCheck?.() ?? { enabled: false, falseMatchRate: 0, threshold: null, tar: null },
      equitability,
    };
    // Audited and recorded BEFORE a single frame is matched. Audit first: an entry the audit
    // log refuses must stop the start, not leave a running deployment without its entry.
    this.audit.record(
      'deployment.start',
      {
        deploymentId: rec.id,
        authorisationRef: rec.authorisationRef,
        authorisingOfficer: rec.authorisingOfficer,
        location: rec.location,
        reason: rec.reason,
        threshold: rec.threshold,
        thresholdSource,
        targetFpir: thresholdBasis?.targetFpir ?? null,
        expectedFalseAlertsPer10k: thresholdBasis ? Number(thresholdBasis.expectedFalseAlertsPer10k.toPrecision(3)) : null,
        endsAt: new Date(endsAt).toISOString(),
        'watchlist.subjects': watchlist.subjects,
        // The audit log takes flat values: the per-category counts go in as one JSON text.
        'watchlist.categories': JSON.stringify(watchlist.categories),
        'watchlist.bundleSha256': watchlist.bundleSha256,
        'watchlist.signerKeyId': watchlist.signerKeyId,
        cameras: rec.cameras.join(','),
        degraded: degraded.length ? degraded.join('; ').slice(0, 500) : null,
      },
      actor,
    );
    if (degraded.length) this.log.warn({ deploymentId: rec.id, degraded }, 'deployment started DEGRADED (--allow-degraded)');
    this.store.insert(rec);
    if (endsAt < req.endsAt) this.log.warn({ deploymentId: rec.id }, 'deployment end moved earlier to the watchlist expiry');
    // Live time is counted from the recorded start, with the cameras as they are now.
    this.uptime = new UptimeTracker(startedAt, this.cameraStates());
    try {
      await this.hooks.startAnalysis({ deploymentId: rec.id, threshold: rec.threshold, resume: false, endsAt: rec.endsAt });
      this.analysing = true;
    } catch (err) {
      this.log.error({ err }, 'analysis could not start; ending the deployment');
      await this.end('start_failed', 'system');
      throw new DeploymentError(`analysis could not start (${(err as Error).message}); the deployment was ended and the watchlist purged`, 'start_failed');
    }
    this.log.info({ deploymentId: rec.id, threshold: rec.threshold, endsAt: new Date(endsAt).toISOString() }, 'deployment started');
    this.beatOrigin = performance.now() - Math.max(0, this.clock() - rec.startedAt);
    this.arm();
    return rec;
  }

  private async end(reason: EndReason, actor: string): Promise<DeploymentReport> {
    const cur = this.store.running();
    if (!cur) throw new DeploymentError('no deployment is running', 'not_running');
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    // Each step in its own try: a failing matcher must not keep the watchlist alive.
    try {
      await this.hooks.stopAnalysis();
    } catch (err) {
      this.log.error({ err }, 'stopping analysis failed');
    }
    let counts = cur.counts;
    try {
      counts = this.counts(cur);
    } catch (err) {
      this.log.error({ err }, 'reading the deployment counters failed; the last checkpoint is reported');
    }
    this.analysing = false;
    try {
      this.flushPendingLedger();
    } catch (err) {
      this.log.error({ err }, 'alerts kept in memory could not be added to the deployment record');
    }
    let purged = false;
    try {
      // The record names the bundle: after a power cut the tmpfs copy is gone, and the bundle must
      // still be recorded as ended so re-inserting the stick does not start it again.
      purged = await this.hooks.purgeWatchlist(cur.watchlist.bundleId ?? null, actor);
    } catch (err) {
      this.log.error({ err }, 'watchlist purge at deployment end failed');
    }
    const endedAt = this.clock();
    const uptime = this.uptime?.snapshot(endedAt) ?? cur.uptime;
    this.uptime = null;
    const report = buildReport({ record: cur, endedAt, endReason: reason, analysis: counts, alerts: this.store.ledger(cur.id), uptime, cameraLocations: this.hooks.cameraLocations?.() ?? {}, watchlistPurged: purged, version: 1, generatedAt: endedAt });
    // Audit first, then sign the head that now includes this deployment.end entry and print it in
    // the report (docs/audit.md, "Anchoring"); only then is the deployment recorded as finished.
    this.audit.record('deployment.end', { deploymentId: cur.id, reason, durationMinutes: report.durationMinutes, facesAnalysed: counts.facesAnalysed, peopleSeen: counts.peopleSeen, alerts: report.alerts, confirmed: report.confirmed, falseAlerts: report.falseAlerts, undecided: report.undecided, watchlistPurged: purged, publishBy: report.publishBy }, actor);
    report.auditHead = this.anchor();
    this.store.finish(cur.id, endedAt, reason, counts, uptime, report);
    this.log.info({ deploymentId: cur.id, reason, watchlistPurged: purged }, 'deployment ended');
    this.lastReport = report;
    return report;
  }

  private anchor(): DeploymentReport['auditHead'] {
    try {
      return this.audit.anchor?.() ?? null;
    } catch (err) {
      this.log.error({ err }, 'the audit head could not be signed; the report carries none');
      return null;
    }
  }

  /** Regenerate an ended deployment's report from its records (a late decision): a new version. */
  private async revise(id: string): Promise<DeploymentReport | null> {
    const rec = this.store.get(id);
    const prev = this.store.report(id);
    if (!rec || rec.endedAt === null || !rec.endReason || !prev) return null;
    const report = buildReport({ record: rec, endedAt: rec.endedAt, endReason: rec.endReason, analysis: rec.counts, alerts: this.store.ledger(id), uptime: rec.uptime, cameraLocations: this.hooks.cameraLocations?.() ?? {}, watchlistPurged: prev.watchlistPurged, version: prev.version + 1, generatedAt: this.clock() });
    report.changes = [...(prev.changes ?? []), { version: report.version, at: report.generatedAt, what: reportChanges(prev, report) }];
    this.audit.record('deployment.report_revised', { deploymentId: id, version: report.version, confirmed: report.confirmed, falseAlerts: report.falseAlerts, undecided: report.undecided, lateDecisions: report.lateDecisions }, 'system');
    report.auditHead = this.anchor();
    this.store.saveReport(report);
    if (this.lastReport?.deploymentId === id) this.lastReport = report;
    this.log.info({ deploymentId: id, version: report.version }, 'results report regenerated after a late decision');
    return report;
  }

  /**
   * Compare the end with the clock now rather than at the next beat: the live matcher refused a
   * match after a deadline (a clock stepped forward), so the deployment ends at once.
   */
  recheck(): void {
    if (this.timer) this.arm();
  }

  /** Wake at the deadline, or at the next beat of the clock check, whichever is first, and compare with the clock. */
  private arm(): void {
    if (this.timer) clearTimeout(this.timer);
    const cur = this.store.running();
    if (!cur) return;
    const left = cur.endsAt - this.clock();
    let toBeat = CLOCK_CHECK_MS - ((performance.now() - this.beatOrigin) % CLOCK_CHECK_MS);
    // A timer that fired a hair before its beat must not check twice in a row.
    if (toBeat < 1000) toBeat += CLOCK_CHECK_MS;
    this.timer = setTimeout(() => {
      this.timer = null;
      let still: DeploymentRecord | null;
      try {
        still = this.store.running();
      } catch (err) {
        // Nothing thrown from a timer may end the process: try again at the next tick.
        this.log.error({ err }, 'the deployment record could not be read');
        this.arm();
        return;
      }
      if (!still || still.id !== cur.id) return;
      if (this.clock() >= still.endsAt) {
        const reason: EndReason = still.endsAt < Date.parse(still.watchlist.expiresAt) ? 'ends_at_reached' : 'watchlist_expired';
        this.serial(() => this.end(reason, 'system')).catch((err: unknown) => this.log.error({ err }, 'automatic deployment end failed'));
      } else {
        this.checkpoint();
        // The watchlist's life on the same beat (the holder skips its own check meanwhile).
        this.hooks.recheckWatchlist?.().catch((err: unknown) => this.log.error({ err }, 'the watchlist check failed'));
        this.arm();
      }
    }, Math.max(0, Math.min(left, toBeat)));
  }
}
