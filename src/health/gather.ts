// Gathers HealthFacts and evaluates them. Inside the daemon, live sources (camera manager,
// MQTT client, alert store, audit log) give the real-time view; from the CLI with no daemon the
// gatherer falls back to active probes (RTSP OPTIONS, a broker connect) so a technician still
// learns which cable is out before start-up.
import { statSync } from 'node:fs';
import path from 'node:path';
import type { Config } from '../config/schema.js';
import type { Clock } from '../lifecycle.js';
import { findModel, loadManifest, readVerifiedModel } from '../vision/manifest.js';
import { watchlistStatus } from '../watchlist/service.js';
import { probeBroker, probeCamera } from './active.js';
import { evaluate } from './probes.js';
import { readMemoryFacts, type MemorySafetyFacts } from './memory-safety.js';
import { readClockFacts } from './system.js';
import { readVolatileFacts } from './storage.js';
import { vanKeyProtection } from '../crypto/sealed.js';
import { readSystemFactsOffLoop } from './system-probe.js';
import { readVanCaFacts } from './van-ca.js';
import type { AnalysisFacts, PerformanceFacts, AuditFacts, BrokerFacts, CameraFacts, HealthFacts, HealthReport, HealthThresholds, ModelFacts, WatchlistFacts } from './types.js';

/** What a running daemon knows better than any probe. Every member is optional. */
export interface LiveSources {
  cameras?(): CameraFacts[];
  broker?(): BrokerFacts;
  /** True when the matcher holds a decrypted watchlist. */
  watchlistLoaded?(): boolean;
  /** Capture time (ms) of the oldest stored alert, null when none. */
  oldestAlertAt?(): number | null | Promise<number | null>;
  auditVerify?(): AuditFacts | Promise<AuditFacts>;
  deploymentRunning?(): boolean;
  /** The daemon's own core-dump and swap facts (MemoryGuard). */
  memorySafety?(): MemorySafetyFacts;
  /** tablet.enabled: whether the page is being served (null when not enabled). */
  tablet?(): { served: boolean; reason?: string } | null;
  /** Analysis progress per camera and the inference workers (src/health/analysis.ts). */
  progress?(): AnalysisFacts;
  /** Event-loop delay and decision latency, read when asked (status, metrics). */
  performance?(): PerformanceFacts;
}

export function thresholdsOf(cfg: Config): HealthThresholds {
  const h = cfg.health;
  return {
    maxCpuTempC: h.maxCpuTempC,
    minFreeDiskMb: h.minFreeDiskMb,
    maxLoadPerCore: h.maxLoadPerCore,
    minFreeMemMb: h.minFreeMemMb,
    maxGpuTempC: h.maxGpuTempC,
    minCameraFps: h.minCameraFps,
    warnWatchlistExpiryMinutes: h.warnWatchlistExpiryMinutes,
  };
}

export class HealthService {
  /** Model hashes are re-read only when a file's size or mtime changes (they are MBs each). */
  private modelCache = new Map<string, ModelFacts>();

  /**
   * `live`: the running daemon's own view (null when gathering from the CLI). `daemonAnswers`:
   * from the CLI, whether the daemon answered on its control socket (`lfr health --local` probes
   * from outside but must not call a running daemon "not running").
   */
  constructor(
    private readonly cfg: Config,
    private readonly clock: Clock,
    private readonly live: LiveSources | null,
    private readonly daemonAnswers = false,
  ) {}

