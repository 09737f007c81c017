// The composition root (GUIDE practice 1, zigbee2mqtt's controller): the constructor only builds
// objects; start() brings the parts up in dependency order, checking the AbortSignal between
// steps; stop() takes them down in reverse, each in its own try/catch, then flushes the logger.
//
//   sd-notify -> face engine -> audit log -> MQTT -> alert service -> watchlist -> analysers
//   -> cameras -> field ops (deployments, control socket, health + metrics, tablet page) -> READY=1
//
// Cameras come after everything that decides on a frame; they stop before it. With field ops
// mounted (`lfr run`), faces are analysed only while a deployment runs (deployment.required):
// the deployment is recorded and audited before a single frame is matched. The demo and the
// in-process test harness mount no field ops (no socket, no ports) and analyse at once.
//
// Public surface (for `lfr run`, `lfr demo`, health/control): start(signal), stop(), status(),
// onAlert(cb), watchlist (import/purge through the WatchlistHolder). Nothing else.
import path from 'node:path';
import type { Config } from './config/schema.js';
import type { Clock, Component } from './lifecycle.js';
import { systemClock } from './lifecycle.js';
import type { Logger } from './log.js';
import type { FaceEngine } from './vision/types.js';
import type { AlertCandidate, AlertSink } from './alerts/types.js';
import { InferencePool, PoolUnavailableError, type PoolStats } from './vision/pool/pool.js';
import type { FrameAnalysis } from './vision/frame-analysis.js';
import type { PoolAudit } from './vision/buffers.js';
import { LoopLag } from './health/loop-lag.js';
import { LatencyWindow } from './health/latency.js';
import { stalledCameras } from './health/analysis.js';
import type { AnalysisFacts, PerformanceFacts } from './health/types.js';
import { encodeContextFrame, encodeFaceCrop } from './vision/jpeg.js';
import { AuditLog } from './audit/log.js';
import { LfrMqttClient } from './mqtt/client.js';
import { topicsFor } from './mqtt/topics.js';
import { AlertService } from './alerts/service.js';
import { WatchlistHolder } from './watchlist/holder.js';
import type { OpenWatchlist } from './watchlist/service.js';
import type { WatchlistSubject } from './watchlist/types.js';
import { CameraManager, type CameraStats } from './ingest/manager.js';
import { CameraAnalyser, type AnalyserDeps, type DecisionContext } from './match/analyser.js';
import { localFrameAnalysis } from './vision/frame-analysis.js';
import { analyserSettings } from './match/settings.js';
import { createNotifier, type Notifier } from './health/sd-notify.js';
import { FieldOps, type AnalysisControl } from './daemon-fieldops.js';

/** What a raised alert looks like to in-process listeners (demo, tests): no images, no ref. */
export interface AlertNotice {
  alertId: string;
  camera: string;
  trackId: number;
  subjectId: string;
  score: number;
  capturedAt: number;
  /** Frame-to-decision latency (ms). */
  latencyMs: number;
}

export interface DaemonStatus {
  state: 'created' | 'starting' | 'running' | 'stopping' | 'stopped';
  startedAt: number | null;
  watchlist: { loaded: boolean; subjects: number };
  /** Faces analysed are COUNTED for the deployment report, never stored. */
  counters: { framesAnalysed: number; facesAnalysed: number; embedded: number; tracks: number; alerts: number; alertsSuppressed: number; alertErrors: number };
  cameras: CameraStats[];
}

export interface DaemonDeps {
  config: Config;
  log: Logger;
  clock?: Clock;
  /**
   * 'service' (default): the encrypted alert store + MQTT outbox + audit log.
   * Or an AlertSink of the caller's (the demo without a broker, tests).
   */
  alerts?: 'service' | AlertSink;
  /** Pre-built engine (tests share one); otherwise created in start(). Closed by its owner. */
  engine?: FaceEngine;
  /** TEST-ONLY hooks, passed to every analyser (see AnalyserDeps). Never set in production. */
  testHooks?: Pick<AnalyserDeps, 'testTemplateHook' | 'testWipedHook'>;
  /** Mount field ops (sd-notify, deployments, control socket, health, tablet): `lfr run` only. Needs alerts 'service'. */
  fieldOps?: boolean;
}

