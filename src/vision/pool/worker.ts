// An inference worker (worker_threads): one set of ONNX Runtime sessions, run synchronously on
// this thread so the daemon's event loop never waits for a model. It keeps, per frame in flight,
// the frame's lease (detector and landmark inputs, aligned crops, quality scratch, embedder
// inputs and outputs) until the main thread releases the frame; then every one is wiped.
// It never sees a watchlist template.
import os from 'node:os';
import { parentPort, workerData } from 'node:worker_threads';
import { createLogger } from '../../log.js';
import { BufferPools, type Lease } from '../../buffers/pools.js';
import { createFaceEngine } from '../engine.js';
import type { RgbImage } from '../types.js';
import { wipe } from '../../crypto/secure.js';
import type { AnalyseReply, AuditReply, FromWorker, ToWorker, WorkerInit } from './protocol.js';

const init = workerData as WorkerInit;
const port = parentPort!;
const post = (m: FromWorker): void => port.postMessage(m);
const log = createLogger({ level: init.logLevel }).child({ module: 'inference', worker: init.index });
const pools = new BufferPools(`worker-${init.index}`);
const frames = new Map<number, { lease: Lease; aligned: RgbImage[] }>();

// On Linux a nice value belongs to a thread: setpriority(0) here lowers this worker (and the
// ONNX Runtime threads it starts) only. When the box is short of CPU the event loop (MQTT, the
// control socket, alerts) and the decoders go first; inference falls behind evenly and frames
// are dropped and counted, instead of everything else waiting behind a model.
try {
  os.setPriority(0, init.config.vision.workerNice);
} catch (err) {
  log.warn({ err }, 'could not lower the inference worker priority');
}

// Whatever kills this worker, no face is left in its buffers first (where JavaScript still runs).
process.on('uncaughtException', (err) => {
  pools.wipeAll();
  throw err;
});

async function handle(m: Exclude<ToWorker, { t: 'close' }>, engine: Awaited<ReturnType<typeof createFaceEngine>>): Promise<unknown> {
  switch (m.t) {
    case 'analyse': {
      const lease = pools.lease();
      try {
        const img = { width: m.width, height: m.height, data: new Uint8Array(m.frame, m.offset, m.width * m.height * 3) };
        const r = await engine.analyseFrame(img, m.gates, lease);
        frames.set(m.id, { lease, aligned: r.aligned });
        return { faces: r.faces } satisfies AnalyseReply;
      } catch (err) {
        lease.release();
        throw err;
      }
    }
    case 'embed': {
      const f = frames.get(m.id);
      if (!f) throw new Error('frame already released');
      await engine.embedInto(m.faces.map((i) => f.aligned[i]!), m.out.map((b) => new Float32Array(b)), f.lease);
      return null;
    }
    case 'release':
      frames.get(m.id)?.lease.release();
      frames.delete(m.id);
      return undefined;
    case 'detect': {
      const data = new Uint8Array(m.image);
      try {
        return await engine.detect({ width: m.width, height: m.height, data });
      } finally {
        wipe(data);
      }
    }
    case 'embedStill': {
      const data = new Uint8Array(m.aligned);
      const lease = pools.lease();
      try {
        await engine.embedInto([{ width: m.width, height: m.height, data }], [new Float32Array(m.out)], lease);
        return null;
      } finally {
        lease.release();
        wipe(data);
      }
    }
    case 'audit':
      return { pools: pools.audit(), framesHeld: frames.size } satisfies AuditReply;
  }
}

async function main(): Promise<void> {
  let engine;
  try {
    engine = await createFaceEngine(init.config, log);
  } catch (err) {
    post({ t: 'initError', message: (err as Error).message });
    process.exit(1);
  }
  const e = engine;
  port.on('message', (m: ToWorker) => {
    if (m.t === 'close') {
      // Never terminate() a worker inside a model run: onnxruntime-node aborts the whole process
      // when its thread is torn down under it. Messages run in order, so this comes after it.
      for (const f of frames.values()) f.lease.release();
      frames.clear();
      pools.wipeAll();
      void e.close().finally(() => process.exit(0));
      return;
    }
    handle(m, e).then(
      (value) => {
        if (m.t !== 'release') post({ t: 'done', id: m.id, value });
      },
      (err: unknown) => post({ t: 'failed', id: m.id, message: (err as Error)?.message ?? String(err) }),
    );
  });
  post({ t: 'ready', embeddingSize: e.embeddingSize, models: e.models });
}

void main();
