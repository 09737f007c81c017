// THE composition root of the van (GUIDE practice 1, zigbee2mqtt's controller.ts). `lfr run`,
// `lfr demo`, `lfr bench live` and every integration test build the van here and nowhere else:
// they vary the CONFIG, never the wiring. The constructor only builds objects; start() brings the
// parts up in the order of ONE list (`this.parts`, below), checking the AbortSignal between steps;
// stop() takes them down in reverse, each in its own try/catch, then flushes the logger. A part
// left out of the list is visible there; a part in the list is started, stopped and health-checked.
//
//   lock        one van process: flock on paths.runtimeDir/lfr.lock BEFORE anything is bound or
//               deleted; a second `lfr run` stops here with "lfr is already running (pid N)"
//   systemd     sd_notify (first: it takes NOTIFY_SOCKET out of the env before any child process)
//   loop-lag    event-loop delay sampler (lfr status, /metrics, lfr bench live)
//   keys        the van key's systemd credential decrypts (else: refuse to start, naming it)
//   inference   worker pool: every ONNX run in worker threads (models hash-checked per worker)
//   audit       hash-chained audit log
//   mqtt        broker link (availability online/offline/stopped)
//   alerts      encrypted alert store + outbox + adjudication intake (purges due alerts at start)
//   retention   alert purge on alerts.purgeIntervalSeconds and at each alert's expiry, while running
//   watchlist   van key + decrypted watchlist (expiry and deployment end purge it)
//   analysis    live matcher: per-camera analysers, alert raising (masked context frames)
//   cameras     RTSP ingest (after everything that decides on a frame; stops before it)
//   deployments records, resume after a restart, automatic end, results report
//   control     local unix socket for the `lfr` CLI
//   fleet       records, signed reports and audit heads for HQ, via the broker's bridge (optional)
//   tablet      HTTPS tablet page (optional: the van still alerts over MQTT without it)
//   health      health loop, retained status topic, metrics on 127.0.0.1 (last: sees everything)
//   -> READY=1, watchdog
import type { Config } from './config/schema.js';
import type { Clock, Component } from './lifecycle.js';
import { component, systemClock } from './lifecycle.js';
import { scrubUrl, type Logger } from './log.js';
import { InferencePool } from './vision/pool/pool.js';
import { RunLock } from './run-lock.js';
import type { PoolAudit } from './buffers/pools.js';
import { LoopLag } from './health/loop-lag.js';
import { stalledCameras } from './health/analysis.js';
import type { AnalysisFacts, PerformanceFacts } from './health/types.js';
import { AuditLog, auditFile } from './audit/log.js';
import { AuditWitness } from './audit/witness.js';
import { guardedClock } from './util/clock-guard.js';
import { LfrMqttClient } from './mqtt/client.js';
import { fleetTopicsFor, topicsFor } from './mqtt/topics.js';
import { FleetPublisher } from './fleet/publisher.js';
import { FleetSigner } from './fleet/envelope.js';
import { AlertService } from './alerts/service.js';
import { RetentionScheduler } from './retention/scheduler.js';
import { WatchlistHolder } from './watchlist/holder.js';
import { recordGeneration } from './watchlist/van-record.js';
import { CameraManager } from './ingest/manager.js';
import { cleanStaleCameraDirs } from './ingest/decoder-connection.js';
import { LiveAnalysis, type AlertNotice, type LiveCounters } from './match/live.js';
import { LateMatchAudit, type LateMatch } from './match/late-match.js';
import { DeploymentService } from './deployment/service.js';
import { DeploymentStore, deploymentsFile } from './deployment/store.js';
import { VanDeploymentHooks } from './deployment/hooks.js';
import { ControlServer } from './control/server.js';
import { controlHandlers } from './control/handlers.js';
import { controlSocketPath } from './control/protocol.js';
import { HealthMonitor } from './health/monitor.js';
import { auditFactsOf, cameraFactsFromStats, toStatusPayload } from './health/status.js';
import { createNotifier, type Notifier } from './health/sd-notify.js';
import { MemoryGuard } from './health/memory-safety.js';
import { assertVanKeyUnseals } from './crypto/sealed.js';
import { tabletServerFromConfig, type TabletServer } from './tablet/server.js';
import { PhotoCheck } from './tablet/photo-check.js';
import type { CameraStats } from './ingest/manager.js';

