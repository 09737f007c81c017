// Pure supervision policy of one camera: back-off delays and the stall/connect watchdog. No
// timers, no I/O: the camera code asks these functions with the current time (GUIDE
// practice 10), so the policy is unit tested without sockets or sleeping.

/** connecting: pipeline started, no frame yet; live: frames arrive; stalled: frames stopped;
 *  failed: an error, a retry is scheduled (or, when permanent, none); stopped: by us; ended: a
 *  file reached its end. */
export type CameraState = 'connecting' | 'live' | 'stalled' | 'failed' | 'stopped' | 'ended';

export interface BackoffPolicy {
  initialMs: number;
  maxMs: number;
}

/**
 * Exponential back-off with full jitter (AWS architecture blog, "Exponential Backoff And
 * Jitter"): a uniform delay in [0, min(max, initial * 2^attempt)). Full jitter spreads the
 * reconnects of several cameras that failed together (a van-wide network drop), so they do not
 * hammer a recovering switch in lock-step. attempt counts failures since the last live frame.
 */
export function backoffDelay(attempt: number, policy: BackoffPolicy, random: () => number): number {
  const ceiling = Math.min(policy.maxMs, policy.initialMs * 2 ** Math.min(attempt, 30));
  return Math.floor(random() * ceiling);
}

export interface WatchdogInput {
  state: CameraState;
  now: number;
  /** When the current connection attempt started. */
  connectStartedAt: number;
  lastFrameAt: number | null;
  stallTimeoutMs: number;
  /** RTSP handshake + jitter buffer + wait for a key frame: longer than a stall. */
  connectTimeoutMs: number;
}

export type WatchdogVerdict = 'ok' | 'stalled' | 'connect-timeout';

export function watchdog(w: WatchdogInput): WatchdogVerdict {
  if (w.state === 'live') {
    const last = w.lastFrameAt ?? w.connectStartedAt;
    return w.now - last > w.stallTimeoutMs ? 'stalled' : 'ok';
  }
  if (w.state === 'connecting') {
    return w.now - w.connectStartedAt > w.connectTimeoutMs ? 'connect-timeout' : 'ok';
  }
  return 'ok';
}

/** Frames per second over a sliding window of (time, count) samples. */
export class RateMeter {
  private samples: Array<{ t: number; n: number }> = [];

  constructor(private readonly windowMs = 3000) {}

  sample(t: number, count: number): void {
    this.samples.push({ t, n: count });
    while (this.samples.length > 2 && t - this.samples[0]!.t > this.windowMs) this.samples.shift();
  }

  rate(): number {
    const first = this.samples[0];
    const last = this.samples[this.samples.length - 1];
    if (!first || !last || last.t <= first.t) return 0;
    return ((last.n - first.n) * 1000) / (last.t - first.t);
  }

  reset(): void {
    this.samples = [];
  }
}

/**
 * GStreamer error texts in plain words for operators and the health endpoint. The original
 * text follows in brackets; it never carries credentials (they are element properties, not
 * part of any URL) and callers scrub URLs anyway.
 */
export function plainReason(gstMessage: string): string {
  const m = gstMessage.toLowerCase();
  let plain = 'stream error';
  if (m.includes('could not open resource') || m.includes('failed to connect') || m.includes('could not connect')) {
    plain = 'cannot connect to the camera (refused, unreachable or timed out)';
  } else if (m.includes('could not read') || m.includes('could not write')) {
    plain = 'the connection to the camera broke';
  } else if (m.includes('not found')) plain = 'stream path not found on the camera (RTSP 404)';
  else if (m.includes('unauthorized') || m.includes('authenticat')) plain = 'the camera refused the credentials (RTSP 401)';
  else if (m.includes('internal data stream error') || m.includes('not-negotiated') || m.includes('not negotiated')) {
    plain = 'stream cannot be decoded (wrong codec, not a video stream, or a format change the decoder refused)';
  } else if (m.includes('decode') || m.includes('corrupt')) plain = 'the camera sends data that cannot be decoded';
  else if (m.includes('timeout') || m.includes('timed out')) plain = 'the camera stopped answering (timeout)';
  return `${plain} [${gstMessage}]`;
}
