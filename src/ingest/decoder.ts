// Decoder selection: which GStreamer elements turn the camera's H.264/H.265 into raw video.
// Pure logic over an injected "does this element exist" probe, so the GPU paths are unit tested
// on a box without a GPU. The probe asks the real registry (gst-inspect-1.0 --exists), which
// lists nvh264dec only when the nvcodec plugin found a usable CUDA driver and NVDEC.
import { spawnSync } from 'node:child_process';

export type Codec = 'h264' | 'h265';
export type DecoderMode = 'auto' | 'cpu' | 'nvidia' | 'v4l2';

export interface DecoderChoice {
  kind: 'cpu' | 'nvidia' | 'v4l2';
  /** Decoder element (launch syntax). */
  decoder: string;
  /**
   * Elements between the decoder and the generic rate/scale/convert stage, bringing frames into
   * system memory. nvh264dec negotiates system memory by itself when downstream is not CUDA;
   * nvv4l2decoder outputs NVMM memory that only nvvidconv can copy out.
   */
  toSystemMemory: string;
}

export class DecoderUnavailableError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DecoderUnavailableError';
  }
}

export type ElementProbe = (element: string) => boolean;

const ELEMENTS: Record<DecoderChoice['kind'], Record<Codec, string>> = {
  cpu: { h264: 'avdec_h264', h265: 'avdec_h265' },
  nvidia: { h264: 'nvh264dec', h265: 'nvh265dec' },
  v4l2: { h264: 'nvv4l2decoder', h265: 'nvv4l2decoder' },
};

function choice(kind: DecoderChoice['kind'], codec: Codec): DecoderChoice {
  const decoder = ELEMENTS[kind][codec];
  return { kind, decoder, toSystemMemory: kind === 'v4l2' ? 'nvvidconv ! video/x-raw' : '' };
}

/**
 * Pick the decoder for a camera. 'auto' prefers NVIDIA desktop/server GPUs, then Jetson
 * (v4l2), then the CPU. An explicit mode whose element is missing is an error (the operator
 * asked for hardware that is not there), never a silent fallback.
 */
export function selectDecoder(codec: Codec, mode: DecoderMode, exists: ElementProbe): DecoderChoice {
  if (mode === 'auto') {
    for (const kind of ['nvidia', 'v4l2'] as const) {
      if (exists(ELEMENTS[kind][codec])) return choice(kind, codec);
    }
    return choice('cpu', codec);
  }
  const c = choice(mode, codec);
  if (!exists(c.decoder)) {
    throw new DecoderUnavailableError(`decoder ${c.decoder} (decoder: ${mode}) is not available in this GStreamer installation`);
  }
  return c;
}

/** A probe backed by gst-inspect-1.0, cached per element (one short process per name). */
export function gstElementProbe(): ElementProbe {
  const cache = new Map<string, boolean>();
  return (element) => {
    let found = cache.get(element);
    if (found === undefined) {
      const r = spawnSync('gst-inspect-1.0', ['--exists', element], { stdio: 'ignore', timeout: 10_000 });
      found = r.status === 0;
      cache.set(element, found);
    }
    return found;
  };
}
