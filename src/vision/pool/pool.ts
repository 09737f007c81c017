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
import { Worker } from 'node:worker_threads';
import { fileURLToPath } from 'node:url';
import type { Config } from '../../config/schema.js';
import type { Clock, Component } from '../../lifecycle.js';
import { systemClock } from '../../lifecycle.js';
import type { Logger } from '../../log.js';
import { wipe } from '../../crypto/secure.js';
import type { PoolAudit } from '../buffers.js';
import { analyseStill } from '../engine.js';
import type { AnalysedFrame, FrameAnalysis } from '../frame-analysis.js';
import type { Frame } from '../../ingest/frame.js';
import type { AnalysedFace, FaceDetection, FaceEngine, QualityGateSettings, RgbImage } from '../types.js';
import { FairQueue } from './fair-queue.js';
import type { AnalyseReply, AuditReply, FromWorker, ToWorker, WorkerInit, WorkerReady } from './protocol.js';

export class PoolUnavailableError extends Error {
  constructor(message = 'no inference worker is running') {
    super(message);
    this.name = 'PoolUnavailableError';
  }
}

export interface InferencePoolOptions {
  config: Config;
  log: Logger;
  clock?: Clock;
  /** Workers; default vision.workers, where 0 means: from the cores and intra-op threads. */
  workers?: number;
  /** The worker script (tests point it at a misbehaving one). */
  entry?: URL;
}

export interface WorkerStats {
  index: number;
  state: 'starting' | 'ready' | 'down' | 'stopped';
  restarts: number;
  /** Plain words: why it last went down (crash, stuck, model failed to load). */
  lastError: string | null;
  busySinceMs: number | null;
}

export interface PoolStats {
  workers: WorkerStats[];
  /** Frames whose analysis was lost to a crashed, stuck or missing worker, per camera. */
  droppedByCamera: Record<string, number>;
  queued: number;
}

interface Job {
  camera: string;
  msg: ToWorker;
  transfer?: ArrayBuffer[];
  resolve: (v: unknown) => void;
  reject: (e: Error) => void;
}

interface Slot {
  index: number;
  worker: Worker | null;
  /** Incremented per incarnation: replies and releases of a dead incarnation are ignored. */
  gen: number;
  state: WorkerStats['state'];
  ready: WorkerReady | null;
  busy: Job | null;
  busySince: number | null;
  /** Jobs that must run on this worker (a frame's embeddings). */
  pinned: Job[];
  restarts: number;
  lastError: string | null;
  restartTimer: NodeJS.Timeout | null;
  /** Requests of this incarnation awaiting a reply, by id (the busy one, audits). */
  waiting: Map<number, Job>;
}

/** Workers for a config: vision.workers, or one per `intraOpThreads` cores, at most one per camera. */
export function workerCount(config: Config, cores = os.availableParallelism()): number {
  if (config.vision.workers > 0) return config.vision.workers;
  const cameras = Math.max(1, config.cameras.filter((c) => c.enabled).length);
  return Math.max(1, Math.min(cameras, Math.floor(cores / config.vision.intraOpThreads)));
}

/** Back-off before restarting a worker that went down: 0.5 s doubling to 30 s. */
export const restartDelayMs = (restarts: number): number => Math.min(30_000, 500 * 2 ** Math.min(restarts, 6));

const DEFAULT_ENTRY = new URL('./worker.js', import.meta.url);
/** How long a stopping worker may take to finish its run and close its sessions. */
const STOP_GRACE_MS = 10_000;

/**
 * Ask a worker to finish and exit. terminate() is the last resort only: tearing a thread down
 * inside an onnxruntime-node run aborts the whole process (seen: "terminate called after
 * throwing an instance of 'Napi::Error'").
 */
async function closeWorker(w: Worker, graceMs: number): Promise<void> {
  const exited = new Promise<void>((r) => w.once('exit', () => r()));
  try {
    w.postMessage({ t: 'close' } satisfies ToWorker);
  } catch {
    return;
  }
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<'late'>((r) => (timer = setTimeout(() => r('late'), graceMs)));
  if ((await Promise.race([exited, late])) === 'late') await w.terminate();
  clearTimeout(timer);
}