export type { AlertNotice };

export interface DaemonStatus {
  state: 'created' | 'starting' | 'running' | 'stopping' | 'stopped';
  startedAt: number | null;
  analysing: boolean;
  watchlist: { loaded: boolean; subjects: number };
  /** Faces analysed are COUNTED for the deployment report, never stored. */
  counters: LiveCounters;
  cameras: CameraStats[];
}

export interface DaemonDeps {
  config: Config;
  log: Logger;
  clock?: Clock;
}

/** One entry of the start list. `optional`: why the van carries on when this part cannot start. */
interface Part {
  component: Component;
  optional?: string;
}

export class Daemon {
  private state: DaemonStatus['state'] = 'created';
  private startedAt: number | null = null;
  private readonly log: Logger;
  /** One van process per runtime folder (src/run-lock.ts). */
  readonly lock: RunLock;
  private notifier: Notifier | null = null;
  /** Every model of the van runs here, in worker threads: the FaceEngine of enrolment and the live path. */
  readonly inference: InferencePool;
  readonly loopLag = new LoopLag();
  readonly audit: AuditLog;
  readonly witness: AuditWitness;
  readonly mqtt: LfrMqttClient;
  readonly alerts: AlertService;
  readonly retention: RetentionScheduler;
  readonly watchlist: WatchlistHolder;
  /** No core dump, no swap (src/health/memory-safety.ts). */
  readonly memory: MemoryGuard;
  readonly analysis: LiveAnalysis;
  readonly cameras: CameraManager;
  readonly deployments: DeploymentService;
  /** Records, reports and audit heads for HQ, handed to the van broker (its bridge forwards them). */
  readonly fleet: FleetPublisher;
  readonly control: ControlServer;
  readonly tablet: TabletServer | null;
  /** The tablet's photo check (tablet.photoCheck.enabled), or null. */
  readonly photoCheck: PhotoCheck | null;
  readonly health: HealthMonitor;
  /** THE start order. stop() walks it backwards. */
  private readonly parts: Part[];
  private started: Component[] = [];
  /** Optional parts that could not start: name -> plain reason (health reports it). */
  private readonly failed = new Map<string, string>();

