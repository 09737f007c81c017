// The decoder process of ONE camera connection: a child of the daemon that runs the GStreamer
// pipeline and hands every decoded, scaled RGB frame to the daemon over a private Unix socket.
// It lives for one connection attempt: the daemon ends it on stop, stall or failure and starts a
// fresh one to reconnect.
//
// Why a process per connection (docs/ingest.md, "Decoder processes"): gstreamer-superficial never
// frees a pipeline (about 184 KB per reconnect in-process); a crash inside a GStreamer plugin
// would take the whole van down; and its bus poll and appsink pull each hold a libuv thread, so
// in-process cameras needed UV_THREADPOOL_SIZE set before Node started. Here all of that ends
// with the process.
//
// Protocol. IPC (JSON) from the daemon: {t:'start', spec, props, socketPath} once, {t:'next'}
// (fast file delivery: one credit per frame), {t:'stop'}. To the daemon: {t:'built', decoder,
// kind}, {t:'listening'}, {t:'bus', type, src, message}, {t:'counters', in, out, pulled, dropped},
// {t:'fatal', message, permanent}; the end of the stream is the end of the frame socket. Frames on the socket: a 16-byte header
// (magic "LFR1", width, height, byte length; little-endian u32) and the RGB bytes. The child
// wipes its copy of each frame as soon as the socket has taken it.
import net from 'node:net';
import { rmSync } from 'node:fs';
import { wipe } from '../crypto/secure.js';
import { setCoreLimitZero, setNotDumpable } from '../util/libc.js';
import { gstElementProbe, selectDecoder } from './decoder.js';
import { loadGstreamer, type GstAppSink, type GstElement, type GstPipeline } from './gst.js';
import { buildLaunch, NAMES } from './pipeline.js';
import { FRAME_MAGIC, HEADER_BYTES, type DecoderEvent, type DecoderStart } from './decoder-protocol.js';

/**
 * Leave NOW. process.exit() is not enough here: Node joins its libuv threads on exit, and two of
 * them are blocked inside GStreamer (the appsink pull and the bus poll), so an exiting decoder
 * could hang for ever, keep its RTSP session and keep decoding an orphaned camera (seen when the
 * daemon was SIGKILLed). Nothing here needs saving: the kernel frees the memory.
 */
function die(): never {
  process.kill(process.pid, 'SIGKILL');
  return process.exit(0); // not reached
}

// Frame pixels live here too: no core file, no /proc/PID/mem for other processes of the user
// (the daemon does the same for itself; both are per process, and the rlimit is inherited).
try {
  setNotDumpable();
  setCoreLimitZero();
} catch {
  /* not Linux (a developer machine): the daemon's own check reports what that costs */
}

function send(e: DecoderEvent): void {
  if (process.connected) process.send!(e);
}

/**
 * Each frame arrives in a fresh Buffer the binding allocated; V8 frees such external memory only
 * when a garbage collection sees the Buffer dead, and it waits for tens of MB of them first. A
 * minor collection after each (wiped) frame keeps this process at a few frames' worth.
 */
const gc = (globalThis as { gc?: (o?: { type: 'minor' | 'major' }) => void }).gc;
function release(): void {
  gc?.({ type: 'minor' });
}

function run(start: DecoderStart): void {
  const fast = start.spec.delivery === 'fast';
  let pipeline: GstPipeline;
  let sink: GstAppSink;
  let rate: GstElement;
  try {
    const decoder = start.spec.decoder ?? selectDecoder(start.spec.codec, start.spec.decoderMode, gstElementProbe());
    pipeline = new (loadGstreamer().Pipeline)(buildLaunch({ ...start.spec, decoder }));
    const src = pipeline.findChild(NAMES.src);
    sink = pipeline.findChild(NAMES.sink) as GstAppSink;
    rate = pipeline.findChild(NAMES.rate)!;
    if (!src || !sink || !rate) throw new Error('GStreamer pipeline is missing an element');
    for (const [k, v] of Object.entries(start.props)) src[k] = v;
    send({ t: 'built', decoder: start.spec.source === 'file' ? 'decodebin' : decoder.decoder, kind: decoder.kind });
  } catch (err) {
    send({ t: 'fatal', message: (err as Error).message, permanent: true });
    // Let the message go out, then leave.
    setTimeout(die, 200);
    return;
  }

  let conn: net.Socket | null = null;
  let credits = 0;
  let pulling = false;
  let dropped = 0;
  let pulled = 0;
  let ended = false;
  const server = net.createServer((s) => {
    // One reader, the daemon; nobody else can reach a socket inside its 0700 folder.
    server.close();
    rmSync(start.socketPath, { force: true });
    conn = s;
    s.on('error', die);
    s.on('close', die);
    pipeline.play();
    pipeline.pollBus((msg) => {
      send({ t: 'bus', type: msg.type, src: String(msg._src_element_name ?? 'pipeline'), message: typeof msg.message === 'string' ? msg.message : null });
    });
    pull();
  });
  server.listen(start.socketPath, () => send({ t: 'listening' }));

  const pull = (): void => {
    if (!conn || pulling || ended || (fast && credits <= 0)) return;
    pulling = true;
    sink.pull((buf, caps) => {
      // The binding gives no buffer PTS; the moment the decoder hands the frame over is the
      // closest wall-clock time to its capture this process can see (frame.ts capturedAt).
      const decodedAt = Date.now();
      pulling = false;
      if (!buf) {
        // End of a file (or the stream): ending the socket after the last frame tells the
        // daemon in order, once it has read every frame before it.
        ended = true;
        conn?.end();
        return;
      }
      pulled++;
      if (fast) credits--;
      const width = Number(caps.width), height = Number(caps.height);
      // The daemon has not read the previous frame yet: live video is worth nothing late.
      if (!conn || (!fast && conn.writableLength > 0)) {
        dropped++;
        wipe(buf);
      } else {
        const h = Buffer.alloc(HEADER_BYTES);
        h.writeUInt32LE(FRAME_MAGIC, 0);
        h.writeUInt32LE(width, 4);
        h.writeUInt32LE(height, 8);
        h.writeUInt32LE(buf.length, 12);
        h.writeDoubleLE(decodedAt, 16);
        conn.write(h);
        conn.write(buf, () => {
          wipe(buf);
          release();
        });
      }
      pull();
    });
  };

  const timer = setInterval(() => {
    send({ t: 'counters', in: Number(rate['in']) || 0, out: Number(rate['out']) || 0, pulled, dropped });
  }, 250);
  timer.unref();

  process.on('message', (m: { t: string }) => {
    if (m.t === 'next') {
      credits++;
      pull();
    } else if (m.t === 'stop') stop();
  });
  const stop = (): void => {
    try {
      // NULL state: rtspsrc sends its TEARDOWN (teardown-timeout bounds the wait to 100 ms).
      pipeline.stop();
    } finally {
      die();
    }
  };
}

// The daemon going away (crash, SIGKILL) closes the IPC channel: never outlive it.
process.on('disconnect', die);
process.once('message', (m: DecoderStart) => {
  if (m?.t === 'start') run(m);
});
