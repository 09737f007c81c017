// One place in the inference pool: the worker thread that fills it now, the request in hand,
// the requests pinned to it (a frame's embeddings go to the worker that holds its crops), and
// its life: start, reply, crash or hang, restart after a back-off. The pool (pool.ts) decides
// what runs where; this file only runs one worker.
import { Worker } from 'node:worker_threads';
import { fileURLToPath } from 'node:url';
import type { Clock } from '../../lifecycle.js';
import type { Logger } from '../../log.js';
import type { FromWorker, ToWorker, WorkerInit, WorkerReady } from './protocol.js';

export class PoolUnavailableError extends Error {
  constructor(message = 'no inference worker is running') {
    super(message);
    this.name = 'PoolUnavailableError';
  }
}

export interface Job {
  camera: string;
  msg: ToWorker & { id: number };
  transfer?: ArrayBuffer[];
  resolve: (v: { slot: WorkerSlot; gen: number; value: unknown }) => void;
  reject: (e: Error) => void;
}

export interface WorkerStats {
  index: number;
  state: 'starting' | 'ready' | 'down' | 'stopped';
  restarts: number;
  /** Plain words: why it last went down (crash, stuck, model failed to load). */
  lastError: string | null;
  busySinceMs: number | null;
}

/** Back-off before restarting a worker that went down: 0.5 s doubling to 30 s. */
export const restartDelayMs = (restarts: number): number => Math.min(30_000, 500 * 2 ** Math.min(restarts, 6));

/**
 * Ask a worker to finish and exit. terminate() is the last resort only: tearing a thread down
 * inside an onnxruntime-node run aborts the whole process (seen: "terminate called after
 * throwing an instance of 'Napi::Error'").
 */
export async function closeWorker(w: Worker, graceMs: number): Promise<void> {
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

export interface SlotDeps {
  entry: URL;
  init: WorkerInit;
  log: Logger;
  clock: Clock;
  /** A worker became ready, or finished a request: give it more work. */
  onIdle: (slot: WorkerSlot, ready?: WorkerReady) => void;
  /** Whether a worker that went down should be restarted (false once the pool stops). */
  restartable: () => boolean;
}

export class WorkerSlot {
  worker: Worker | null = null;
  /** Incremented per incarnation: replies and releases of a dead incarnation are ignored. */
  gen = 0;
  state: WorkerStats['state'] = 'starting';
  busy: Job | null = null;
  busySince: number | null = null;
  /** Jobs that must run on this worker (a frame's embeddings). */
  pinned: Job[] = [];
  restarts = 0;
  lastError: string | null = null;
  private restartTimer: NodeJS.Timeout | null = null;
  /** Requests of this incarnation awaiting a reply, by id (the busy one, audits). */
  private readonly waiting = new Map<number, Job>();

  constructor(
    readonly index: number,
    private readonly d: SlotDeps,
  ) {}

  get ready(): boolean {
    return this.state === 'ready' && this.worker !== null;
  }

  stats(now: number): WorkerStats {
    return { index: this.index, state: this.state, restarts: this.restarts, lastError: this.lastError, busySinceMs: this.busySince === null ? null : now - this.busySince };
  }

  /** Start a worker in this place; resolves once its models are loaded. */
  spawn(): Promise<void> {
    const gen = ++this.gen;
    this.state = 'starting';
    const worker = new Worker(fileURLToPath(this.d.entry), { workerData: this.d.init });
    this.worker = worker;
    return new Promise<void>((resolve, reject) => {
      worker.on('message', (m: FromWorker) => {
        if (this.gen !== gen) return;
        if (m.t === 'ready') {
          this.state = 'ready';
          resolve();
          this.d.onIdle(this, m);
        } else if (m.t === 'initError') {
          this.lastError = `models failed to load: ${m.message}`;
          reject(new Error(m.message));
        } else {
          const job = this.waiting.get(m.id);
          if (!job) return;
          this.waiting.delete(m.id);
          if (this.busy === job) {
            this.busy = null;
            this.busySince = null;
          }
          if (m.t === 'done') job.resolve({ slot: this, gen, value: m.value });
          else job.reject(new Error(`inference failed: ${m.message}`));
          this.d.onIdle(this);
        }
      });
      worker.on('error', (err) => {
        if (this.gen === gen) this.lastError = `crashed: ${err.message}`;
      });
      worker.on('exit', (code) => {
        if (this.gen !== gen) return;
        const reason = this.lastError ?? `exited with code ${code}`;
        reject(new Error(reason));
        this.down(reason);
      });
    });
  }

  /** Run a job here (the pool checked that this worker is ready and idle). */
  run(job: Job): void {
    this.busy = job;
    this.busySince = this.d.clock();
    this.waiting.set(job.msg.id, job);
    this.worker!.postMessage(job.msg, job.transfer ?? []);
  }

  /** A request answered between jobs by the worker's event loop (audit). */
  ask(job: Job): void {
    this.waiting.set(job.msg.id, job);
    this.worker!.postMessage(job.msg);
  }

  /** Fire and forget to the incarnation `gen` only (a frame's release). */
  post(gen: number, msg: ToWorker): void {
    if (this.gen === gen && this.worker) this.worker.postMessage(msg);
  }

  /** The worker died or was put down: fail its requests, restart it after a back-off. */
  down(reason: string): void {
    this.gen++;
    this.worker = null;
    this.state = 'down';
    this.lastError = reason;
    this.failJobs(new PoolUnavailableError(`inference worker ${this.index} went down: ${reason}`));
    if (!this.d.restartable()) return;
    const delay = restartDelayMs(this.restarts);
    this.restarts++;
    this.d.log.error({ worker: this.index, reason, restartInMs: delay }, 'inference worker down; other workers carry on');
    this.restartTimer = setTimeout(() => {
      this.restartTimer = null;
      if (this.d.restartable()) this.spawn().catch(() => undefined);
    }, delay);
    this.restartTimer.unref();
  }

  /** A request ran longer than `limitMs`: the worker hangs in native code. Replace it. */
  putDownIfStuck(now: number, limitMs: number): void {
    if (this.busySince === null || now - this.busySince <= limitMs) return;
    const w = this.worker;
    this.down(`stuck: one request ran over ${limitMs} ms`);
    // Its thread is left to finish the run and exit (it cannot be torn down inside one); a new
    // worker takes its place after the back-off.
    if (w) void closeWorker(w, 10 * 60_000);
  }

  /** Stop for good: fail what it holds, close the worker (after its run in hand). */
  async stop(e: Error, graceMs: number): Promise<void> {
    if (this.restartTimer) clearTimeout(this.restartTimer);
    this.restartTimer = null;
    this.failJobs(e);
    this.state = 'stopped';
    const w = this.worker;
    this.worker = null;
    this.gen++;
    if (w) await closeWorker(w, graceMs);
  }

  private failJobs(e: Error): void {
    const jobs = [...this.waiting.values(), ...this.pinned];
    this.waiting.clear();
    this.pinned = [];
    this.busy = null;
    this.busySince = null;
    for (const j of jobs) j.reject(e);
  }
}
