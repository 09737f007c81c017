// Frames of a video FILE through the same GStreamer stage as the cameras (ingest's launch
// builder: decodebin, videorate cap, scale and RGB conversion in GStreamer), delivered as fast as
// the consumer takes them (appsink blocks, nothing dropped), for `lfr eval video`. Frame times
// come from the frame index at the analysis rate, so results do not depend on machine speed.
import path from 'node:path';
import { buildLaunch, NAMES } from '../../ingest/pipeline.js';
import { loadGstreamer, type GstAppSink } from '../../ingest/gst.js';
import type { Frame } from '../../ingest/frame.js';
import { frameOf } from '../../ingest/frame.js';
import { BufferPools } from '../../buffers/pools.js';

export interface FileFramesOptions {
  file: string;
  camera: string;
  analysisFps: number;
  analysisWidth: number;
}

/** Iterate the decoded, rate-capped RGB frames of a file; the consumer wipes each frame. */
export async function* fileFrames(o: FileFramesOptions): AsyncGenerator<Frame> {
  const gst = loadGstreamer();
  const launch = buildLaunch({
    source: 'file',
    codec: 'h264',
    // Unused for files (decodebin probes the codec); a CPU choice keeps the spec complete.
    decoder: { kind: 'cpu', decoder: 'avdec_h264', toSystemMemory: '' },
    transport: 'tcp',
    latencyMs: 0,
    analysisWidth: o.analysisWidth,
    analysisFps: o.analysisFps,
    tcpTimeoutMs: 0,
    delivery: 'fast',
  });
  const pipeline = new gst.Pipeline(launch);
  const src = pipeline.findChild(NAMES.src);
  const sink = pipeline.findChild(NAMES.sink) as GstAppSink | undefined;
  if (!src || !sink) throw new Error('video pipeline is missing its source or sink');
  src.location = path.resolve(o.file);
  let error: string | null = null;
  // One pollBus call: the binding keeps polling and calls back for every message (each extra
  // call would park another libuv worker thread in gst_bus_timed_pop).
  pipeline.play();
  pipeline.pollBus((msg) => {
    if (msg.type === 'error') error = msg.message ?? 'GStreamer error';
  });
  let seq = 0;
  // Frames of one file share pools, so their analysis buffers are reused frame after frame.
  const pools = new BufferPools('eval');
  try {
    for (;;) {
      const sample = await new Promise<{ buf: Buffer | null; width: number; height: number }>((resolve) =>
        sink.pull((buf, caps) => resolve({ buf, width: Number(caps?.width ?? 0), height: Number(caps?.height ?? 0) })),
      );
      if (!sample.buf) break;
      if (error) break;
      const { buf, width, height } = sample;
      if (buf.length < width * height * 3) throw new Error(`unexpected frame size ${buf.length} for ${width}x${height}`);
      yield frameOf(o.camera, seq, Math.round((seq * 1000) / o.analysisFps), { width, height, data: new Uint8Array(buf.buffer, buf.byteOffset, width * height * 3) }, pools);
      seq++;
    }
    if (error) throw new Error(`cannot decode ${path.basename(o.file)}: ${error}`);
  } finally {
    pipeline.stop();
  }
}
