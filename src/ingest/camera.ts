// One camera: its GStreamer pipeline (built once, restarted in place on reconnect) and its
// supervision (connect, live, stall watchdog, back-off retry). The appsink is pulled on a libuv
// worker thread; frames reach JavaScript on the event loop and GStreamer's own threads never
// wait for us (appsink drop=true max-buffers=1 for live sources).
import { fileURLToPath } from 'node:url';
import type { CameraConfig, Config } from '../config/schema.js';
import type { Clock } from '../lifecycle.js';
import { scrubUrl, type Logger } from '../log.js';
import { wipe } from '../crypto/secure.js';
import type { Frame } from './frame.js';
import { readCredentials } from './credentials.js';
import { selectDecoder, type ElementProbe } from './decoder.js';
import type { GstAppSink, GstBinding, GstBusMessage, GstCaps, GstElement, GstPipeline } from './gst.js';
import { buildLaunch, NAMES } from './pipeline.js';
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
  /** Plain words, never a URL with credentials or a password. */
  lastError: string | null;
  width: number | null;
  height: number | null;
}

export interface CameraDeps {
  config: CameraConfig;
  ingest: Config['ingest'];
  log: Logger;
  clock: Clock;
  gst: () => GstBinding;
  probe: ElementProbe;
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
  private pipeline: GstPipeline | null = null;
  private sink: GstAppSink | null = null;
  private rate: GstElement | null = null;
  private src: GstElement | null = null;
  private readonly isFile: boolean;
  private generation = 0;
  private pulling = false;
  private pullWaiting = false;
  private attempt = 0;
  private retryTimer: NodeJS.Timeout | null = null;
  private connectStartedAt = 0;
  private lastFrameAt: number | null = null;
  private lastError: string | null = null;
  private reconnects = 0;
  private seq = 0;
  private pulled = 0;
  private sinkDropped = 0;
  private analysed = 0;
  private busy = false;
  private size: { width: number; height: number } | null = null;
  private readonly decodedCtr = new Monotonic();
  private readonly outCtr = new Monotonic();
  private readonly fpsMeter = new RateMeter();
  private readonly decodeMeter = new RateMeter();
  private readonly queue: FrameQueue<Frame>;
  private drainWaiters: Array<() => void> = [];
  private password: string | null = null;

  constructor(private readonly d: CameraDeps) {
    this.name = d.config.name;
    this.isFile = d.config.url.startsWith('file://');
    this.queue = new FrameQueue<Frame>(d.ingest.queueDepth, (f) => wipe(f.image.data));
  }

  start(): void {
    if (this.state !== 'stopped') return;
    this.attempt = 0;
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
    this.readCounters();
    this.fpsMeter.sample(now, this.pulled);
    this.decodeMeter.sample(now, this.decodedCtr.value);
    const v = watchdog({
      state: this.state,
      now,
      connectStartedAt: this.connectStartedAt,
      lastFrameAt: this.lastFrameAt,
      stallTimeoutMs: this.d.ingest.stallTimeoutMs,
      connectTimeoutMs: this.d.ingest.connectTimeoutMs,
    });
    if (v === 'stalled') {
      this.lastError = `no frame for ${this.d.ingest.stallTimeoutMs} ms (stream stalled)`;
      this.d.log.warn({ reason: this.lastError }, 'camera stalled, restarting');
      this.teardown();
      this.setState('stalled', this.lastError);
      this.scheduleRetry();
    } else if (v === 'connect-timeout') {
      this.fail('no video frame arrived after connecting (wrong codec, not a video stream, or no key frame within ingest.connectTimeoutMs)');
    }
  }

  stats(): CameraStats {
    this.readCounters();
    return {
      camera: this.name,
      state: this.state,
      fps: round1(this.fpsMeter.rate()),
      decodeFps: round1(this.decodeMeter.rate()),
      decoded: this.decodedCtr.value,
      capped: Math.max(0, this.decodedCtr.value - this.outCtr.value),
      dropped: this.sinkDropped + this.queue.dropped,
      analysed: this.analysed,
      queued: this.queue.length,
      reconnects: this.reconnects,
      lastFrameAt: this.lastFrameAt,
      lastError: this.lastError,
      width: this.size?.width ?? null,
      height: this.size?.height ?? null,
    };
  }

  // ---- connection lifecycle -------------------------------------------------------------

  private connect(): void {
    this.retryTimer = null;
    const gen = ++this.generation;
    try {
      this.build();
      this.applyCredentials();
    } catch (err) {
      this.setState('connecting', null);
      this.fail((err as Error).message, err instanceof PermanentError);
      return;
    }
    this.connectStartedAt = this.d.clock();
    this.setState('connecting', null);
    const p = this.pipeline!;
    // The bus poll blocks a libuv thread until the next message and only ends when it sees the
    // pipeline in NULL. With auto-flush the messages of the final state changes are discarded
    // and the poll would block forever (one leaked thread per reconnect); without it they wake
    // the poll, which then ends. Stale messages are ignored by generation.
    p['auto-flush-bus'] = false;
    p.play();
    p.pollBus((msg) => {
      if (gen === this.generation) this.onBus(msg);
    });
    if (!this.pulling) this.pull(gen);
  }

