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
import type { AnalysisCounts, DeploymentRecord, WatchlistSummary } from './types.js';

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
  private base: AnalysisCounts = { facesAnalysed: 0, peopleSeen: 0 };

  constructor(private readonly d: VanHooksDeps) {}

  async loadWatchlist(file: string, actor: string): Promise<WatchlistSummary> {
    return (await this.d.watchlist.importFile(file, { actor, source: 'deployment.start' })).composition;
  }

  /** The verified composition in memory (store MAC and signer checked), never the file's own claim. */
  currentWatchlist(): WatchlistSummary | null {
    return this.d.watchlist.composition();
  }

  async startAnalysis({ deploymentId, threshold, resume }: { deploymentId: string; threshold: number; resume: boolean }): Promise<void> {
    // After a restart (resume) or a USB import the store may exist but not be open yet.
    if (!this.d.watchlist.current) await this.d.watchlist.checkNow();
    if (!this.d.watchlist.current) throw new Error(resume ? 'no watchlist to resume with' : 'the watchlist could not be opened');
    // The deployment record names the bundle that is matched against: it must be the one in memory.
    this.d.watchlist.assertBound();
    const unsafe = this.d.memory?.problem() ?? null;
    if (unsafe) throw new Error(unsafe);
    this.d.alerts.setDeployment(deploymentId);
    const c = resume ? this.d.running()?.counts : undefined;
    this.base = { facesAnalysed: c?.facesAnalysed ?? 0, peopleSeen: c?.peopleSeen ?? 0 };
    this.d.analysis.startAnalysis(threshold);
  }

  async stopAnalysis(): Promise<void> {
    this.d.analysis.stopAnalysis();
    this.d.alerts.setDeployment(null);
  }

  async purgeWatchlist(): Promise<boolean> {
    await this.d.watchlist.purge('deployment_end');
    return this.d.watchlist.current === null;
  }

  counts(): AnalysisCounts {
    const a = this.d.analysis.analysisCounts();
    return { facesAnalysed: this.base.facesAnalysed + a.facesAnalysed, peopleSeen: this.base.peopleSeen + a.tracks };
  }

  cameras(): string[] {
    return this.d.config.cameras.filter((c) => c.enabled).map((c) => c.name);
  }

  cameraStates(): CameraReadiness[] {
    const stats = new Map(this.d.cameraStats().map((s) => [s.camera, s]));
    return this.cameras().map((name) => {
      const s = stats.get(name);
      if (!s) return { name, live: false, state: 'not started' };
      const state = s.state === 'connecting' && s.lastError ? 'reconnecting' : s.state;
      return { name, live: s.state === 'live', state, ...(s.lastError && s.state !== 'live' ? { reason: s.lastError } : {}) };
    });
  }

  brokerConnected(): boolean {
    return this.d.brokerConnected();
  }

  cameraLocations(): Record<string, string | null> {
    return Object.fromEntries(this.d.config.cameras.map((c) => [c.name, c.location ?? null]));
  }
}
