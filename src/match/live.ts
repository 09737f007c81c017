// The live matcher of the van: one CameraAnalyser per enabled camera, fed by the camera manager,
// searching the current watchlist, raising alerts through the alert sink. Analysis runs only while
// switched on: at start when the config does not require a deployment (bench rigs), else from
// `lfr deployment start` to its end (the deployment service holds the switch, AnalysisControl).
//
// Every frame is released (its pixels wiped by ingest) after its decision, match or not; a frame
// that decided an alert is released only after the alert images were encoded from it.
import type { Config } from '../config/schema.js';
import type { Clock, Component } from '../lifecycle.js';
import type { Logger } from '../log.js';
import type { Frame } from '../ingest/frame.js';
import type { CameraManager } from '../ingest/manager.js';
import type { FaceEngine } from '../vision/types.js';
import type { FrameAnalysis } from '../vision/frame-analysis.js';
import { PoolUnavailableError } from '../vision/pool/pool.js';
import { LatencyWindow } from '../health/latency.js';
import type { AlertSink } from '../alerts/types.js';
import type { OpenWatchlist } from '../watchlist/service.js';
import type { WatchlistSubject } from '../watchlist/types.js';
import { CameraAnalyser, type AnalyserDeps, type DecisionContext } from './analyser.js';
import { analyserSettings } from './settings.js';
import { alertImages } from '../vision/context-frame.js';
import type { CameraPace } from '../health/analysis.js';
import { lateMatchReason, type LateMatch } from './late-match.js';

/** A camera's analysis fell below, or came back to, the rate that keeps people apart. */
export interface PaceEvent {
  camera: string;
  slow: boolean;
  at: number;
  analysedFps: number;
}

/** Frames analysed over this window give the rate health shows. */
const PACE_WINDOW_MS = 10_000;
/** Consecutive analysed frames within the miss window before a slow camera counts as recovered. */
const PACE_RECOVERY_FRAMES = 5;

/** What the deployment service switches: analysis on/off and its counters. */
/** What analysis was started for: the deployment and its end (a match after it raises no alert). */
export interface AnalysisScope {
  deploymentId: string;
  endsAtMs: number;
}

export interface AnalysisControl {
  startAnalysis(threshold: number, scope?: AnalysisScope): void;
  stopAnalysis(): void;
  /** Faces analysed, people (tracks) seen and alerts raised since startAnalysis. */
  analysisCounts(): { facesAnalysed: number; tracks: number; splits: number; alerts: number };
}

/** What a raised alert looks like to in-process listeners (the demo prints them): no images, no ref. */
export interface AlertNotice {
  alertId: string;
  camera: string;
  trackId: number;
  subjectId: string;
  score: number;
  capturedAt: number;
  /** Capture-to-alert latency (ms): the frame's estimated capture time (frame.ts) to the alert stored. */
  latencyMs: number;
}

export interface LiveCounters {
  framesAnalysed: number;
  facesAnalysed: number;
  embedded: number;
  tracks: number;
  /**
   * Tracks begun by the appearance gate splitting a look off another track (issue 19): in a queue
   * the next person, but also one person whose look disagreed with their own earlier looks (a
   * tiny or blurred face). They are counted in `tracks`, so "people seen" may count one person
   * twice; this says how many tracks began that way.
   */
  splits: number;
  alerts: number;
  alertsSuppressed: number;
  alertErrors: number;
}

export interface LiveAnalysisDeps {
  config: Config;
  log: Logger;
  clock: Clock;
  /** The inference pool: FrameAnalysis for the live path, FaceEngine for the context frame's second detector pass. */
  engine: () => FaceEngine & FrameAnalysis;
  cameras: CameraManager;
  sink: AlertSink;
  /**
   * A match refused at the moment of the alert because the watchlist is past its life or the
   * deployment past its end (the daemon audits it, late-match.ts, and has the holder and the
   * deployment service check their deadlines at once). Called for every such match.
   */
  onLateMatch?: (m: LateMatch) => void;
}

export class LiveAnalysis implements Component, AnalysisControl {
  readonly name = 'analysis';
  private readonly analysers = new Map<string, CameraAnalyser>();
  private current: OpenWatchlist | null = null;
  private subjects = new Map<string, WatchlistSubject>();
  private readonly listeners = new Set<(a: AlertNotice) => void>();
  private analysing: boolean;
  private threshold: number;
  private scope: AnalysisScope | null = null;
  private running = false;
  private alertErrors = 0;
  private offFrame: (() => void) | null = null;
  /** Frames being analysed: stop() waits for them, so no analysis outlives the engine. */
  private readonly inFlight = new Set<Promise<void>>();
  private offState: (() => void) | null = null;
  private poolErrorsLogged = 0;
  /** Capture-to-decision latency of analysed frames (estimated capture time, frame.ts, -> released after its decisions). */
  readonly latency = new LatencyWindow();
  /** Per camera: capture times of the frames analysed in the last PACE_WINDOW_MS, and slowness. */
  private readonly paces = new Map<string, { times: number[]; slow: boolean; slowSince: number | null; okStreak: number }>();
  private readonly paceListeners = new Set<(e: PaceEvent) => void>();

