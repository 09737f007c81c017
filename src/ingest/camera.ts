// One camera: its decoder process (one per connection attempt, see decoder-process.ts) and its
// supervision (connect, live, stall watchdog, back-off retry). Frames arrive over a private
// socket straight into owned, shared frame buffers (frame-reader.ts) and are queued for the
// consumer; the decoder never waits for us (it drops frames the daemon has not taken yet).
import { fileURLToPath } from 'node:url';
import type { CameraConfig, Config } from '../config/schema.js';
import type { Clock } from '../lifecycle.js';
import { scrubUrl, type Logger } from '../log.js';
import type { BufferPools } from '../buffers/pools.js';
import { captureTime, type Frame } from './frame.js';
import { readCredentials } from './credentials.js';
import { selectDecoder, type DecoderChoice, type ElementProbe } from './decoder.js';
import type { DecoderStart } from './decoder-protocol.js';
import { DecoderConnection } from './decoder-connection.js';
import type { ReceivedFrame } from './frame-reader.js';
import { FrameQueue } from './frame-queue.js';
import { backoffDelay, plainReason, RateMeter, watchdog, type CameraState } from './supervision.js';

export interface CameraStats {
  camera: string;
  state: CameraState;
  /** Frames delivered to the consumer queue per second (after the analysisFps cap). */
  fps: number;
  /** Frames decoded per second (before the cap). */
  decodeFps: number;
  decoded: number;
  /** Frames skipped by the analysisFps cap (by design, not a loss). */
  capped: number;
  /** Frames lost because the consumer was slower than the cap (appsink + queue drops). */
  dropped: number;
  /** Frames the consumer finished with. */
  analysed: number;
  queued: number;
  reconnects: number;
  lastFrameAt: number | null;
  /** When the consumer last finished a frame (analysis progress, for the watchdog and health). */
  lastAnalysedAt: number | null;
  /** Since when the consumer has been on the frame in hand; null when idle. */
  busySince: number | null;
  /** Plain words, never a URL with credentials or a password. */
  lastError: string | null;
  /** A frame has arrived since the camera was started (a camera that never delivered one is still making its first connection). */
  everLive: boolean;
  /** Failed, and its supervisor will try again (not a permanent failure). */
  retrying: boolean;
  width: number | null;
  height: number | null;
}

export interface CameraDeps {
  config: CameraConfig;
  ingest: Config['ingest'];
  log: Logger;
  clock: Clock;
  /** The main thread's buffer pools: every frame's pixels are an owned buffer of a frame lease. */
  pools: BufferPools;
  /** Decoder choice made here (tests inject a probe); undefined: the decoder process asks GStreamer. */
  probe?: ElementProbe;
  random: () => number;
  fileDelivery: 'paced' | 'fast';
  deliver: (frame: Frame) => Promise<void>;
  onState: (camera: string, state: CameraState, previous: CameraState, reason: string | null) => void;
}

/** Counter read from a GStreamer property that resets on restart/flush: keep it monotonic. */
class Monotonic {
  private base = 0;
  private last = 0;
  update(v: number): number {
    if (v < this.last) this.base += this.last;
    this.last = v;
    return this.base + v;
  }
  get value(): number {
    return this.base + this.last;
  }
  /** The source element is about to be replaced: keep what it counted. */
  rebase(): void {
    this.base += this.last;
    this.last = 0;
  }
}

class PermanentError extends Error {}