  /**
   * A fresh pipeline per connection attempt: gst_parse links rtspsrc's dynamic pads only once,
   * so a pipeline restarted after NULL stays unlinked ("Internal data stream error"). The
   * binding never frees pipelines (measured: about 184 KB per attempt, see docs/ingest.md), so
   * the back-off ceiling also bounds that cost.
   */
  private build(): void {
    this.pipeline = null;
    this.sink = null;
    this.rate = null;
    this.src = null;
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
    let decoder;
    try {
      decoder = selectDecoder(c.codec, c.decoder, this.d.probe);
    } catch (err) {
      throw new PermanentError((err as Error).message);
    }
    const launch = buildLaunch({
      source: this.isFile ? 'file' : 'rtsp',
      codec: c.codec,
      decoder,
      transport: c.transport,
      latencyMs: c.latencyMs,
      analysisWidth: c.analysisWidth,
      analysisFps: c.analysisFps,
      // Longer than our own connect watchdog, so a stream that connects but never yields video
      // (wrong codec) is reported as such, not as a read timeout of rtspsrc.
      tcpTimeoutMs: this.d.ingest.connectTimeoutMs + 1000,
      delivery: this.isFile ? this.d.fileDelivery : 'live',
    });
    // The launch string carries neither the URL nor credentials (see pipeline.ts).
    this.d.log.info({ decoder: this.isFile ? 'decodebin' : decoder.decoder, kind: decoder.kind }, 'camera pipeline built');
    this.d.log.debug({ launch }, 'camera pipeline');
    let pipeline: GstPipeline;
    try {
      pipeline = new (this.d.gst().Pipeline)(launch);
    } catch (err) {
      throw new PermanentError(`GStreamer pipeline cannot be built: ${(err as Error).message}`);
    }
    this.src = pipeline.findChild(NAMES.src) ?? null;
    this.sink = (pipeline.findChild(NAMES.sink) as GstAppSink | undefined) ?? null;
    this.rate = pipeline.findChild(NAMES.rate) ?? null;
    if (!this.src || !this.sink || !this.rate) throw new PermanentError('GStreamer pipeline is missing an element');
    this.src['location'] = location;
    this.pipeline = pipeline;
  }

  /** Re-read at every connect so a rotated password is picked up without a restart. */
  private applyCredentials(): void {
    const file = this.d.config.credentialsFile;
    if (!file || this.isFile) return;
    const { creds, loose } = readCredentials(file);
    if (loose) this.d.log.warn({ file }, 'camera credentials file is readable by group or others; chmod 600 it');
    this.password = creds.password;
    this.src!['user-id'] = creds.user;
    this.src!['user-pw'] = creds.password;
  }

  private teardown(): void {
    this.generation++;
    if (!this.pipeline) return;
    this.readCounters();
    this.decodedCtr.rebase();
    this.outCtr.rebase();
    this.rate = null;
    this.pipeline.stop();
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

  private onBus(msg: GstBusMessage): void {
    if (this.state !== 'connecting' && this.state !== 'live') return;
    if (msg.type === 'error') {
      const element = msg._src_element_name ?? 'pipeline';
      this.fail(plainReason(`${element}: ${msg.message ?? 'unknown error'}`));
    } else if (msg.type === 'eos' && !this.isFile) {
      this.fail('the camera ended the stream');
    }
  }

  // ---- frames -------------------------------------------------------------------------------

  private pull(gen: number): void {
    const sink = this.sink;
    if (!sink) return;
    this.pulling = true;
    sink.pull((buf, caps) => {
      this.pulling = false;
      const running = this.state === 'connecting' || this.state === 'live';
      if (gen !== this.generation || !running) {
        // A pull issued before a restart or stop: its sample (if any) is stale.
        if (buf) wipe(buf);
        if (running) this.pull(this.generation);
        return;
      }
      if (!buf) {
        if (this.isFile) this.ended();
        else this.fail('the camera ended the stream');
        return;
      }
      this.onSample(buf, caps);
      if (this.isFile && this.d.fileDelivery === 'fast' && this.queue.full) {
        this.pullWaiting = true;
        return;
      }
      this.pull(gen);
    });
  }

  private onSample(buf: Buffer, caps: GstCaps): void {
    const width = Number(caps.width);
    const height = Number(caps.height);
    if (!(width > 0 && height > 0) || buf.length !== width * height * 3) {
      wipe(buf);
      this.d.log.warn({ width, height, bytes: buf.length }, 'frame with unexpected size skipped');
      return;
    }
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
    const frame: Frame = { camera: this.name, seq: this.seq++, capturedAt: now, image: { width, height, data: buf } };
    this.queue.push(frame);
    void this.pump();
  }

  private async pump(): Promise<void> {
    if (this.busy) return;
    this.busy = true;
    try {
      for (let f = this.queue.shift(); f; f = this.queue.shift()) {
        if (this.pullWaiting && !this.queue.full && this.state === 'live') {
          this.pullWaiting = false;
          this.pull(this.generation);
        }
        await this.d.deliver(f);
        this.analysed++;
      }
    } finally {
      this.busy = false;
    }
    if (this.pullWaiting && this.state === 'live') {
      this.pullWaiting = false;
      this.pull(this.generation);
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

  private readCounters(): void {
    if (!this.rate || !this.pipeline) return;
    this.decodedCtr.update(Number(this.rate['in']) || 0);
    this.outCtr.update(Number(this.rate['out']) || 0);
    // Frames that passed the cap but never reached us were dropped in the appsink (one may be
    // waiting there right now, hence the -1).
    this.sinkDropped = Math.max(this.sinkDropped, this.outCtr.value - this.pulled - 1);
  }

  private setState(state: CameraState, reason: string | null): void {
    const previous = this.state;
    if (previous === state) return;
    this.state = state;
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