export class Daemon implements AnalysisControl {
  private state: DaemonStatus['state'] = 'created';
  private startedAt: number | null = null;
  private readonly clock: Clock;
  private readonly log: Logger;
  private engine: FaceEngine | null = null;
  /** The live path's face pipeline: the inference pool, or the injected engine on this thread. */
  private analysis: FrameAnalysis | null = null;
  private pool: InferencePool | null = null;
  private poolErrorsLogged = 0;
  private readonly loopLag = new LoopLag();
  private readonly latency = new LatencyWindow();
  private audit: AuditLog | null = null;
  private mqtt: LfrMqttClient | null = null;
  private alertService: AlertService | null = null;
  private sink: AlertSink | null = null;
  readonly watchlist: WatchlistHolder;
  readonly cameras: CameraManager;
  private readonly analysers = new Map<string, CameraAnalyser>();
  private subjects = new Map<string, WatchlistSubject>();
  private current: OpenWatchlist | null = null;
  private readonly alertListeners = new Set<(a: AlertNotice) => void>();
  private alertErrors = 0;
  /** Started components, in order, for a reverse stop after a partial start. */
  private started: Component[] = [];
  private notifier: Notifier | null = null;
  fieldOps: FieldOps | null = null;
  /** Frames are analysed only while true: from start without field ops, else per deployment. */
  private analysing: boolean;
  private threshold: number;

  constructor(private readonly d: DaemonDeps) {
    this.clock = d.clock ?? systemClock;
    this.log = d.log.child({ module: 'daemon' });
    this.watchlist = new WatchlistHolder({
      config: d.config,
      log: d.log.child({ module: 'watchlist' }),
      clock: this.clock,
      engine: () => {
        if (!this.engine) throw new Error('face engine not started');
        return this.engine;
      },
      onEvent: (e) => this.audit?.record(e.type, auditFields(e)),
      onChange: (wl) => this.onWatchlist(wl),
    });
    this.cameras = new CameraManager({ cameras: d.config.cameras, ingest: d.config.ingest, log: d.log });
    this.analysing = !(d.fieldOps && d.config.deployment.required);
    this.threshold = d.config.match.threshold;
  }

  async start(signal: AbortSignal): Promise<void> {
    if (this.state !== 'created') throw new Error(`daemon cannot start from state ${this.state}`);
    this.state = 'starting';
    const cfg = this.d.config;
    const step = async (c: Component): Promise<void> => {
      if (signal.aborted) throw new Error('start aborted');
      this.started.push(c);
      await c.start(signal);
    };
    // First, before any child process (GStreamer, timedatectl): it takes NOTIFY_SOCKET out of the env.
    if (this.d.fieldOps) this.notifier = createNotifier(this.d.log.child({ module: 'sd-notify' }));
    await step(this.loopLag);
    if (this.d.engine) {
      this.engine = this.d.engine;
      this.analysis = localFrameAnalysis(this.d.engine);
    } else {
      // Every model run in worker threads: the event loop never waits for inference (issue 13).
      this.pool = new InferencePool({ config: cfg, log: this.d.log, clock: this.clock });
      await step(this.pool);
      this.engine = this.pool;
      this.analysis = this.pool;
    }
    if (signal.aborted) throw new Error('start aborted');
    if (this.d.alerts === undefined || this.d.alerts === 'service') {
      this.audit = new AuditLog(path.resolve(cfg.paths.stateDir, cfg.audit.file), this.clock).open();
      this.audit.record('daemon.start', { van: cfg.van.id, cameras: cfg.cameras.length });
      this.mqtt = new LfrMqttClient(
        { url: cfg.mqtt.url, username: cfg.mqtt.username, passwordFile: cfg.mqtt.passwordFile, caFile: cfg.mqtt.caFile, clientId: `lfr-${cfg.van.id}`, topics: topicsFor(cfg.mqtt.topicPrefix, cfg.van.id) },
        this.d.log.child({ module: 'mqtt' }),
      );
      await step(this.mqtt);
      this.alertService = new AlertService({ config: cfg, log: this.d.log.child({ module: 'alerts' }), clock: this.clock, audit: this.audit, mqtt: this.mqtt });
      await step(this.alertService);
      this.sink = this.alertService;
    } else {
      this.sink = this.d.alerts;
    }
    await step(this.watchlist);
    for (const cam of cfg.cameras.filter((c) => c.enabled)) this.analysers.set(cam.name, this.buildAnalyser(cam.name));
    this.cameras.onFrame((f) => this.onFrame(f));
    this.cameras.onStateChange((e) => {
      if (e.state !== 'live') this.analysers.get(e.camera)?.endAll();
    });
    await step(this.cameras);
    if (this.d.fieldOps) {
      if (!this.audit || !this.alertService || !this.mqtt) throw new Error('field ops need the alert service');
      const mqtt = this.mqtt;
      this.fieldOps = new FieldOps({ config: cfg, log: this.d.log, clock: this.clock, audit: this.audit, alerts: this.alertService, mqttConnected: () => mqtt.connected, watchlist: this.watchlist, cameras: this.cameras, analysis: this });
      await step(this.fieldOps);
    }
    this.state = 'running';
    this.startedAt = this.clock();
    this.notifier?.ready('running');
    // Alive means more than "running": every live camera's analysis is making progress.
    this.notifier?.startWatchdog(() => {
      if (this.state !== 'running') return false;
      const stuck = stalledCameras(this.cameras.stats().map((c) => ({ camera: c.camera, state: c.state, busySince: c.busySince })), this.clock(), cfg.health.analysisStallSeconds * 1000);
      if (stuck.length > 0) this.log.error({ cameras: stuck }, 'analysis makes no progress');
      return stuck.length === 0;
    });
    this.log.info({ cameras: this.analysers.size, watchlist: this.current !== null, analysing: this.analysing }, 'daemon running');
  }