  async facts(): Promise<HealthFacts> {
    const live = this.live;
    const [system, clock, cameras, broker, models, alertsOldest, audit] = await Promise.all([
      // In a worker thread: systeminformation runs dmidecode, lspci and nvidia-smi with execSync.
      readSystemFactsOffLoop([this.cfg.paths.stateDir, this.cfg.paths.runtimeDir]).catch(() => null),
      readClockFacts(),
      live?.cameras ? Promise.resolve(live.cameras()) : Promise.all(this.cfg.cameras.map((c) => probeCamera(c))),
      live?.broker ? Promise.resolve(live.broker()) : probeBroker(this.cfg.mqtt),
      this.modelFacts(),
      live?.oldestAlertAt ? Promise.resolve(live.oldestAlertAt()).catch(() => undefined) : Promise.resolve(undefined),
      live?.auditVerify ? Promise.resolve(live.auditVerify()).catch((err: Error) => ({ intact: false, message: `audit check failed: ${err.message}` })) : Promise.resolve(null),
    ]);
    const tablet = live?.tablet?.() ?? null;
    const analysis = live?.progress?.();
    const memory = live?.memorySafety ? { facts: live.memorySafety(), self: true } : { facts: readMemoryFacts(), self: false };
    return {
      ...(tablet ? { tablet } : {}),
      ...(analysis ? { analysis } : {}),
      memory,
      volatile: readVolatileFacts(this.cfg),
      keys: vanKeyProtection(this.cfg.watchlist.vanKeyFile),
      ...(this.cfg.mqtt.caFile ? { vanCa: readVanCaFacts(this.cfg.mqtt.caFile) } : {}),
      now: this.clock(),
      daemonRunning: live !== null || this.daemonAnswers,
      system,
      clock,
      cameras,
      broker,
      models,
      watchlist: this.watchlistFacts(),
      alerts: alertsOldest === undefined ? null : { oldestCapturedAt: alertsOldest, retentionHours: this.cfg.alerts.retentionHours },
      audit,
    };
  }

  async report(): Promise<HealthReport> {
    const f = await this.facts();
    return evaluate(f, thresholdsOf(this.cfg), this.live?.deploymentRunning?.() ?? false);
  }

  private watchlistFacts(): WatchlistFacts {
    try {
      // Read only: a probe never deletes (the holder purges, on its guarded clock, audited). A store
      // past its life shows as such (expiresAtMs in the past: FAIL) until the holder's tick.
      const st = watchlistStatus({ storeFile: this.cfg.watchlist.storeFile, maxAgeHours: this.cfg.watchlist.maxAgeHours, clock: this.clock, readOnly: true });
      if (!st.present) return { present: false, loaded: this.live?.watchlistLoaded?.() ?? null, expiresAtMs: null, subjects: null };
      return { present: true, loaded: this.live?.watchlistLoaded?.() ?? null, expiresAtMs: st.expiresAtMs, subjects: st.composition.subjects };
    } catch (err) {
      return { present: false, loaded: null, expiresAtMs: null, subjects: null, error: `watchlist store unreadable: ${(err as Error).message}` };
    }
  }

  private async modelFacts(): Promise<ModelFacts[]> {
    const v = this.cfg.vision;
    let manifest;
    try {
      manifest = await loadManifest(this.cfg.paths.modelsDir);
    } catch (err) {
      return [{ id: 'manifest', ok: false, message: (err as Error).message }];
    }
    const wanted: Array<[string, 'detector' | 'landmarker' | 'embedder']> = [[v.detector, 'detector'], [v.embedder, 'embedder']];
    if (v.landmarker !== 'none') wanted.push([v.landmarker, 'landmarker']);
    const out: ModelFacts[] = [];
    for (const [id, role] of wanted) {
      try {
        const entry = findModel(manifest, id, role);
        const st = statSync(path.join(this.cfg.paths.modelsDir, entry.file));
        const key = `${entry.file}:${entry.sha256}:${st.size}:${st.mtimeMs}`;
        const cached = this.modelCache.get(key);
        if (cached) {
          out.push(cached);
          continue;
        }
        await readVerifiedModel(this.cfg.paths.modelsDir, entry);
        const f = { id, ok: true, message: 'hash matches' };
        this.modelCache.set(key, f);
        out.push(f);
      } catch (err) {
        out.push({ id, ok: false, message: (err as Error).message });
      }
    }
    return out;
  }
}