  constructor(private readonly d: DaemonDeps) {
    const cfg = d.config;
    const clock = d.clock ?? systemClock;
    const log = d.log;
    this.log = log.child({ module: 'daemon' });
    this.lock = RunLock.forRuntimeDir(cfg.paths.runtimeDir);
    this.inference = new InferencePool({ config: cfg, log, clock });
    const engine = (): InferencePool => this.inference;

    // The van key signs the audit head at each deployment end (src/audit/anchor.ts).
    this.audit = new AuditLog(auditFile(cfg), clock, false, cfg.watchlist.vanKeyFile);
    this.memory = new MemoryGuard(log.child({ module: 'memory' }));
    this.mqtt = new LfrMqttClient(
      { url: cfg.mqtt.url, username: cfg.mqtt.username, passwordFile: cfg.mqtt.passwordFile, caFile: cfg.mqtt.caFile, clientId: `lfr-${cfg.van.id}`, topics: topicsFor(cfg.mqtt.topicPrefix, cfg.van.id) },
      log.child({ module: 'mqtt' }),
    );
    this.alerts = new AlertService({ config: cfg, log: log.child({ module: 'alerts' }), clock, audit: this.audit, mqtt: this.mqtt });
    // ONE guard against backwards clock steps for everything deleted on time (util/clock-guard.ts).
    const timeGuard = guardedClock(clock);
    this.retention = new RetentionScheduler([this.alerts], { intervalMs: cfg.alerts.purgeIntervalSeconds * 1000, clock: timeGuard, log: log.child({ module: 'retention' }), audit: this.audit });
    this.cameras = new CameraManager({ cameras: cfg.cameras, ingest: cfg.ingest, log });
    // A match refused at the alert for a deadline passed (late-match.ts): audited once per
    // deployment and reason, and the holder and the deployment service check their deadlines at
    // once instead of at their next beat.
    const lateMatches = new LateMatchAudit(this.audit);
    const onLateMatch = (m: LateMatch): void => {
      lateMatches.refused(m);
      if (m.reason === 'watchlist_expired') void this.watchlist.checkNow();
      this.deployments.recheck();
    };
    this.analysis = new LiveAnalysis({ config: cfg, log: log.child({ module: 'match' }), clock, engine, cameras: this.cameras, sink: this.alerts, onLateMatch });
    this.watchlist = new WatchlistHolder({
      config: cfg,
      log: log.child({ module: 'watchlist' }),
      clock: timeGuard,
      engine,
      onEvent: (e) => this.audit.record(e.type, auditFields(e), 'actor' in e ? e.actor : undefined),
      onChange: (wl) => this.analysis.setWatchlist(wl),
      deployment: () => this.deployments.current(),
      lastRecordGeneration: () => recordGeneration(this.audit.list(1, 'watchlist.record_written')[0]),
    });
    const hooks = new VanDeploymentHooks({ config: cfg, clock, watchlist: this.watchlist, analysis: this.analysis, running: () => this.deployments.current(), memory: this.memory, alerts: this.alerts, cameraStats: () => this.cameras.stats(), brokerConnected: () => this.mqtt.connected });
    // The deployment's ledger (results report) and cameras' live time.
    this.alerts.onRaised((r) => this.deployments.noteAlert(r));
    this.alerts.onAdjudication((r) => this.deployments.noteDecision(r));
    // A witness the van cannot rewrite (audit/witness.ts): the head signed on a timer and after
    // every decision (registered last: it signs the entries the listeners above wrote), handed to
    // the tablets in the status at once.
    this.witness = new AuditWitness({ sign: () => this.audit.anchor(), intervalMs: cfg.audit.witnessIntervalSeconds * 1000, log: log.child({ module: 'audit' }), clock, onHead: () => void this.health.publish() });
    this.alerts.onAdjudication(() => void this.witness.signNow());
    this.cameras.onStateChange((e) => this.deployments.noteCamera(e.camera, e.state === 'live'));
    this.analysis.onPace((e) => this.deployments.noteAnalysisPace(e.camera, e.slow, e.analysedFps));
    const deploymentStore = new DeploymentStore(deploymentsFile(cfg));
    this.deployments = new DeploymentService(deploymentStore, hooks, this.audit, { maxHours: cfg.deployment.maxHours, requireOfficer: cfg.deployment.requireOfficer, requireReady: cfg.deployment.requireReady, configThreshold: cfg.match.threshold }, clock, log.child({ module: 'deployment' }));
    this.alerts.setMembership(this.deployments);
    // The tablet's 1:1 photo check (issue 25): the enrolment engine, the main thread's buffer
    // pools, the alert's subject only; its outcomes go to the audit and the deployment's ledger.
    this.photoCheck = cfg.tablet.enabled && cfg.tablet.photoCheck.enabled
      ? new PhotoCheck({
          config: cfg,
          engine,
          pools: this.cameras.pools,
          alerts: this.alerts,
          watchlist: () => this.watchlist.current,
          deployment: () => this.deployments.current(),
          audit: this.audit,
          clock,
          log: log.child({ module: 'photo-check' }),
          onCheck: (r) => this.deployments.notePhotoCheck(r),
        })
      : null;
    this.alerts.setCheckLookup(this.photoCheck ? (a, o, c) => this.photoCheck?.lookup(a, o, c) ?? null : null);
    this.deployments.setPhotoCheck(() => this.photoCheck?.setting() ?? { enabled: false, falseMatchRate: cfg.tablet.photoCheck.falseMatchRate, threshold: null, tar: null });
    // Always on: it only hands records to the van's own broker; only a bridge (lfr broker setup
    // --hq) takes them further, so a van without one sends nothing anywhere.
    this.fleet = new FleetPublisher({ source: deploymentStore, mqtt: this.mqtt, topics: fleetTopicsFor(cfg.mqtt.topicPrefix, cfg.van.id), signer: () => new FleetSigner(cfg.watchlist.vanKeyFile, cfg.van.id), clock, log: log.child({ module: 'fleet' }), syncMs: cfg.fleet.syncSeconds * 1000, resendDays: cfg.fleet.resendDays });
    this.tablet = tabletServerFromConfig(cfg, log, {
      photoCheck: this.photoCheck,
      alerts: this.alerts,
      deployments: this.deployments,
      deployment: () => {
        const r = this.deployments.current();
        return r ? { id: r.id, location: r.location, startedAt: new Date(r.startedAt).toISOString(), endsAt: new Date(r.endsAt).toISOString() } : null;
      },
      brokerConnected: () => this.mqtt.connected,
      audit: this.audit,
      clock,
    });
    const wlSummary = (): { subjects: number; expiresAt: string } | null => {
      const w = this.watchlist.composition();
      return w ? { subjects: w.subjects, expiresAt: w.expiresAt } : null;
    };
    this.health = new HealthMonitor({
      cfg,
      clock,
      log: log.child({ module: 'health' }),
      deployments: this.deployments,
      live: {
        cameras: () => cameraFactsFromStats(this.cameras.stats(), cfg.cameras),
        broker: () => ({ connected: this.mqtt.connected }),
        watchlistLoaded: () => this.watchlist.current !== null,
        oldestAlertAt: () => {
          const next = this.alerts.nextExpiry();
          return next === null ? null : next - cfg.alerts.retentionHours * 3_600_000;
        },
        // Incremental: new entries + a rolling window each tick (lfr bench audit), not the whole chain.
        auditVerify: () => auditFactsOf(this.audit.verifyIncremental()),
        memorySafety: () => this.memory.current(),
        deploymentRunning: () => this.deployments.current() !== null,
        tablet: () => (this.tablet ? (this.failed.has(this.tablet.name) ? { served: false, reason: this.failed.get(this.tablet.name)! } : { served: true }) : null),
        progress: () => this.analysisFacts(),
        performance: () => this.performance(),
      },
      analysis: () => {
        const c = this.analysis.counters();
        return { analysing: this.analysis.isAnalysing, framesAnalysed: c.framesAnalysed, facesAnalysed: c.facesAnalysed, embedded: c.embedded, tracks: c.tracks, splits: c.splits, alerts: c.alerts };
      },
      publishStatus: (s) => this.alerts.publishStatus(withHead(toStatusPayload(s, this.alerts.pendingCount(), wlSummary()), this.witness.latest)),
    });
    this.control = new ControlServer(
      controlSocketPath(cfg.paths.runtimeDir),
      controlHandlers({
        deployments: this.deployments,
        health: () => this.health.refresh(),
        status: () => this.health.freshStatus(),
        afterChange: () => {
          this.fleet.kick();
          return this.health.publish();
        },
        importWatchlist: (file, actor, source) => this.importWatchlist(file, actor, source),
        watchlist: this.watchlist,
        upload: { maxBytes: cfg.watchlist.maxBundleBytes, timeoutMs: cfg.watchlist.importTimeoutSeconds * 1000 },
        // A request its schema refuses (control/schemas.ts): audited with the reason, never the payload.
        onRefused: (method, reason, actor) => this.audit.record('control.refused', { method, reason: reason.slice(0, 300) }, actor),
        bufferAudit: () => this.bufferAudit(),
      }),
      log.child({ module: 'control' }),
    );

    this.parts = [
      // First: nothing of the running van (its socket, uploads, ports, MQTT client id) is touched
      // by a second process. Released last, after every other part has stopped.
      {
        component: component(
          'lock',
          () => {
            this.lock.acquire();
            if (this.lock.unavailable) this.log.warn(`no single-process lock (${this.lock.unavailable}): a second lfr run on this box would not be stopped`);
            // Only the lock holder may judge what an earlier van process left behind.
            const stale = cleanStaleCameraDirs();
            if (stale) this.log.info({ folders: stale }, 'removed frame-socket folders left by a van process that was killed');
          },
          () => this.lock.release(),
        ),
      },
      { component: component('systemd', () => void (this.notifier = createNotifier(log.child({ module: 'sd-notify' }))), () => this.notifier?.close()) },
      // Before a single face is decoded: no core dump, no swap (analysis refuses to start otherwise).
      { component: component('memory', async () => { await this.memory.start(); if (this.memory.problem()) this.analysis.stopAnalysis(); }, () => this.memory.stop()) },
      // Before anything is opened, imported or purged: a sealed van key that does not decrypt on
      // this box (another box's, tampered) stops the start here with the credential named.
      { component: component('keys', () => assertVanKeyUnseals(cfg.watchlist.vanKeyFile), () => undefined) },
      { component: this.loopLag },
      { component: this.inference },
      { component: component('audit', () => void this.audit.open().record('daemon.start', { van: cfg.van.id, cameras: cfg.cameras.length }), () => this.closeAudit()) },
      { component: this.mqtt },
      { component: this.alerts },
      { component: this.retention },
      { component: this.watchlist },
      { component: this.analysis },
      { component: this.cameras },
      { component: this.deployments },
      { component: this.control },
      ...(this.photoCheck ? [{ component: this.photoCheck, optional: 'the tablet offers no photo check (its 1:1 calibration cannot be used); alerts are unaffected' }] : []),
      { component: this.fleet, optional: 'the van works alone; HQ gets its records when the daemon next starts' },
      ...(this.tablet ? [{ component: this.tablet, optional: 'tablets still get alerts over MQTT; health reports the page as down' }] : []),
      { component: this.health },
      { component: this.witness },
    ];
  }

