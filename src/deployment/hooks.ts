// The deployment service's hooks, built from the van's parts (the composition root passes them
// in): the watchlist it loads and purges, the analysis it switches, the analysis counts (faces,
// people seen; alerts and decisions are the service's own ledger), the cameras' states and the
// broker link (start checks, live time). Counts checkpointed before a restart are the base a
// resumed deployment carries on from.
import type { Config } from '../config/schema.js';
import type { Clock } from '../lifecycle.js';
import type { WatchlistHolder } from '../watchlist/holder.js';
import type { AnalysisControl } from '../match/live.js';
import type { CameraStats } from '../ingest/manager.js';
import type { CameraReadiness, DeploymentHooks } from './service.js';
import type { AnalysisCounts, DeploymentRecord, ThresholdBasis, WatchlistSummary } from './types.js';
import { describeChoice, fpirAt, loadCalibration, thresholdForFpir, type ImpostorCalibration } from '../match/fpir.js';
import { readStatement, statementAt, type EquitabilityRecord } from '../match/equitability.js';
import { findModel, loadManifest } from '../vision/manifest.js';
import { modelsDirOf } from '../vision/engine.js';
import { checkVolatileStorage, readVolatileFacts } from '../health/storage.js';

export interface VanHooksDeps {
  config: Config;
  clock: Clock;
  watchlist: WatchlistHolder;
  analysis: AnalysisControl;
  /** No core dump, no swap: analysis never starts while it names a problem. */
  memory?: { problem(): string | null };
  /** The running deployment's last checkpoint (for a resume). */
  running: () => DeploymentRecord | null;
  /** The alert service: alerts raised while a deployment runs belong to it. */
  alerts: { setDeployment(id: string | null): void };
  /** The camera manager's stats (states for the start checks and the live time). */
  cameraStats: () => CameraStats[];
  brokerConnected: () => boolean;
}

export class VanDeploymentHooks implements DeploymentHooks {
  private base: Required<AnalysisCounts> = { facesAnalysed: 0, peopleSeen: 0, splitTracks: 0 };

  constructor(private readonly d: VanHooksDeps) {}

  async loadWatchlist(file: string, actor: string): Promise<WatchlistSummary> {
    return (await this.d.watchlist.importFile(file, { actor, source: 'deployment.start' })).composition;
  }

  /** The verified composition in memory (store MAC and signer checked), never the file's own claim. */
  currentWatchlist(): WatchlistSummary | null {
    return this.d.watchlist.composition();
  }

  async startAnalysis({ deploymentId, threshold, resume, endsAt }: { deploymentId: string; threshold: number; resume: boolean; endsAt: number }): Promise<void> {
    // An import admitted before this deployment existed must not finish after it started.
    await this.d.watchlist.lockForDeployment(deploymentId);
    // After a restart (resume) or a USB import the store may exist but not be open yet.
    if (!this.d.watchlist.current) await this.d.watchlist.checkNow();
    if (!this.d.watchlist.current) throw new Error(resume ? 'no watchlist to resume with' : 'the watchlist could not be opened');
    // The deployment record names the bundle that is matched against: it must be the one in memory.
    this.d.watchlist.assertBound();
    const unsafe = this.d.memory?.problem() ?? null;
    if (unsafe) throw new Error(unsafe);
    this.d.alerts.setDeployment(deploymentId);
    const c = resume ? this.d.running()?.counts : undefined;
    this.base = { facesAnalysed: c?.facesAnalysed ?? 0, peopleSeen: c?.peopleSeen ?? 0, splitTracks: c?.splitTracks ?? 0 };
    this.d.analysis.startAnalysis(threshold, { deploymentId, endsAtMs: endsAt });
  }

  async stopAnalysis(): Promise<void> {
    this.d.analysis.stopAnalysis();
    this.d.alerts.setDeployment(null);
  }

  recheckWatchlist(): Promise<void> {
    return this.d.watchlist.checkNow();
  }

  async purgeWatchlist(bundleId: string | null, actor: string): Promise<boolean> {
    await this.d.watchlist.purge('deployment_end', actor, bundleId);
    return this.d.watchlist.current === null;
  }

  counts(): AnalysisCounts {
    const a = this.d.analysis.analysisCounts();
    return { facesAnalysed: this.base.facesAnalysed + a.facesAnalysed, peopleSeen: this.base.peopleSeen + a.tracks, splitTracks: this.base.splitTracks + a.splits };
  }

  cameras(): string[] {
    return this.d.config.cameras.filter((c) => c.enabled).map((c) => c.name);
  }

  cameraStates(): CameraReadiness[] {
    const stats = new Map(this.d.cameraStats().map((s) => [s.camera, s]));
    return this.cameras().map((name) => cameraReadiness(name, stats.get(name)));
  }