export class Camera {
  readonly name: string;
  state: CameraState = 'stopped';
  private conn: DecoderConnection | null = null;
  private readonly isFile: boolean;
  private attempt = 0;
  private retryTimer: NodeJS.Timeout | null = null;
  private everLive = false;
  /** Connect timeouts in a row since the last frame (each doubles the next wait, up to 8x). */
  private connectTimeouts = 0;
  private connectStartedAt = 0;
  private lastFrameAt: number | null = null;
  private lastAnalysedAt: number | null = null;
  private lastError: string | null = null;
  private reconnects = 0;
  private seq = 0;
  private pulled = 0;
  private sinkDropped = 0;
  private childDropped = 0;
  private childBase = 0;
  private analysed = 0;
  private busy = false;
  private busySince: number | null = null;
  private size: { width: number; height: number } | null = null;
  private readonly decodedCtr = new Monotonic();
  private readonly outCtr = new Monotonic();
  private readonly pulledCtr = new Monotonic();
  private readonly fpsMeter = new RateMeter();
  private readonly decodeMeter = new RateMeter();
  private readonly queue: FrameQueue<Frame>;
  private drainWaiters: Array<() => void> = [];
  private password: string | null = null;

  constructor(private readonly d: CameraDeps) {
    this.name = d.config.name;
    this.isFile = d.config.url.startsWith('file://');
    this.queue = new FrameQueue<Frame>(d.ingest.queueDepth, (f) => f.lease.release());
  }

  /** The decoder process of the current connection (benchmarks count its CPU and memory). */
  get decoderPid(): number | undefined {
    return this.conn?.pid;
  }

  private get fast(): boolean {
    return this.isFile && this.d.fileDelivery === 'fast';
  }

  start(): void {
    if (this.state !== 'stopped') return;
    this.attempt = 0;
    this.everLive = false;
    this.connectTimeouts = 0;
    this.connect();
  }

  stop(): void {
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = null;
    this.teardown();
    this.queue.clear();
    this.setState('stopped', null);
    this.password = null;
    this.resolveDrain();
  }

  /** Resolves when a file camera has ended (or stopped) and every queued frame was consumed. */
  drained(): Promise<void> {
    if (this.isIdleEnded()) return Promise.resolve();
    return new Promise((r) => this.drainWaiters.push(r));
  }

  /** Called periodically by the manager: watchdog and rate sampling. */
  tick(now: number): void {
    this.fpsMeter.sample(now, this.pulled);
    this.decodeMeter.sample(now, this.decodedCtr.value);
    const v = watchdog({
      state: this.state,
      now,
      connectStartedAt: this.connectStartedAt,
      lastFrameAt: this.lastFrameAt,
      stallTimeoutMs: this.d.ingest.stallTimeoutMs,
      // Each connect timeout in a row doubles the next wait (10, 20, 40, 80 s by default): on a
      // busy box the first frame can take longer than connectTimeoutMs, and a retry that starts
      // from nothing with the same limit would never get there (issue 23).
      connectTimeoutMs: this.d.ingest.connectTimeoutMs * 2 ** Math.min(this.connectTimeouts, 3),
    });
    if (v === 'stalled') {
      this.lastError = `no frame for ${this.d.ingest.stallTimeoutMs} ms (stream stalled)`;
      this.d.log.warn({ reason: this.lastError }, 'camera stalled, restarting');
      this.teardown();
      this.setState('stalled', this.lastError);
      this.scheduleRetry();
    } else if (v === 'connect-timeout') {
      this.connectTimeouts++;
      this.fail('no video frame arrived after connecting (wrong codec, not a video stream, or no key frame within ingest.connectTimeoutMs)');
    }
  }

  stats(): CameraStats {
    return {
      camera: this.name,
      state: this.state,
      fps: round1(this.fpsMeter.rate()),
      decodeFps: round1(this.decodeMeter.rate()),
      decoded: this.decodedCtr.value,
      capped: Math.max(0, this.decodedCtr.value - this.outCtr.value),
      dropped: this.sinkDropped + this.childDropped + this.queue.dropped,
      analysed: this.analysed,
      queued: this.queue.length,
      reconnects: this.reconnects,
      lastFrameAt: this.lastFrameAt,
      lastAnalysedAt: this.lastAnalysedAt,
      busySince: this.busySince,
      lastError: this.lastError,
      everLive: this.everLive,
      retrying: this.state === 'failed' && this.retryTimer !== null,
      width: this.size?.width ?? null,
      height: this.size?.height ?? null,
    };
  }

  // ---- connection lifecycle -------------------------------------------------------------