  constructor(private readonly d: LiveAnalysisDeps) {
    this.analysing = !d.config.deployment.required;
    this.threshold = d.config.match.threshold;
  }

  async start(): Promise<void> {
    for (const cam of this.d.config.cameras.filter((c) => c.enabled)) this.analysers.set(cam.name, this.build(cam.name));
    this.offFrame = this.d.cameras.onFrame((f) => this.onFrame(f));
    this.offState = this.d.cameras.onStateChange((e) => {
      if (e.state !== 'live') this.analysers.get(e.camera)?.endAll();
    });
    this.running = true;
  }

  async stop(): Promise<void> {
    this.running = false;
    this.offFrame?.();
    this.offState?.();
    await Promise.allSettled([...this.inFlight]);
    for (const a of this.analysers.values()) a.endAll();
  }

  get isAnalysing(): boolean {
    return this.analysing;
  }

  /** The watchlist holder's change callback: a new (or no) watchlist. */
  setWatchlist(wl: OpenWatchlist | null): void {
    this.current = wl;
    this.subjects = new Map((wl?.subjects ?? []).map((s) => [s.id, s]));
    // New subject ids: per-track state of the old list means nothing now.
    for (const a of this.analysers.values()) a.endAll();
  }

  get watchlistSubjects(): number {
    return this.subjects.size;
  }

  /** In-process alert notices (the demo prints them). Returns an unsubscribe function. */
  onAlert(cb: (a: AlertNotice) => void): () => void {
    this.listeners.add(cb);
    return () => this.listeners.delete(cb);
  }

  /** AnalysisControl (deployment start/resume): fresh analysers, so counters start at zero. */
  startAnalysis(threshold: number, scope?: AnalysisScope): void {
    this.threshold = threshold;
    this.scope = scope ?? null;
    for (const [name, a] of this.analysers) {
      a.endAll();
      this.analysers.set(name, this.build(name));
    }
    this.analysing = true;
  }

  stopAnalysis(): void {
    this.analysing = false;
    this.scope = null;
    for (const a of this.analysers.values()) a.endAll();
  }

  analysisCounts(): { facesAnalysed: number; tracks: number; splits: number; alerts: number } {
    const c = this.counters();
    return { facesAnalysed: c.facesAnalysed, tracks: c.tracks, splits: c.splits, alerts: c.alerts };
  }

  /** Is each camera analysed fast enough to keep people apart by time (health, issue 19)? */
  pace(): CameraPace[] {
    return [...this.paces].map(([camera, p]) => ({ camera, analysedFps: fpsOf(p.times), lastIntervalMs: p.times.length >= 2 ? p.times.at(-1)! - p.times.at(-2)! : 0, slow: p.slow, slowSince: p.slowSince }));
  }

  /** Called when a camera turns slow or recovers (the deployment record notes it). */
  onPace(cb: (e: PaceEvent) => void): () => void {
    this.paceListeners.add(cb);
    return () => this.paceListeners.delete(cb);
  }

  private notePace(camera: string, at: number): void {
    let p = this.paces.get(camera);
    if (!p) this.paces.set(camera, (p = { times: [], slow: false, slowSince: null, okStreak: 0 }));
    const prev = p.times.at(-1);
    p.times.push(at);
    while (p.times.length > 2 && at - p.times[0]! > PACE_WINDOW_MS) p.times.shift();
    if (prev === undefined || at < prev) return;
    const window = this.d.config.match.trackMaxMissMs;
    let changed = false;
    if (at - prev > window) {
      p.okStreak = 0;
      if (!p.slow) {
        p.slow = true;
        p.slowSince = at;
        changed = true;
      }
    } else if (p.slow && ++p.okStreak >= PACE_RECOVERY_FRAMES) {
      p.slow = false;
      p.slowSince = null;
      changed = true;
    }
    if (!changed) return;
    const e: PaceEvent = { camera, slow: p.slow, at, analysedFps: fpsOf(p.times) };
    if (e.slow) this.d.log.warn({ camera, analysedFps: Number(e.analysedFps.toFixed(2)), intervalMs: at - prev, missWindowMs: window }, 'camera analysed slower than the tracker miss window: people following each other are told apart by appearance only');
    else this.d.log.info({ camera, analysedFps: Number(e.analysedFps.toFixed(2)) }, 'camera analysis back to a rate that keeps people apart');
    for (const cb of this.paceListeners) {
      try {
        cb(e);
      } catch (err) {
        this.d.log.error({ err }, 'pace listener failed');
      }
    }
  }