  brokerConnected(): boolean {
    return this.d.brokerConnected();
  }

  /**
   * storage.volatile FAIL (the watchlist store, alert keys or uploads on a disk, where a purge does
   * not really delete): refuses a start, or enters its degraded list with --allow-degraded.
   */
  safeguardProblems(): string[] {
    const c = checkVolatileStorage(readVolatileFacts(this.d.config));
    return c.level === 'FAIL' ? [`storage.volatile: ${c.message}`] : [];
  }

  cameraLocations(): Record<string, string | null> {
    return Object.fromEntries(this.d.config.cameras.map((c) => [c.name, c.location ?? null]));
  }

  private calibration: Promise<ImpostorCalibration> | null = null;

  /** The configured embedder's impostor calibration, checked against its manifest hash. */
  private loadCalibration(): Promise<ImpostorCalibration> {
    const cfg = this.d.config;
    this.calibration ??= (async () => {
      const dir = modelsDirOf(cfg);
      const entry = findModel(await loadManifest(dir), cfg.vision.embedder, 'embedder');
      return loadCalibration(dir, entry, cfg.vision.mirrorAugment);
    })();
    // A failure is not cached: a fixed file can be retried without a restart.
    this.calibration.catch(() => (this.calibration = null));
    return this.calibration;
  }

  async checkCalibration(): Promise<void> {
    if (this.d.config.match.targetFpir !== undefined) await this.loadCalibration();
  }

  async thresholdBasis(q: { targetFpir?: number; threshold?: number; templates: number }): Promise<{ threshold: number; basis: ThresholdBasis | null; message: string | null }> {
    // No threshold asked for: the config's target FPIR if it has one, else its fixed threshold.
    const targetFpir = q.targetFpir ?? (q.threshold === undefined ? this.d.config.match.targetFpir : undefined);
    const cal = await this.loadCalibration();
    const choice =
      targetFpir !== undefined
        ? thresholdForFpir(cal, targetFpir, q.templates)
        : (() => {
            const threshold = q.threshold ?? this.d.config.match.threshold;
            const e = fpirAt(cal, threshold, q.templates);
            return { threshold, templates: q.templates, fpir: e.fpir, expectedFalseAlertsPer10k: e.fpir * 10_000, support: e.support, extrapolated: e.extrapolated };
          })();
    const basis: ThresholdBasis = {
      targetFpir: targetFpir ?? null,
      templates: q.templates,
      fpir: Number(choice.fpir.toPrecision(3)),
      expectedFalseAlertsPer10k: Number(choice.expectedFalseAlertsPer10k.toPrecision(3)),
      support: choice.support,
      extrapolated: choice.extrapolated,
      embedderSha256: cal.embedderSha256,
    };
    return { threshold: choice.threshold, basis, message: describeChoice({ ...choice, targetFpir: targetFpir ?? null }) };
  }

  /**
   * The model pack's equitability statement at the deployment's threshold. A missing or foreign
   * statement never stops a deployment (the report then says there is none, and why): it is a
   * published fact about the models, not a safeguard of this run.
   */
  async equitability(threshold: number): Promise<EquitabilityRecord> {
    const cfg = this.d.config;
    try {
      const dir = modelsDirOf(cfg);
      const entry = findModel(await loadManifest(dir), cfg.vision.embedder, 'embedder');
      const s = await readStatement(dir, entry);
      return statementAt(s, { threshold, detector: cfg.vision.detector, landmarker: cfg.vision.landmarker, mirrorAugment: cfg.vision.mirrorAugment });
    } catch (err) {
      return { available: false, reason: (err as Error).message };
    }
  }
}

/**
 * One camera as a deployment start sees it. A camera that has never delivered a frame since the
 * daemon started it, and whose supervisor keeps trying (a slow first frame on a busy box: the
 * connect timeout fired, a retry is scheduled), is still 'connecting': the start waits for it
 * (its grace period) instead of refusing at once. A camera that was live and lost its stream is
 * 'reconnecting', and a permanent failure 'failed': both refuse a start without --allow-degraded.
 */
export function cameraReadiness(name: string, s: Pick<CameraStats, 'state' | 'lastError'> & Partial<Pick<CameraStats, 'everLive' | 'retrying'>> | undefined): CameraReadiness {
  if (!s) return { name, live: false, state: 'not started' };
  const firstConnection = s.everLive === false && (s.state === 'connecting' || (s.state === 'failed' && s.retrying === true));
  const state = firstConnection ? 'connecting' : s.state === 'connecting' && s.lastError ? 'reconnecting' : s.state;
  return { name, live: s.state === 'live', state, ...(s.lastError && s.state !== 'live' ? { reason: s.lastError } : {}) };
}
