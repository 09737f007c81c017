// The inference worker pool (issue 13): every ONNX Runtime run of the daemon happens in a
// worker_threads worker, so the event loop (MQTT, control socket, tablet page, sd_notify, the
// alert path) never waits behind a model. A Component of the composition root, and the daemon's
// FaceEngine (enrolment) and FrameAnalysis (the live path).
//
// A small pool of our own rather than piscina: the live path needs affinity (a frame's aligned
// crops stay in the worker that made them until the frame's embeddings are asked for and its
// lease is released there), fair round-robin across cameras instead of one FIFO, messages that
// reach one particular worker (release) or all of them (audit), and restart with back-off that
// health can report. piscina's task model (stateless tasks, one shared queue) would fight all four.
//
// What stays on the main thread: the ONE decrypted gallery and its search (workers never see a
// template), the tracker and alert policy, the stores, and each frame's release point. A worker
// that throws fails its request (the frame is dropped and counted, the main thread's lease wipes
// it as usual); a worker that dies or sticks is replaced after a back-off, its requests failed;
// the other workers carry on.
import os from 'node:os';
import type { Config } from '../../config/schema.js';
import type { Clock, Component } from '../../lifecycle.js';
import { systemClock } from '../../lifecycle.js';
import type { Logger } from '../../log.js';
import { wipe } from '../../crypto/secure.js';
import type { PoolAudit } from '../../buffers/pools.js';
import { analyseStill } from '../engine.js';
import type { AnalysedFrame, FrameAnalysis } from '../frame-analysis.js';
import type { Frame } from '../../ingest/frame.js';
import type { AnalysedFace, FaceDetection, FaceEngine, QualityGateSettings, RgbImage } from '../types.js';
import { FairQueue } from './fair-queue.js';
import type { AnalyseReply, AuditReply, ToWorker, WorkerInit, WorkerReady } from './protocol.js';
import { PoolUnavailableError, WorkerSlot, type Job, type WorkerStats } from './worker-slot.js';

export { PoolUnavailableError, restartDelayMs, type WorkerStats } from './worker-slot.js';

export interface InferencePoolOptions {
  config: Config;
  log: Logger;
  clock?: Clock;
  /** Workers; default vision.workers, where 0 means: from the cores and intra-op threads. */
  workers?: number;
  /** The worker script (tests point it at a misbehaving one). */
  entry?: URL;
}

export interface PoolStats {
  workers: WorkerStats[];
  /** Frames whose analysis was lost to a crashed, stuck or missing worker, per camera. */
  droppedByCamera: Record<string, number>;
  queued: number;
}

/** Workers for a config: vision.workers, or one per `intraOpThreads` cores, at most one per camera. */
export function workerCount(config: Config, cores = os.availableParallelism()): number {
  if (config.vision.workers > 0) return config.vision.workers;
  const cameras = Math.max(1, config.cameras.filter((c) => c.enabled).length);
  return Math.max(1, Math.min(cameras, Math.floor(cores / config.vision.intraOpThreads)));
}

const DEFAULT_ENTRY = new URL('./worker.js', import.meta.url);
/** How long a stopping worker may take to finish its run and close its sessions. */
const STOP_GRACE_MS = 10_000;
/** Queue keys that are not cameras (their losses are not frames of a camera). */
const STILLS = 'stills';

export class InferencePool implements Component, FaceEngine, FrameAnalysis {
  readonly name = 'inference';
  private readonly slots: WorkerSlot[] = [];
  private readonly queue = new FairQueue<Job>();
  private readonly clock: Clock;
  private readonly log: Logger;
  private nextId = 1;
  private running = false;
  private watchdog: NodeJS.Timeout | null = null;
  private readonly dropped = new Map<string, number>();
  private info: WorkerReady | null = null;
  /** The next worker to offer work to: idle workers are taken in turn, so each stays warm. */
  private turn = 0;