  /** Stop in reverse order; safe after a failed or partial start, and idempotent. */
  async stop(): Promise<void> {
    if (this.state === 'stopped' || this.state === 'stopping') return;
    this.state = 'stopping';
    this.notifier?.stopping();
    for (const c of this.started.reverse()) {
      try {
        await c.stop();
      } catch (err) {
        this.log.error({ err, component: c.name }, 'component stop failed');
      }
    }
    this.started = [];
    for (const a of this.analysers.values()) a.endAll();
    try {
      this.audit?.record('daemon.stop', {});
      this.audit?.close();
    } catch (err) {
      this.log.error({ err }, 'audit close failed');
    }
    this.engine = null;
    this.notifier?.close();
    this.state = 'stopped';
    this.log.info('daemon stopped');
    this.d.log.flush?.();
  }

  status(): DaemonStatus {
    const c = { framesAnalysed: 0, facesAnalysed: 0, embedded: 0, tracks: 0, alerts: 0, alertsSuppressed: 0, alertErrors: this.alertErrors };
    for (const a of this.analysers.values()) {
      c.framesAnalysed += a.counters.frames;
      c.facesAnalysed += a.counters.faces;
      c.embedded += a.counters.embedded;
      c.tracks += a.counters.tracks;
      c.alerts += a.counters.alerts;
      c.alertsSuppressed += a.counters.suppressed;
    }
    return {
      state: this.state,
      startedAt: this.startedAt,
      watchlist: { loaded: this.current !== null, subjects: this.subjects.size },
      counters: c,
      cameras: this.cameras.stats(),
    };
  }

  /** Event-loop delay and frame-to-decision latency, as measured now. */
  performance(): PerformanceFacts {
    const l = this.loopLag.figures();
    const d = this.latency.figures();
    return { eventLoopLagP50Ms: l?.p50Ms ?? null, eventLoopLagP99Ms: l?.p99Ms ?? null, eventLoopLagMaxMs: l?.maxMs ?? null, decisionLatencyP50Ms: d?.p50Ms ?? null, decisionLatencyP99Ms: d?.p99Ms ?? null };
  }

  /** Start new measuring windows for performance() (benchmarks time exactly their pass). */
  resetPerformance(): void {
    this.loopLag.reset();
    this.latency.reset();
  }

  /** Analysis progress per camera and the inference workers, for the health report. */
  analysisFacts(): AnalysisFacts {
    const p = this.pool?.stats();
    return {
      cameras: this.cameras.stats().map((c) => ({ camera: c.camera, state: c.state, busySince: c.busySince })),
      stallLimitMs: this.d.config.health.analysisStallSeconds * 1000,
      workers: p?.workers ?? [],
      droppedByCamera: p?.droppedByCamera ?? {},
    };
  }

  /** Inference workers: state, restarts, why one went down, frames lost per camera. */
  inferenceStats(): PoolStats | null {
    return this.pool?.stats() ?? null;
  }

  /**
   * Every buffer pool that holds faces, on the main thread and in each inference worker:
   * counts only (buffers, bytes, in use, released buffers that are not all zero), never content.
   */
  async bufferAudit(): Promise<PoolAudit[]> {
    return [...this.cameras.pools.audit(), ...((await this.pool?.audit()) ?? [])];
  }

  /** In-process alert notices (the demo prints them). Returns an unsubscribe function. */
  onAlert(cb: (a: AlertNotice) => void): () => void {
    this.alertListeners.add(cb);
    return () => this.alertListeners.delete(cb);
  }

