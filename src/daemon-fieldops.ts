// Field operations mounted on the daemon (issues 6 and 8), one job: turn the daemon's parts into
// the deployment hooks, the health monitor's live sources, the control socket's handlers and the
// tablet page, and bring those up and down in order. The daemon owns the parts; this file only
// connects them (docs/operations.md, "For the daemon: what to mount").
//
//   start: deployment service (resumes a running deployment, arms its automatic end)
//          -> control socket -> tablet page -> health monitor (metrics on 127.0.0.1 + status
//          loop; last, so its first evaluation already sees whether the page is served)
//   stop:  the reverse.
import type { Config } from './config/schema.js';
import type { Clock, Component } from './lifecycle.js';
import type { Logger } from './log.js';
import type { AuditLog } from './audit/log.js';
import type { AlertService } from './alerts/service.js';
import type { WatchlistHolder } from './watchlist/holder.js';
import type { CameraManager } from './ingest/manager.js';
import { watchlistComposition } from './watchlist/service.js';
import { ControlServer } from './control/server.js';
import { controlHandlers } from './control/handlers.js';
import { controlSocketPath } from './control/protocol.js';
import { DeploymentService, type DeploymentHooks } from './deployment/service.js';
import { DeploymentStore, deploymentsFile } from './deployment/store.js';
import { ZERO_COUNTS, type DeploymentCounts } from './deployment/types.js';
import { HealthMonitor } from './health/monitor.js';
import { auditFactsOf, cameraFactsFromStats, toStatusPayload } from './health/status.js';
import { tabletServerFromConfig, type TabletServer } from './tablet/server.js';
import type { AnalysisFacts, PerformanceFacts } from './health/types.js';
import type { PoolAudit } from './vision/buffers.js';

/** What the daemon lets the deployment service switch: analysis on/off and its counters. */
export interface AnalysisControl {
  startAnalysis(threshold: number): void;
  stopAnalysis(): void;
  /** Faces analysed and alerts raised since startAnalysis. */
  analysisCounts(): { facesAnalysed: number; alerts: number };
  /** Analysis progress and inference workers (health), event-loop delay and latency (status, metrics). */
  analysisFacts(): AnalysisFacts;
  performance(): PerformanceFacts;
  /** Buffer pools holding faces, main thread and workers: counts only (`lfr audit buffers`). */
  bufferAudit(): Promise<PoolAudit[]>;
}

export interface FieldOpsDeps {
  config: Config;
  log: Logger;
  clock: Clock;
  audit: AuditLog;
  alerts: AlertService;
  mqttConnected: () => boolean;
  watchlist: WatchlistHolder;
  cameras: CameraManager;
  analysis: AnalysisControl;
}

export class FieldOps implements Component {
  readonly name = 'fieldops';
  readonly deployments: DeploymentService;
  readonly monitor: HealthMonitor;
  private readonly control: ControlServer;
  private tablet: TabletServer | null = null;
  private tabletError: string | null = null;
  private started: Component[] = [];
  /** Officer decisions on alerts raised since the deployment started (alert id -> outcome). */
  private decisions = new Map<string, string>();
  private unsubscribe: (() => void) | null = null;
  private deploymentId: string | null = null;
  /** Counts checkpointed before a restart: a resumed deployment carries on from them. */
  private base: DeploymentCounts = ZERO_COUNTS;