  async start(signal: AbortSignal): Promise<void> {
    if (this.state !== 'created') throw new Error(`daemon cannot start from state ${this.state}`);
    this.state = 'starting';
    for (const p of this.parts) {
      signal.throwIfAborted();
      try {
        await p.component.start(signal);
        this.started.push(p.component);
      } catch (err) {
        if (!p.optional) {
          this.started.push(p.component); // a partial start is stopped too
          throw err;
        }
        const reason = scrubUrl((err as Error).message);
        this.failed.set(p.component.name, reason);
        this.log.error({ component: p.component.name }, `${p.component.name} could not start (${reason}); the van carries on without it: ${p.optional}`);
      }
    }
    this.state = 'running';
    this.startedAt = (this.d.clock ?? systemClock)();
    this.notifier?.ready('running');
    // Alive means more than "running": every live camera's analysis is making progress.
    this.notifier?.startWatchdog(() => {
      if (this.state !== 'running') return false;
      const stuck = stalledCameras(this.analysisFacts().cameras, (this.d.clock ?? systemClock)(), this.d.config.health.analysisStallSeconds * 1000);
      if (stuck.length > 0) this.log.error({ cameras: stuck }, 'analysis makes no progress: watchdog ping withheld');
      return stuck.length === 0;
    });
    this.log.info({ parts: this.started.map((c) => c.name), cameras: this.d.config.cameras.filter((c) => c.enabled).length, watchlist: this.watchlist.current !== null, analysing: this.analysis.isAnalysing }, 'daemon running');
  }