  private connect(): void {
    this.retryTimer = null;
    let start: DecoderStart;
    try {
      start = this.build();
      this.applyCredentials(start);
    } catch (err) {
      this.setState('connecting', null);
      this.fail((err as Error).message, err instanceof PermanentError);
      return;
    }
    this.connectStartedAt = this.d.clock();
    this.setState('connecting', null);
    this.conn = new DecoderConnection(
      { start, pools: this.d.pools, credits: this.fast ? this.d.ingest.queueDepth : 0, log: this.d.log, scrub: (t) => this.scrub(t) },
      {
        built: (decoder, kind) => this.d.log.info({ decoder, kind }, 'camera pipeline built'),
        bus: (type, src, message) => this.onBus(type, src, message),
        counters: (c) => {
          this.decodedCtr.update(c.in);
          this.outCtr.update(c.out);
          this.pulledCtr.update(c.pulled);
          this.childDropped = this.childBase + c.dropped;
          // Frames that passed the cap but never left the appsink were dropped there (one may
          // be waiting right now, hence the -1). Fast file delivery's appsink never drops.
          if (!this.fast) this.sinkDropped = Math.max(this.sinkDropped, this.outCtr.value - this.pulledCtr.value - 1);
        },
        frame: (f) => this.onSample(f),
        ended: () => {
          if (this.isFile) this.ended();
          else this.fail('the camera ended the stream');
        },
        failed: (reason, permanent) => {
          if (this.state === 'connecting' || this.state === 'live') this.fail(reason, permanent);
        },
      },
    );
    // The credentials went to the decoder over IPC; keep no copy in the spec.
    start.props = {};
  }

  /**
   * What the decoder process needs to build its pipeline. The URL and credentials travel as
   * element properties over the IPC channel, never on a command line or in the environment.
   */
  private build(): DecoderStart {
    const c = this.d.config;
    let location: string;
    try {
      const u = new URL(c.url);
      if (this.isFile) location = fileURLToPath(u);
      else {
        if (!u.hostname) throw new Error('no host');
        location = c.url;
      }
    } catch {
      throw new PermanentError('camera URL is malformed (expected rtsp://host[:port]/path or file:///path)');
    }
    let decoder: DecoderChoice | undefined;
    if (this.d.probe) {
      try {
        decoder = selectDecoder(c.codec, c.decoder, this.d.probe);
      } catch (err) {
        throw new PermanentError((err as Error).message);
      }
    }
    return {
      t: 'start',
      spec: {
        source: this.isFile ? 'file' : 'rtsp',
        codec: c.codec,
        decoderMode: c.decoder,
        ...(decoder ? { decoder } : {}),
        transport: c.transport,
        latencyMs: c.latencyMs,
        analysisWidth: c.analysisWidth,
        analysisFps: c.analysisFps,
        // Longer than our own connect watchdog, so a stream that connects but never yields video
        // (wrong codec) is reported as such, not as a read timeout of rtspsrc.
        tcpTimeoutMs: this.d.ingest.connectTimeoutMs + 1000,
        delivery: this.isFile ? this.d.fileDelivery : 'live',
      },
      props: { location },
      socketPath: '',
    };
  }

  /** Re-read at every connect so a rotated password is picked up without a restart. */
  private applyCredentials(spec: DecoderStart): void {
    const file = this.d.config.credentialsFile;
    if (!file || this.isFile) return;
    const { creds, loose } = readCredentials(file);
    if (loose) this.d.log.warn({ file }, 'camera credentials file is readable by group or others; chmod 600 it');
    this.password = creds.password;
    spec.props['user-id'] = creds.user;
    spec.props['user-pw'] = creds.password;
  }

  private teardown(): void {
    const conn = this.conn;
    this.conn = null;
    if (!conn) return;
    this.decodedCtr.rebase();
    this.outCtr.rebase();
    this.pulledCtr.rebase();
    this.childBase = this.childDropped;
    conn.close();
  }