  constructor(private readonly o: InferencePoolOptions) {
    this.clock = o.clock ?? systemClock;
    this.log = o.log.child({ module: 'inference' });
  }

  get embeddingSize(): number {
    return this.info?.embeddingSize ?? 0;
  }

  get models(): WorkerReady['models'] {
    return this.info?.models ?? { detector: '', landmarker: '', embedder: '' };
  }

  /** Start every worker and wait until each has loaded its models (or failed to). */
  async start(signal: AbortSignal): Promise<void> {
    const n = this.o.workers ?? workerCount(this.o.config);
    this.running = true;
    for (let i = 0; i < n; i++) {
      const init: WorkerInit = { index: i, config: this.o.config, logLevel: this.o.log.level };
      this.slots.push(
        new WorkerSlot(i, {
          entry: this.o.entry ?? DEFAULT_ENTRY,
          init,
          log: this.log,
          clock: this.clock,
          onIdle: (_slot, ready) => {
            if (ready) this.info ??= ready;
            this.dispatch();
          },
          restartable: () => this.running,
        }),
      );
    }
    const started = await Promise.allSettled(this.slots.map((s) => s.spawn()));
    signal.throwIfAborted();
    if (!this.slots.some((s) => s.ready)) {
      const first = started.find((r) => r.status === 'rejected') as PromiseRejectedResult | undefined;
      throw new Error(`no inference worker could start: ${(first?.reason as Error)?.message ?? 'unknown'}`);
    }
    this.log.info({ workers: n, intraOpThreads: this.o.config.vision.intraOpThreads, models: this.models }, 'inference workers ready');
    // A request running longer than this has hung in native code: replace its worker.
    this.watchdog = setInterval(() => {
      for (const s of this.slots) s.putDownIfStuck(this.clock(), this.o.config.vision.workerTimeoutMs);
      this.dispatch();
    }, 1000);
    this.watchdog.unref();
  }

  async stop(): Promise<void> {
    this.running = false;
    if (this.watchdog) clearInterval(this.watchdog);
    this.watchdog = null;
    for (const j of this.queue.drain()) j.reject(new PoolUnavailableError('inference stopped'));
    await Promise.all(this.slots.map((s) => s.stop(new PoolUnavailableError('inference stopped'), STOP_GRACE_MS)));
  }

  stats(): PoolStats {
    const now = this.clock();
    return {
      workers: this.slots.map((s) => s.stats(now)),
      droppedByCamera: Object.fromEntries(this.dropped),
      queued: this.queue.size + this.slots.reduce((n, s) => n + s.pinned.length, 0),
    };
  }

  /** The buffer pools of every live worker (counts only, never content). */
  async audit(): Promise<PoolAudit[]> {
    const replies = await Promise.allSettled(
      this.slots
        .filter((s) => s.ready)
        .map(
          (s) =>
            new Promise<AuditReply>((resolve, reject) =>
              s.ask({ camera: 'audit', msg: { t: 'audit', id: this.nextId++ }, resolve: (r) => resolve(r.value as AuditReply), reject }),
            ),
        ),
    );
    return replies.flatMap((r) => (r.status === 'fulfilled' ? r.value.pools : []));
  }

  // ---- FrameAnalysis: the live path ------------------------------------------------------

