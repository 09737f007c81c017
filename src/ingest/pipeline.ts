// Builds the GStreamer launch description of one camera. The string never carries the URL or
// credentials: location, user-id and user-pw are set as element properties after parsing, so
// the description can be logged at debug level and shows up harmlessly in GStreamer errors.
import type { Codec, DecoderChoice } from './decoder.js';

export type SourceKind = 'rtsp' | 'file';

export interface PipelineSpec {
  source: SourceKind;
  codec: Codec;
  decoder: DecoderChoice;
  transport: 'tcp' | 'udp';
  latencyMs: number;
  analysisWidth: number;
  analysisFps: number;
  /** rtspsrc gives up a TCP connect/read after this long (ms). */
  tcpTimeoutMs: number;
  /**
   * live: appsink drops (max-buffers=1) and never syncs, so GStreamer never waits for us.
   * paced: a file played at its own rate, dropping like a camera would.
   * fast: a file decoded as fast as the consumer takes frames (appsink blocks, nothing is lost).
   */
  delivery: 'live' | 'paced' | 'fast';
}

/** Element names the camera code looks up with findChild. */
export const NAMES = { src: 'src', rate: 'rate', sink: 'sink' } as const;

/**
 * Width of the analysis frame, rounded down to a multiple of 4: GStreamer pads RGB rows to
 * 4 bytes, and width*3 is a multiple of 4 only when the width is, so rows are then tightly
 * packed and the buffer is exactly width*height*3 bytes (no JavaScript repacking).
 */
export function analysisWidth(width: number): number {
  return Math.max(4, Math.floor(width / 4) * 4);
}

/** analysisFps as a GStreamer fraction (0.5 -> 1/2, 12.5 -> 25/2, 10 -> 10/1). */
export function fpsFraction(fps: number): string {
  const den = 100;
  const num = Math.round(fps * den);
  const gcd = (a: number, b: number): number => (b === 0 ? a : gcd(b, a % b));
  const g = gcd(num, den);
  return `${num / g}/${den / g}`;
}

export function buildLaunch(s: PipelineSpec): string {
  const parts: string[] = [];
  if (s.source === 'rtsp') {
    // teardown-timeout: on stop, wait at most 100 ms for a TEARDOWN reply, so stopping a camera
    // whose server hangs never blocks the event loop (set_state(NULL) runs on it).
    parts.push(
      `rtspsrc name=${NAMES.src} protocols=${s.transport} latency=${s.latencyMs} ` +
        `tcp-timeout=${s.tcpTimeoutMs * 1000} teardown-timeout=100000000 drop-on-latency=true`,
      s.codec === 'h264' ? 'rtph264depay' : 'rtph265depay',
      s.codec === 'h264' ? 'h264parse' : 'h265parse',
      // One decoding thread for libav: libav's frame threads each hold 1080p frames (about 22 MB
      // more per camera measured at 1080p25) and add a frame of latency each; cameras share the
      // cores anyway, and 1080p25 H.264 takes about a fifth of one core.
      s.decoder.kind === 'cpu' ? `${s.decoder.decoder} max-threads=1` : s.decoder.decoder,
    );
  } else {
    // Files: qtdemux (MP4/MOV) then decodebin, which probes the codec and picks the
    // highest-ranked decoder (a hardware one when present).
    parts.push(`filesrc name=${NAMES.src}`, 'qtdemux name=demux demux.video_0', 'queue', 'decodebin');
  }
  if (s.decoder.toSystemMemory && s.source === 'rtsp') parts.push(s.decoder.toSystemMemory);
  // Rate cap before scaling, so dropped frames cost no scaling/conversion. drop-only: never
  // duplicate frames when the camera is slower than the cap; and a RANGE up to the cap, so such a
  // camera passes at its own rate (a fixed framerate=cap could not be negotiated from a slower
  // stream: "Internal data stream error", the camera never went live).
  parts.push(
    `videorate name=${NAMES.rate} drop-only=true`,
    `video/x-raw,framerate=[1/100,${fpsFraction(s.analysisFps)}]`,
    'videoscale',
    'videoconvert',
    // Only the width is fixed: videoscale fixates the height that keeps the display aspect.
    `video/x-raw,format=RGB,width=${analysisWidth(s.analysisWidth)},pixel-aspect-ratio=1/1`,
  );
  const sink =
    s.delivery === 'fast'
      ? 'drop=false max-buffers=1 sync=false'
      : `drop=true max-buffers=1 sync=${s.delivery === 'paced' ? 'true' : 'false'}`;
  // enable-last-sample=false: appsink would otherwise keep a reference to the last frame (a
  // picture of passers-by) for as long as the pipeline lives.
  parts.push(`appsink name=${NAMES.sink} ${sink} enable-last-sample=false emit-signals=false`);
  return parts.join(' ! ');
}