  private fail(reason: string, permanent = false): void {
    if (this.state === 'stopped' || this.state === 'failed') return;
    const clean = this.scrub(reason);
    this.lastError = clean;
    this.d.log.warn({ reason: clean, retry: !permanent }, 'camera failed');
    this.teardown();
    this.setState('failed', clean);
    if (permanent || this.isFile) {
      this.resolveDrain();
      return;
    }
    this.scheduleRetry();
  }

  private scheduleRetry(): void {
    const delay = backoffDelay(this.attempt++, { initialMs: this.d.ingest.backoffInitialMs, maxMs: this.d.ingest.backoffMaxMs }, this.d.random);
    this.d.log.info({ delayMs: delay, attempt: this.attempt }, 'camera reconnect scheduled');
    this.retryTimer = setTimeout(() => {
      if (this.state === 'stopped') return;
      this.reconnects++;
      this.connect();
    }, delay);
  }

  private onBus(type: string, src: string, message: string | null): void {
    if (this.state !== 'connecting' && this.state !== 'live') return;
    if (type === 'error') {
      this.fail(plainReason(`${src}: ${message ?? 'unknown error'}`));
    } else if (type === 'eos' && !this.isFile) {
      this.fail('the camera ended the stream');
    }
  }

  // ---- frames -------------------------------------------------------------------------------

  private onSample(f: ReceivedFrame): void {
    const { width, height } = f;
    const now = this.d.clock();
    if (this.size && (this.size.width !== width || this.size.height !== height)) {
      this.d.log.info({ from: this.size, to: { width, height } }, 'camera resolution changed');
    }
    this.size = { width, height };
    this.pulled++;
    this.lastFrameAt = now;
    if (this.state === 'connecting') {
      this.attempt = 0;
      this.lastError = null;
      this.setState('live', null);
    }
    const frame: Frame = { camera: this.name, seq: this.seq++, capturedAt: captureTime(f.decodedAt, this.isFile ? 0 : this.d.config.latencyMs, now), image: { width, height, data: f.data }, lease: f.lease };
    this.queue.push(frame);
    void this.pump();
  }

  private async pump(): Promise<void> {
    if (this.busy) return;
    this.busy = true;
    try {
      for (let f = this.queue.shift(); f; f = this.queue.shift()) {
        // A queue slot is free again: the decoder may pull one more frame (fast file delivery).
        if (this.fast) this.conn?.credit();
        this.busySince = this.d.clock();
        try {
          await this.d.deliver(f);
        } finally {
          this.busySince = null;
        }
        this.analysed++;
        this.lastAnalysedAt = this.d.clock();
      }
    } finally {
      this.busy = false;
    }
    if (this.isIdleEnded()) this.resolveDrain();
  }

  private ended(): void {
    this.d.log.info({ frames: this.pulled }, 'file ended');
    this.teardown();
    this.setState('ended', null);
    if (this.isIdleEnded()) this.resolveDrain();
  }

  private isIdleEnded(): boolean {
    return (this.state === 'ended' || this.state === 'stopped' || (this.state === 'failed' && this.isFile)) && !this.busy && this.queue.length === 0;
  }

  private resolveDrain(): void {
    const w = this.drainWaiters;
    this.drainWaiters = [];
    for (const r of w) r();
  }

  private setState(state: CameraState, reason: string | null): void {
    const previous = this.state;
    if (previous === state) return;
    this.state = state;
    if (state === 'live') {
      this.everLive = true;
      this.connectTimeouts = 0;
    }
    if (state === 'live' || state === 'connecting' || state === 'failed' || state === 'stalled') {
      this.d.log.info({ state, previous }, 'camera state');
    }
    this.d.onState(this.name, state, previous, reason);
  }

  /** Belt and braces: errors never carry credentials, but scrub URLs and the password anyway. */
  private scrub(text: string): string {
    let t = scrubUrl(text);
    if (this.password && this.password.length >= 3) t = t.split(this.password).join('***');
    return t;
  }
}

function round1(v: number): number {
  return Math.round(v * 10) / 10;
}