  /** Stop in reverse order; safe after a failed or partial start, and idempotent. */
  async stop(): Promise<void> {
    if (this.state === 'stopped' || this.state === 'stopping') return;
    this.state = 'stopping';
    this.notifier?.stopping();
    for (const c of [...this.started].reverse()) {
      try {
        await c.stop();
      } catch (err) {
        this.log.error({ err, component: c.name }, 'component stop failed');
      }
    }
    this.started = [];
    this.state = 'stopped';
    this.log.info('daemon stopped');
    this.d.log.flush?.();
  }

  /** The start order, by name (for `lfr status` and the closing note). */
  get order(): string[] {
    return this.parts.map((p) => p.component.name);
  }

  status(): DaemonStatus {
    return {
      state: this.state,
      startedAt: this.startedAt,
      analysing: this.analysis.isAnalysing,
      watchlist: { loaded: this.watchlist.current !== null, subjects: this.analysis.watchlistSubjects },
      counters: this.analysis.counters(),
      cameras: this.cameras.stats(),
    };
  }

  /** Event-loop delay and frame-to-decision latency, as measured now. */
  performance(): PerformanceFacts {
    const l = this.loopLag.figures();
    const d = this.analysis.latency.figures();
    return { eventLoopLagP50Ms: l?.p50Ms ?? null, eventLoopLagP99Ms: l?.p99Ms ?? null, eventLoopLagMaxMs: l?.maxMs ?? null, decisionLatencyP50Ms: d?.p50Ms ?? null, decisionLatencyP99Ms: d?.p99Ms ?? null };
  }