  /** AnalysisControl (deployment start/resume): fresh analysers, so counters start at zero. */
  startAnalysis(threshold: number): void {
    this.threshold = threshold;
    for (const [name, a] of this.analysers) {
      a.endAll();
      this.analysers.set(name, this.buildAnalyser(name));
    }
    this.analysing = true;
  }

  stopAnalysis(): void {
    this.analysing = false;
    for (const a of this.analysers.values()) a.endAll();
  }

  analysisCounts(): { facesAnalysed: number; alerts: number } {
    const c = this.status().counters;
    return { facesAnalysed: c.facesAnalysed, alerts: c.alerts };
  }

  private buildAnalyser(camera: string): CameraAnalyser {
    const settings = analyserSettings(this.d.config);
    return new CameraAnalyser({
      camera,
      engine: this.analysis!,
      ...settings,
      policy: { ...settings.policy, threshold: this.threshold },
      target: () => (this.current ? { gallery: this.current.gallery, topK: this.d.config.match.topK } : null),
      onDecision: (ctx) => this.raise(ctx),
      log: this.d.log.child({ module: 'match', camera }),
      ...(this.d.testHooks ?? {}),
    });
  }

  private async onFrame(frame: Parameters<Parameters<CameraManager['onFrame']>[0]>[0]): Promise<void> {
    try {
      const a = this.analysers.get(frame.camera);
      if (a && this.state === 'running' && this.analysing) {
        await a.analyse(frame);
        this.latency.record(this.clock() - frame.capturedAt);
      }
    } catch (err) {
      // Lost to a crashed or missing worker: counted per camera by the pool; log the first few.
      if (!(err instanceof PoolUnavailableError) || this.poolErrorsLogged++ < 10) this.log.error({ err, camera: frame.camera }, 'frame analysis failed');
    } finally {
      this.cameras.releaseFrame(frame);
    }
  }

  private async raise(ctx: DecisionContext): Promise<void> {
    const { decision, frame, box } = ctx;
    const subject = this.subjects.get(decision.subjectId);
    if (!subject || !this.sink) return; // watchlist replaced while deciding
    const cfg = this.d.config;
    try {
      const [faceJpeg, contextJpeg] = await Promise.all([encodeFaceCrop(frame.image, box), encodeContextFrame(frame.image, cfg.alerts.contextFrameWidth)]);
      const candidate: AlertCandidate = {
        camera: frame.camera,
        trackId: decision.trackId,
        subjectId: subject.id,
        subjectRef: subject.subjectRef,
        category: subject.category,
        score: decision.score,
        threshold: this.threshold,
        capturedAt: frame.capturedAt,
        faceBox: box,
        frameWidth: frame.image.width,
        frameHeight: frame.image.height,
        faceJpeg,
        contextJpeg,
        // A copy: the alert service wipes what it is given, the watchlist keeps its own.
        referenceJpeg: Buffer.from(subject.referenceJpeg),
      };
      const alertId = await this.sink.raise(candidate);
      const notice: AlertNotice = { alertId, camera: frame.camera, trackId: decision.trackId, subjectId: subject.id, score: decision.score, capturedAt: frame.capturedAt, latencyMs: this.clock() - frame.capturedAt };
      this.log.info({ alertId, camera: frame.camera, trackId: decision.trackId, score: Number(decision.score.toFixed(3)) }, 'alert raised');
      for (const cb of this.alertListeners) {
        try {
          cb(notice);
        } catch (err) {
          this.log.error({ err }, 'alert listener failed');
        }
      }
    } catch (err) {
      this.alertErrors++;
      this.log.error({ err, camera: frame.camera }, 'alert could not be raised');
    }
  }

  private onWatchlist(wl: OpenWatchlist | null): void {
    this.current = wl;
    this.subjects = new Map((wl?.subjects ?? []).map((s) => [s.id, s]));
    // New subject ids: per-track state of the old list means nothing now.
    for (const a of this.analysers.values()) a.endAll();
  }
}

/** Watchlist events carry counts and hashes only; keep the scalar fields for the audit log. */
function auditFields(e: object): Record<string, string | number | boolean | null> {
  const out: Record<string, string | number | boolean | null> = {};
  for (const [k, v] of Object.entries(e)) {
    if (k === 'type') continue;
    if (v === null || ['string', 'number', 'boolean'].includes(typeof v)) out[k] = v as string | number | boolean | null;
  }
  return out;
}