export class InferencePool implements Component, FaceEngine, FrameAnalysis {
  readonly name = 'inference';
  private readonly slots: Slot[] = [];
  private readonly queue = new FairQueue<Job>();
  private readonly clock: Clock;
  private readonly log: Logger;
  private nextId = 1;
  private running = false;
  private watchdog: NodeJS.Timeout | null = null;
  private readonly dropped = new Map<string, number>();
  private info: WorkerReady | null = null;
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
      this.slots.push({ index: i, worker: null, gen: 0, state: 'starting', ready: null, busy: null, busySince: null, pinned: [], restarts: 0, lastError: null, restartTimer: null, waiting: new Map() });
    }
    const started = await Promise.allSettled(this.slots.map((s) => this.spawn(s)));
    signal.throwIfAborted();
    if (!this.slots.some((s) => s.state === 'ready')) {
      const first = started.find((r) => r.status === 'rejected') as PromiseRejectedResult | undefined;
      throw new Error(`no inference worker could start: ${(first?.reason as Error)?.message ?? 'unknown'}`);
    }
    this.log.info({ workers: n, intraOpThreads: this.o.config.vision.intraOpThreads, models: this.models }, 'inference workers ready');
    // A request running longer than this has hung in native code: replace its worker.
    this.watchdog = setInterval(() => this.checkStuck(), 1000);
    this.watchdog.unref();
  }

  async stop(): Promise<void> {
    this.running = false;
    if (this.watchdog) clearInterval(this.watchdog);
    this.watchdog = null;
    for (const j of this.queue.drain()) j.reject(new PoolUnavailableError('inference stopped'));
    await Promise.all(
      this.slots.map(async (s) => {
        if (s.restartTimer) clearTimeout(s.restartTimer);
        this.failSlotJobs(s, new PoolUnavailableError('inference stopped'));
        s.state = 'stopped';
        const w = s.worker;
        s.worker = null;
        s.gen++;
        if (w) await closeWorker(w, STOP_GRACE_MS);
      }),
    );
  }

  stats(): PoolStats {
    const now = this.clock();
    return {
      workers: this.slots.map((s) => ({ index: s.index, state: s.state, restarts: s.restarts, lastError: s.lastError, busySinceMs: s.busySince === null ? null : now - s.busySince })),
      droppedByCamera: Object.fromEntries(this.dropped),
      queued: this.queue.size + this.slots.reduce((n, s) => n + s.pinned.length, 0),
    };
  }

  /** The buffer pools of every live worker (counts only, never content). */
  async audit(): Promise<PoolAudit[]> {
    const replies = await Promise.allSettled(
      this.slots.filter((s) => s.state === 'ready').map((s) => this.request<AuditReply>(s, { t: 'audit', id: this.nextId++ })),
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
    const { slot, gen, value } = await this.run<AnalyseReply>(frame.camera, { t: 'analyse', id, frame: pixels.buffer as SharedArrayBuffer, offset: pixels.byteOffset, width, height, gates });
    // The frame's release point releases the worker's side too (if it is still the same one).
    frame.lease.onRelease(() => {
      if (slot.gen === gen && slot.worker) slot.worker.postMessage({ t: 'release', id } satisfies ToWorker);
    });
    return {
      faces: value.faces,
      embed: async (faces, dest) => {
        if (faces.length === 0) return;
        const out = dest.map((d) => {
          if (!(d.buffer instanceof SharedArrayBuffer) || d.byteOffset !== 0 || d.length !== this.embeddingSize) throw new Error('embedding buffers must be whole shared buffers of the frame lease');
          return d.buffer;
        });
        if (slot.gen !== gen || slot.state !== 'ready') throw this.drop(frame.camera, new PoolUnavailableError('the inference worker of this frame went down'));
        await this.pinned(slot, frame.camera, { t: 'embed', id, faces: [...faces], out });
      },
    };
  }

  // ---- FaceEngine: enrolment and other still images ----------------------------------------

  async detect(img: RgbImage): Promise<FaceDetection[]> {
    // A copy for the worker (transferred, wiped there after use): the caller keeps and wipes its own.
    const copy = new Uint8Array(img.data);
    return (await this.run<FaceDetection[]>('stills', { t: 'detect', id: this.nextId++, image: copy.buffer, width: img.width, height: img.height }, [copy.buffer])).value;
  }

  analyse(img: RgbImage, det: FaceDetection, gates: QualityGateSettings): AnalysedFace {
    // Alignment and the quality gate are plain JavaScript (about a millisecond): no model.
    return analyseStill(img, det, gates);
  }

  async embed(aligned: RgbImage): Promise<Float32Array> {
    const copy = new Uint8Array(aligned.data);
    const out = new SharedArrayBuffer(this.embeddingSize * 4);
    await this.run('stills', { t: 'embedStill', id: this.nextId++, aligned: copy.buffer, width: aligned.width, height: aligned.height, out }, [copy.buffer]);
    const shared = new Float32Array(out);
    const v = Float32Array.from(shared);
    wipe(shared);
    return v;
  }

  /** FaceEngine.close: the pool is stopped by the composition root, not by its users. */
  async close(): Promise<void> {}

  // ---- scheduling ---------------------------------------------------------------------------

  private run<T>(camera: string, msg: ToWorker, transfer?: ArrayBuffer[]): Promise<{ slot: Slot; gen: number; value: T }> {
    if (!this.running || !this.slots.some((s) => s.state === 'ready' || s.state === 'starting')) {
      return Promise.reject(this.drop(camera, new PoolUnavailableError()));
    }
    return new Promise((resolve, reject) => {
      const job: Job = {
        camera,
        msg,
        ...(transfer ? { transfer } : {}),
        resolve: (v) => resolve(v as { slot: Slot; gen: number; value: T }),
        reject: (e) => reject(this.drop(camera, e)),
      };
      this.queue.push(camera, job);
      this.dispatch();
    });
  }

  private async pinned(slot: Slot, camera: string, msg: ToWorker): Promise<void> {
    await new Promise<unknown>((resolve, reject) => {
      slot.pinned.push({ camera, msg, resolve, reject: (e) => reject(this.drop(camera, e)) });
      this.dispatch();
    });
  }

  /** A request outside the queues (audit): answered between jobs by the worker's event loop. */
  private request<T>(slot: Slot, msg: ToWorker & { id: number }): Promise<T> {
    return new Promise((resolve, reject) => {
      const job: Job = { camera: 'audit', msg, resolve: (v) => resolve((v as { value: T }).value), reject };
      slot.waiting.set(msg.id, job);
      slot.worker!.postMessage(msg);
    });
  }

  private drop(camera: string, e: Error): Error {
    if (camera !== 'stills' && camera !== 'audit') this.dropped.set(camera, (this.dropped.get(camera) ?? 0) + 1);
    return e;
  }

  private dispatch(): void {
    // Idle workers are taken in turn (not always the first), so each one is exercised and warm.
    const n = this.slots.length;
    const first = this.turn;
    for (let k = 0; k < n; k++) {
      const s = this.slots[(first + k) % n]!;
      if (s.state !== 'ready' || s.busy) continue;
      const job = s.pinned.shift() ?? this.queue.shift();
      if (!job) continue;
      this.turn = (s.index + 1) % n;
      s.busy = job;
      s.busySince = this.clock();
      s.waiting.set((job.msg as { id: number }).id, job);
      s.worker!.postMessage(job.msg, job.transfer ?? []);
    }
    if (!this.slots.some((s) => s.state === 'ready' || s.state === 'starting')) {
      for (const j of this.queue.drain()) j.reject(new PoolUnavailableError());
    }
  }

  private spawn(slot: Slot): Promise<void> {
    const gen = ++slot.gen;
    slot.state = 'starting';
    const init: WorkerInit = { index: slot.index, config: this.o.config, logLevel: this.o.log.level };
    const worker = new Worker(fileURLToPath(this.o.entry ?? DEFAULT_ENTRY), { workerData: init });
    slot.worker = worker;
    return new Promise<void>((resolve, reject) => {
      worker.on('message', (m: FromWorker) => {
        if (slot.gen !== gen) return;
        if (m.t === 'ready') {
          slot.state = 'ready';
          slot.ready = m;
          this.info ??= m;
          resolve();
          this.dispatch();
        } else if (m.t === 'initError') {
          slot.lastError = `models failed to load: ${m.message}`;
          reject(new Error(m.message));
        } else {
          const job = slot.waiting.get(m.id);
          if (!job) return;
          slot.waiting.delete(m.id);
          if (slot.busy === job) {
            slot.busy = null;
            slot.busySince = null;
          }
          if (m.t === 'done') job.resolve({ slot, gen, value: m.value });
          else job.reject(new Error(`inference failed: ${m.message}`));
          this.dispatch();
        }
      });
      worker.on('error', (err) => {
        if (slot.gen === gen) slot.lastError = `crashed: ${err.message}`;
      });
      worker.on('exit', (code) => {
        if (slot.gen !== gen) return;
        reject(new Error(slot.lastError ?? `exited with code ${code}`));
        this.down(slot, slot.lastError ?? `exited with code ${code}`);
      });
    });
  }

  /** A worker died or was put down: fail its requests, restart it after a back-off. */
  private down(slot: Slot, reason: string): void {
    slot.gen++;
    slot.worker = null;
    slot.state = 'down';
    slot.lastError = reason;
    this.failSlotJobs(slot, new PoolUnavailableError(`inference worker ${slot.index} went down: ${reason}`));
    if (!this.running) return;
    const delay = restartDelayMs(slot.restarts);
    slot.restarts++;
    this.log.error({ worker: slot.index, reason, restartInMs: delay }, 'inference worker down; other workers carry on');
    slot.restartTimer = setTimeout(() => {
      slot.restartTimer = null;
      if (this.running) this.spawn(slot).catch(() => undefined);
    }, delay);
    slot.restartTimer.unref();
    this.dispatch();
  }

  private failSlotJobs(slot: Slot, e: Error): void {
    const jobs = [...slot.waiting.values(), ...slot.pinned];
    slot.waiting.clear();
    slot.pinned = [];
    slot.busy = null;
    slot.busySince = null;
    for (const j of jobs) j.reject(e);
  }

  private checkStuck(): void {
    const limit = this.o.config.vision.workerTimeoutMs;
    const now = this.clock();
    for (const s of this.slots) {
      if (s.busySince === null || now - s.busySince <= limit) continue;
      const w = s.worker;
      this.down(s, `stuck: one request ran over ${limit} ms`);
      // Its thread is left to finish the run and exit (it cannot be torn down inside one); a
      // new worker takes its place after the back-off.
      if (w) void closeWorker(w, 10 * 60_000);
    }
  }
}
