// The messages between the daemon and a camera's decoder process (decoder-process.ts), in one
// place so both sides agree. Importing this file has no side effects (the process entry does).
import type { DecoderChoice } from './decoder.js';
import type { PipelineSpec } from './pipeline.js';

export const FRAME_MAGIC = 0x3152464c; // "LFR1"
/**
 * A frame's header: magic, width, height, byte length (u32 LE each), then the wall-clock time
 * (ms since epoch, f64 LE) at which the decoder's appsink handed the decoded frame over, BEFORE
 * the socket and the daemon's queue: the daemon's best capture-time estimate starts from it.
 */
export const HEADER_BYTES = 24;

export interface DecoderStart {
  t: 'start';
  /** The pipeline, with the decoder still to be chosen here (gst-inspect blocks this process only). */
  spec: Omit<PipelineSpec, 'decoder'> & { decoderMode: 'auto' | 'cpu' | 'nvidia' | 'v4l2'; decoder?: DecoderChoice };
  /** Element properties of the source, set after parsing: never on a command line. */
  props: Record<string, string>;
  socketPath: string;
}

export type DecoderEvent =
  | { t: 'built'; decoder: string; kind: string }
  | { t: 'listening' }
  | { t: 'bus'; type: string; src: string; message: string | null }
  | { t: 'counters'; in: number; out: number; pulled: number; dropped: number }
  | { t: 'fatal'; message: string; permanent: boolean };
