// CameraManager: every configured camera, each with its own pipeline and supervisor, behind the
// Component lifecycle. One camera's failure is contained in its Camera object: errors arrive
// as bus messages (never exceptions) and every consumer call is wrapped.
import type { CameraConfig, Config } from '../config/schema.js';
import type { Clock, Component } from '../lifecycle.js';
import { systemClock } from '../lifecycle.js';
import type { Logger } from '../log.js';
import { BufferPools } from '../buffers/pools.js';
import type { Frame } from './frame.js';
import { Camera, type CameraStats } from './camera.js';
import type { ElementProbe } from './decoder.js';
import type { CameraState } from './supervision.js';

export type { CameraStats, CameraState };

export interface CameraStateChange {
  camera: string;
  state: CameraState;
  previous: CameraState;
  /** Plain words, no credentials; null for normal transitions. */
  reason: string | null;
  at: number;
}

export type FrameConsumer = (frame: Frame) => void | Promise<void>;

export interface CameraManagerOptions {
  cameras: CameraConfig[];
  ingest: Config['ingest'];
  log: Logger;
  clock?: Clock;
  /** Uniform [0,1) for back-off jitter; injectable for tests. */
  random?: () => number;
  /** Element-existence probe for decoder 'auto' (tests); default: each decoder process asks gst-inspect-1.0. */
  probe?: ElementProbe;
  /** The main thread's buffer pools (frames are owned buffers of them); default: the manager's own. */
  pools?: BufferPools;
  /** file:// cameras: 'paced' plays at the file's rate (like a camera), 'fast' as fast as the consumer takes frames, losing none. */
  fileDelivery?: 'paced' | 'fast';
  /** Watchdog and fps sampling period. 250 ms resolves a 500 ms stall timeout. */
  tickMs?: number;
}

export class CameraManager implements Component {
  readonly name = 'cameras';
  private cameras: Camera[] = [];
  private consumers = new Set<FrameConsumer>();
  private stateListeners = new Set<(e: CameraStateChange) => void>();
  private timer: NodeJS.Timeout | null = null;
  private readonly clock: Clock;
  readonly pools: BufferPools;

  constructor(private readonly opts: CameraManagerOptions) {
    this.clock = opts.clock ?? systemClock;
    this.pools = opts.pools ?? new BufferPools('main');
  }

  async start(signal: AbortSignal): Promise<void> {
    const log = this.opts.log;
    const enabled = this.opts.cameras.filter((c) => c.enabled);
    for (const config of enabled) {
      if (signal.aborted) break;
      const camLog = log.child({ module: 'ingest', camera: config.name });
      const cam = new Camera({
        config,
        ingest: this.opts.ingest,
        log: camLog,
        clock: this.clock,
        pools: this.pools,
        ...(this.opts.probe ? { probe: this.opts.probe } : {}),
        random: this.opts.random ?? Math.random,
        fileDelivery: this.opts.fileDelivery ?? 'paced',
        deliver: (f) => this.deliver(f, camLog),
        onState: (camera, state, previous, reason) => this.emitState({ camera, state, previous, reason, at: this.clock() }),
      });
      this.cameras.push(cam);
      cam.start();
    }
    this.timer = setInterval(() => {
      const now = this.clock();
      for (const c of this.cameras) {
        try {
          c.tick(now);
        } catch (err) {
          log.error({ err, camera: c.name }, 'camera watchdog failed');
        }
      }
    }, this.opts.tickMs ?? 250);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    for (const c of this.cameras) {
      try {
        c.stop();
      } catch (err) {
        this.opts.log.error({ err, camera: c.name }, 'camera stop failed');
      }
    }
  }

  /** Register the frame consumer. Calls are sequential per camera (awaited when async), at most one frame in flight per camera; frames waiting beyond ingest.queueDepth are dropped oldest-first. */
  onFrame(cb: FrameConsumer): () => void {
    this.consumers.add(cb);
    return () => this.consumers.delete(cb);
  }

  onStateChange(cb: (e: CameraStateChange) => void): () => void {
    this.stateListeners.add(cb);
    return () => this.stateListeners.delete(cb);
  }

  /** Process ids of the running decoder processes (one per connected camera). */
  /** Each camera's decoder process (benchmarks split CPU time by camera); cameras without one are left out. */
  decoderPidsByCamera(): Array<{ camera: string; pid: number }> {
    return this.cameras.flatMap((c) => (c.decoderPid === undefined ? [] : [{ camera: c.name, pid: c.decoderPid }]));
  }

  decoderPids(): number[] {
    return this.cameras.map((c) => c.decoderPid).filter((p): p is number => p !== undefined);
  }

  stats(): CameraStats[] {
    return this.cameras.map((c) => c.stats());
  }

  /**
   * THE release point of a frame, once the consumer is done with it: its lease zeroes the pixels
   * (faces of passers-by) and every buffer its analysis took, here and in the inference workers.
   */
  releaseFrame(frame: Frame): void {
    frame.lease.release();
  }

  /** Resolves when every file:// camera has ended (or failed/stopped) and its frames were consumed. */
  async drained(): Promise<void> {
    await Promise.all(this.cameras.map((c) => c.drained()));
  }

  private async deliver(frame: Frame, log: Logger): Promise<void> {
    if (this.consumers.size === 0) {
      frame.lease.release();
      return;
    }
    for (const cb of this.consumers) {
      try {
        await cb(frame);
      } catch (err) {
        log.error({ err }, 'frame consumer failed');
      }
    }
  }

  private emitState(e: CameraStateChange): void {
    for (const cb of this.stateListeners) {
      try {
        cb(e);
      } catch (err) {
        this.opts.log.error({ err }, 'camera state listener failed');
      }
    }
  }
}
