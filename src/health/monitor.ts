// The daemon's health loop: every health.intervalSeconds it gathers facts, evaluates the probes,
// checkpoints the deployment counters, hands the status summary to the publisher (the retained
// status topic) and keeps the snapshot the metrics endpoint and the control socket serve.
import { ZERO_COUNTS } from '../deployment/types.js';
import type { Config } from '../config/schema.js';
import type { Clock, Component } from '../lifecycle.js';
import type { Logger } from '../log.js';
import type { DeploymentService } from '../deployment/service.js';
import { HealthService, type LiveSources } from './gather.js';
import { MetricsServer, type DeploymentGauge } from './metrics.js';
import { buildStatus, type StatusSummary } from './status.js';
import type { HealthFacts, HealthReport } from './types.js';
import { evaluate, worst } from './probes.js';
import { thresholdsOf } from './gather.js';

export interface MonitorDeps {
  cfg: Config;
  clock: Clock;
  log: Logger;
  live: LiveSources;
  deployments: DeploymentService | null;
  /** The live matcher's counters (src/match/live.ts), for `lfr status`. */
  analysis?: () => NonNullable<StatusSummary['analysis']>;
  /** src/mqtt publishStatus(summary): retained, so a tablet that connects late sees it. */
  publishStatus?: (s: StatusSummary) => void | Promise<void>;
}

export class HealthMonitor implements Component {
  readonly name = 'health';
  private readonly service: HealthService;
  private readonly metrics: MetricsServer | null;
  private timer: NodeJS.Timeout | null = null;
  private facts: HealthFacts | null = null;
  private report: HealthReport | null = null;
  /** When `report` was evaluated (the clock's ms), for `freshStatus`. */
  private reportAt = 0;
  private lastImport: StatusSummary['lastImport'] = null;
  private running: Promise<void> | null = null;
  metricsPort: number | null = null;

  constructor(private readonly d: MonitorDeps) {
    this.service = new HealthService(d.cfg, d.clock, d.live);
    this.metrics = d.cfg.health.metricsPort > 0 ? new MetricsServer(d.cfg.health.metricsPort, () => ({ report: this.report, facts: this.facts, deployment: this.gauge(), performance: d.live.performance?.() ?? null })) : null;
  }

  async start(): Promise<void> {
    if (this.metrics) this.metricsPort = await this.metrics.start();
    await this.refresh();
    this.schedule();
  }

  async stop(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    await this.running?.catch(() => undefined);
    await this.metrics?.stop();
  }

  /** Re-evaluate now (also used by `lfr health` through the control socket). */
  async refresh(): Promise<HealthReport> {
    const facts = await this.service.facts();
    this.facts = facts;
    let running = false;
    try {
      running = (this.d.deployments?.current() ?? null) !== null;
    } catch (err) {
      this.d.log.warn({ err }, 'the deployment record could not be read');
    }
    const report = evaluate(facts, thresholdsOf(this.d.cfg), running);
    // The checkpoint never throws (a full disk degrades the van); its trouble is a FAIL here.
    this.d.deployments?.checkpoint();
    const problem = this.d.deployments?.recordProblem() ?? null;
    if (problem) {
      report.checks.push({ name: 'deployment record', level: 'FAIL', message: problem });
      report.level = worst(report.checks);
    }
    this.report = report;
    this.reportAt = this.d.clock();
    await this.publish();
    return this.report;
  }

  /**
   * The status with a health verdict as fresh as its camera lines (`lfr status`): the health is
   * re-evaluated when the last verdict is older than `maxAgeMs`, instead of printing a line up to
   * health.intervalSeconds (30 s) stale beside cameras read now.
   */
  async freshStatus(maxAgeMs = 2000): Promise<StatusSummary> {
    if (!this.report || this.d.clock() - this.reportAt > maxAgeMs) {
      try {
        await this.refresh();
      } catch (err) {
        this.d.log.warn({ err }, 'health re-evaluation for the status failed; the last verdict is shown');
      }
    }
    return this.status();
  }

  status(): StatusSummary {
    const dep = this.d.deployments?.status();
    return buildStatus({
      vanId: this.d.cfg.van.id,
      now: this.d.clock(),
      report: this.report,
      cameras: this.d.live.cameras?.() ?? this.facts?.cameras ?? [],
      deployment: { running: dep?.running ?? null, counts: dep?.counts ?? ZERO_COUNTS, lastReport: dep?.lastReport ?? null, staleReports: dep?.staleReports ?? [] },
      lastImport: this.lastImport,
      analysis: this.d.analysis?.() ?? null,
      ...(this.d.live.performance ? { performance: this.d.live.performance() } : {}),
    });
  }

  /** Record a watchlist import result (USB or CLI) and publish it at once. */
  noteImport(i: NonNullable<StatusSummary['lastImport']>): void {
    this.lastImport = i;
    void this.publish();
  }

  /** Publish the summary now (after a deployment start/end, so tablets need not wait). */
  async publish(): Promise<void> {
    if (!this.d.publishStatus) return;
    try {
      await this.d.publishStatus(this.status());
    } catch (err) {
      this.d.log.warn({ err }, 'status publish failed');
    }
  }

  private gauge(): DeploymentGauge | null {
    const s = this.d.deployments?.status();
    if (!s) return null;
    return { running: s.running !== null, ...s.counts };
  }

  private schedule(): void {
    this.timer = setTimeout(() => {
      this.running = this.refresh()
        .then(() => undefined)
        .catch((err: unknown) => this.d.log.error({ err }, 'health refresh failed'))
        .finally(() => {
          this.running = null;
          if (this.timer) this.schedule();
        });
    }, this.d.cfg.health.intervalSeconds * 1000);
    this.timer.unref();
  }
}