  counters(): LiveCounters {
    const c: LiveCounters = { framesAnalysed: 0, facesAnalysed: 0, embedded: 0, tracks: 0, splits: 0, alerts: 0, alertsSuppressed: 0, alertErrors: this.alertErrors };
    for (const a of this.analysers.values()) {
      c.framesAnalysed += a.counters.frames;
      c.facesAnalysed += a.counters.faces;
      c.embedded += a.counters.embedded;
      c.tracks += a.counters.tracks;
      c.splits += a.counters.splits;
      c.alerts += a.counters.alerts;
      c.alertsSuppressed += a.counters.suppressed;
    }
    return c;
  }

  private build(camera: string): CameraAnalyser {
    const settings = analyserSettings(this.d.config);
    const deps: AnalyserDeps = {
      camera,
      engine: this.d.engine(),
      pools: this.d.cameras.pools,
      ...settings,
      policy: { ...settings.policy, threshold: this.threshold },
      target: () => (this.current ? { gallery: this.current.gallery, topK: this.d.config.match.topK } : null),
      onDecision: (ctx) => this.raise(ctx),
      log: this.d.log.child({ camera }),
    };
    return new CameraAnalyser(deps);
  }

  private onFrame(frame: Frame): Promise<void> {
    const p = this.analyseAndRelease(frame);
    this.inFlight.add(p);
    return p.finally(() => this.inFlight.delete(p));
  }

  private async analyseAndRelease(frame: Frame): Promise<void> {
    try {
      const a = this.analysers.get(frame.camera);
      if (a && this.running && this.analysing) {
        await a.analyse(frame);
        this.latency.record(this.d.clock() - frame.capturedAt);
        this.notePace(frame.camera, frame.capturedAt);
      }
    } catch (err) {
      // Lost to a crashed or missing inference worker: counted per camera by the pool; log a few.
      if (!(err instanceof PoolUnavailableError) || this.poolErrorsLogged++ < 10) this.d.log.error({ err, camera: frame.camera }, 'frame analysis failed');
    } finally {
      // THE release point of the frame: its lease wipes every buffer of its analysis.
      this.d.cameras.releaseFrame(frame);
    }
  }

  private async raise(ctx: DecisionContext): Promise<void> {
    const { decision, frame, box } = ctx;
    const subject = this.subjects.get(decision.subjectId);
    if (!subject) return; // watchlist replaced while deciding
    // The watchlist's life and the deployment's end are checked against the clock at the moment
    // of the alert, not only by the holder's and the deployment's timers and 15 s clock check:
    // after the clock moved 25 h forward no alert may be raised against a list past its 24 h (or
    // for a deployment past its end), even in the seconds before the holder purges it.
    const now = this.d.clock();
    const late = lateMatchReason(now, this.current?.expiresAtMs ?? null, this.scope?.endsAtMs ?? null);
    if (late) {
      const deadlineMs = late === 'watchlist_expired' ? (this.current?.expiresAtMs ?? now) : this.scope!.endsAtMs;
      this.d.log.warn({ camera: frame.camera, reason: late }, late === 'watchlist_expired' ? 'match against a watchlist past its life: no alert raised (the watchlist is being purged)' : 'match after the deployment end: no alert raised (the deployment is being ended)');
      try {
        this.d.onLateMatch?.({ reason: late, camera: frame.camera, deploymentId: this.scope?.deploymentId ?? null, deadlineMs, at: now });
      } catch (err) {
        this.d.log.error({ err }, 'late match listener failed');
      }
      return;
    }
    const cfg = this.d.config;
    try {
      const images = await alertImages(this.d.engine(), frame.image, box, ctx.others, { contextWidth: cfg.alerts.contextFrameWidth });
      const alertId = await this.d.sink.raise({
        camera: frame.camera,
        trackId: decision.trackId,
        subjectId: subject.id,
        subjectRef: subject.subjectRef,
        category: subject.category,
        reason: subject.reason ?? '',
        score: decision.score,
        threshold: this.threshold,
        capturedAt: frame.capturedAt,
        faceBox: box,
        frameWidth: frame.image.width,
        frameHeight: frame.image.height,
        faceJpeg: images.faceJpeg,
        contextJpeg: images.contextJpeg,
        // A copy: the alert service wipes what it is given, the watchlist keeps its own.
        referenceJpeg: Buffer.from(subject.referenceJpeg),
      });
      const notice: AlertNotice = { alertId, camera: frame.camera, trackId: decision.trackId, subjectId: subject.id, score: decision.score, capturedAt: frame.capturedAt, latencyMs: this.d.clock() - frame.capturedAt };
      for (const cb of this.listeners) {
        try {
          cb(notice);
        } catch (err) {
          this.d.log.error({ err }, 'alert listener failed');
        }
      }
    } catch (err) {
      this.alertErrors++;
      this.d.log.error({ err, camera: frame.camera }, 'alert could not be raised');
    }
  }
}

function fpsOf(times: readonly number[]): number {
  if (times.length < 2) return 0;
  const span = times.at(-1)! - times[0]!;
  return span > 0 ? ((times.length - 1) * 1000) / span : 0;
}