  /** Start new measuring windows for performance() (benchmarks time exactly their pass). */
  resetPerformance(): void {
    this.loopLag.reset();
    this.analysis.latency.reset();
  }

  /** Analysis progress per camera and the inference workers, for the health report. */
  analysisFacts(): AnalysisFacts {
    const p = this.inference.stats();
    return {
      cameras: this.cameras.stats().map((c) => ({ camera: c.camera, state: c.state, busySince: c.busySince })),
      stallLimitMs: this.d.config.health.analysisStallSeconds * 1000,
      workers: p.workers,
      droppedByCamera: p.droppedByCamera,
      pace: this.analysis.pace(),
      missWindowMs: this.d.config.match.trackMaxMissMs,
    };
  }

  /**
   * Every buffer pool that holds faces, on the main thread and in each inference worker:
   * counts only (buffers, bytes, in use, released buffers that are not all zero), never content.
   */
  async bufferAudit(): Promise<PoolAudit[]> {
    return [...this.cameras.pools.audit(), ...(await this.inference.audit())];
  }

  /** In-process alert notices (the demo prints them). Returns an unsubscribe function. */
  onAlert(cb: (a: AlertNotice) => void): () => void {
    return this.analysis.onAlert(cb);
  }

  private closeAudit(): void {
    try {
      this.audit.record('daemon.stop', {});
    } finally {
      this.audit.close();
    }
  }

  private async importWatchlist(file: string, actor: string, source: string): Promise<unknown> {
    const at = (): string => new Date((this.d.clock ?? systemClock)()).toISOString();
    // The holder audits it (watchlist.imported / watchlist.import_rejected, with actor and source).
    try {
      // `source` is the client's claim (cli/usb): audited as claimedSource, the source being the socket.
      const report = await this.watchlist.importFile(file, { actor, source: 'control-socket', claimedSource: source });
      const c = report.composition;
      this.health.noteImport({ at: at(), source, ok: true, message: `${c.subjects} people`, subjects: c.subjects });
      return report;
    } catch (err) {
      const message = (err as Error).message;
      this.health.noteImport({ at: at(), source, ok: false, message });
      throw err;
    }
  }
}

/** The newest signed audit head, for the tablets (value to give `lfr audit verify --head`). */
function withHead<T extends object>(p: T, h: { value: string; keyId: string; signedAt: string } | null): T {
  return h ? { ...p, auditHead: { value: h.value, keyId: h.keyId, signedAt: h.signedAt } } : p;
}

/** Watchlist events carry counts and hashes only; keep the scalar fields for the audit log. */
function auditFields(e: object): Record<string, string | number | boolean | null> {
  const out: Record<string, string | number | boolean | null> = {};
  for (const [k, v] of Object.entries(e)) {
    if (k === 'type' || k === 'actor') continue;
    if (v === null || ['string', 'number', 'boolean'].includes(typeof v)) out[k] = v as string | number | boolean | null;
  }
  return out;
}