  async analyseFrame(frame: Frame, gates: QualityGateSettings): Promise<AnalysedFrame> {
    const { width, height } = frame.image;
    let pixels = frame.image.data;
    // Frames from ingest already live in shared memory; others (tools) are copied into the lease.
    if (!(pixels.buffer instanceof SharedArrayBuffer)) {
      const shared = frame.lease.u8('frame', width * height * 3, { shared: true });
      shared.set(pixels.subarray(0, shared.length));
      pixels = shared;
    }
    const id = this.nextId++;
    const { slot, gen, value } = await this.run(frame.camera, { t: 'analyse', id, frame: pixels.buffer as SharedArrayBuffer, offset: pixels.byteOffset, width, height, gates });
    // The frame's release point releases the worker's side too (if it is still the same worker).
    frame.lease.onRelease(() => slot.post(gen, { t: 'release', id }));
    return {
      faces: (value as AnalyseReply).faces,
      embed: async (faces, dest) => {
        if (faces.length === 0) return;
        const out = dest.map((d) => {
          if (!(d.buffer instanceof SharedArrayBuffer) || d.byteOffset !== 0 || d.length !== this.embeddingSize) throw new Error('embedding buffers must be whole shared buffers of the frame lease');
          return d.buffer;
        });
        if (slot.gen !== gen || !slot.ready) throw this.drop(frame.camera, new PoolUnavailableError('the inference worker of this frame went down'));
        await new Promise((resolve, reject) => {
          slot.pinned.push({ camera: frame.camera, msg: { t: 'embed', id, faces: [...faces], out }, resolve, reject: (e) => reject(this.drop(frame.camera, e)) });
          this.dispatch();
        });
      },
    };
  }

  // ---- FaceEngine: enrolment and other still images ----------------------------------------

  async detect(img: RgbImage): Promise<FaceDetection[]> {
    // A copy for the worker (transferred, wiped there after use): the caller keeps and wipes its own.
    const copy = new Uint8Array(img.data);
    return (await this.run(STILLS, { t: 'detect', id: this.nextId++, image: copy.buffer, width: img.width, height: img.height }, [copy.buffer])).value as FaceDetection[];
  }

  analyse(img: RgbImage, det: FaceDetection, gates: QualityGateSettings): AnalysedFace {
    // Alignment and the quality gate are plain JavaScript (about a millisecond): no model.
    return analyseStill(img, det, gates);
  }

  async embed(aligned: RgbImage): Promise<Float32Array> {
    const copy = new Uint8Array(aligned.data);
    const out = new SharedArrayBuffer(this.embeddingSize * 4);
    await this.run(STILLS, { t: 'embedStill', id: this.nextId++, aligned: copy.buffer, width: aligned.width, height: aligned.height, out }, [copy.buffer]);
    const shared = new Float32Array(out);
    const v = Float32Array.from(shared);
    wipe(shared);
    return v;
  }

  /** FaceEngine.close: the pool is stopped by the composition root, not by its users. */
  async close(): Promise<void> {}

  // ---- scheduling ---------------------------------------------------------------------------

  private run(camera: string, msg: ToWorker & { id: number }, transfer?: ArrayBuffer[]): Promise<{ slot: WorkerSlot; gen: number; value: unknown }> {
    if (!this.running || !this.slots.some((s) => s.state === 'ready' || s.state === 'starting')) {
      return Promise.reject(this.drop(camera, new PoolUnavailableError()));
    }
    return new Promise((resolve, reject) => {
      this.queue.push(camera, { camera, msg, ...(transfer ? { transfer } : {}), resolve, reject: (e) => reject(this.drop(camera, e)) });
      this.dispatch();
    });
  }

  private drop(camera: string, e: Error): Error {
    if (camera !== STILLS) this.dropped.set(camera, (this.dropped.get(camera) ?? 0) + 1);
    return e;
  }

  private dispatch(): void {
    const n = this.slots.length;
    const first = this.turn;
    for (let k = 0; k < n; k++) {
      const s = this.slots[(first + k) % n]!;
      if (!s.ready || s.busy) continue;
      // A frame's embeddings first (its crops wait in this worker), then the cameras in turn.
      const job = s.pinned.shift() ?? this.queue.shift();
      if (!job) continue;
      this.turn = (s.index + 1) % n;
      s.run(job);
    }
    // Every worker down (none starting): fail at once, so cameras drop and count, not wait.
    if (!this.slots.some((s) => s.state === 'ready' || s.state === 'starting')) {
      for (const j of this.queue.drain()) j.reject(new PoolUnavailableError());
    }
  }
}