  constructor(private readonly d: FieldOpsDeps) {
    const cfg = d.config;
    const wlOpts = { storeFile: cfg.watchlist.storeFile, maxAgeHours: cfg.watchlist.maxAgeHours, clock: d.clock };
    const hooks: DeploymentHooks = {
      loadWatchlist: async (file) => (await d.watchlist.importFile(file)).composition,
      currentWatchlist: () => watchlistComposition(wlOpts),
      startAnalysis: async ({ deploymentId, threshold, resume }) => {
        // After a restart (resume) or a USB import the store may exist but not be open yet.
        if (!d.watchlist.current) await d.watchlist.checkNow();
        if (!d.watchlist.current) throw new Error(resume ? 'no watchlist to resume with' : 'the watchlist could not be opened');
        this.deploymentId = deploymentId;
        this.decisions.clear();
        this.base = resume ? { ...(this.deployments.current()?.counts ?? ZERO_COUNTS) } : ZERO_COUNTS;
        d.analysis.startAnalysis(threshold);
      },
      stopAnalysis: async () => {
        d.analysis.stopAnalysis();
        this.deploymentId = null;
      },
      purgeWatchlist: async () => {
        await d.watchlist.purge('deployment_end');
        return d.watchlist.current === null;
      },
      counts: () => this.counts(),
      cameras: () => cfg.cameras.filter((c) => c.enabled).map((c) => c.name),
    };
    this.deployments = new DeploymentService(new DeploymentStore(deploymentsFile(cfg)), hooks, d.audit, { maxHours: cfg.deployment.maxHours, requireOfficer: cfg.deployment.requireOfficer }, d.clock, d.log.child({ module: 'deployment' }));
    const watchlistSummary = () => {
      const w = watchlistComposition(wlOpts);
      return w ? { subjects: w.subjects, expiresAt: w.expiresAt } : null;
    };
    this.monitor = new HealthMonitor({
      cfg,
      clock: d.clock,
      log: d.log.child({ module: 'health' }),
      deployments: this.deployments,
      live: {
        cameras: () => cameraFactsFromStats(d.cameras.stats(), cfg.cameras),
        broker: () => ({ connected: d.mqttConnected() }),
        watchlistLoaded: () => d.watchlist.current !== null,
        oldestAlertAt: () => {
          const next = d.alerts.nextExpiry();
          return next === null ? null : next - cfg.alerts.retentionHours * 3_600_000;
        },
        auditVerify: () => auditFactsOf(d.audit.verify()),
        deploymentRunning: () => this.deployments.current() !== null,
        tablet: () => (cfg.tablet.enabled ? (this.tablet ? { served: true } : { served: false, reason: this.tabletError ?? 'not started' }) : null),
        analysis: () => d.analysis.analysisFacts(),
        performance: () => d.analysis.performance(),
      },
      publishStatus: (s) => d.alerts.publishStatus(toStatusPayload(s, d.alerts.pendingCount(), watchlistSummary())),
    });
    this.control = new ControlServer(
      controlSocketPath(cfg.paths.runtimeDir),
      controlHandlers({
        deployments: this.deployments,
        health: () => this.monitor.refresh(),
        status: () => this.monitor.status(),
        afterChange: () => this.monitor.publish(),
        importWatchlist: (file, actor, source) => this.importWatchlist(file, actor, source),
        bufferAudit: () => d.analysis.bufferAudit(),
      }),
      d.log.child({ module: 'control' }),
    );
  }

  async start(signal: AbortSignal): Promise<void> {
    this.unsubscribe = this.d.alerts.onAdjudication((r) => {
      if (this.deploymentId) this.decisions.set(r.alertId, r.outcome);
    });
    const step = async (c: Component, start: () => Promise<unknown>): Promise<void> => {
      signal.throwIfAborted();
      this.started.push(c);
      await start();
    };
    await step(this.deployments, () => this.deployments.start());
    await step(this.control, () => this.control.start());
    const tablet = tabletServerFromConfig(this.d.config, this.d.log);
    if (tablet) {
      try {
        await tablet.start(signal);
        this.started.push(tablet);
        this.tablet = tablet;
      } catch (err) {
        // The van still detects and alerts without the page (tablets can be served elsewhere);
        // a missing certificate must not take the whole daemon down.
        this.tabletError = (err as Error).message;
        this.d.log.error({ reason: this.tabletError }, 'tablet page not served: its certificate or key could not be read, or its port is taken');
      }
    }
    await step(this.monitor, () => this.monitor.start());
  }

  /** True when tablet.enabled is set but the page is not being served. */
  get tabletDown(): boolean {
    return this.d.config.tablet.enabled && this.tablet === null;
  }

  async stop(): Promise<void> {
    this.unsubscribe?.();
    for (const c of this.started.reverse()) {
      try {
        await c.stop();
      } catch (err) {
        this.d.log.error({ err, component: c.name }, 'component stop failed');
      }
    }
    this.started = [];
  }

  private counts(): DeploymentCounts {
    const a = this.d.analysis.analysisCounts();
    const b = this.base;
    let confirmed = b.confirmed;
    let falseAlerts = b.falseAlerts;
    for (const o of this.decisions.values()) {
      if (o === 'confirmed_match') confirmed++;
      else if (o === 'false_alert') falseAlerts++;
    }
    const alerts = b.alerts + a.alerts;
    return { facesAnalysed: b.facesAnalysed + a.facesAnalysed, alerts, confirmed, falseAlerts, undecided: Math.max(0, alerts - confirmed - falseAlerts) };
  }

  private async importWatchlist(file: string, actor: string, source: string): Promise<unknown> {
    try {
      const c = (await this.d.watchlist.importFile(file)).composition;
      this.d.audit.record('watchlist.import', { source, subjects: c.subjects, bundleSha256: c.bundleSha256 }, actor);
      this.monitor.noteImport({ at: new Date(this.d.clock()).toISOString(), source, ok: true, message: `${c.subjects} people`, subjects: c.subjects });
      return { subjects: c.subjects, categories: c.categories, bundleSha256: c.bundleSha256 };
    } catch (err) {
      const message = (err as Error).message;
      this.d.audit.record('watchlist.import', { source, ok: false, message: message.slice(0, 200) }, actor);
      this.monitor.noteImport({ at: new Date(this.d.clock()).toISOString(), source, ok: false, message });
      throw err;
    }
  }
}
