// The inference worker pool with the real models (src/vision/pool/), as a part: frames shared
// with the workers without a copy, every worker buffer wiped at the frame's release, round-robin
// across cameras, and a worker that crashes: its frames are dropped and counted per camera, it
// is restarted with back-off, the other worker carries on, and nothing of the crashed request is
// left unwiped in the main thread. A part test (the pool is built by hand here); the running
// van's view of the same is test/integration/inference-buffers.test.ts.
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { needs } from '../helpers/prereq.js';
import { parseConfig } from '../../src/config/load.js';
import { silentLogger } from '../../src/log.js';
import { InferencePool, PoolUnavailableError } from '../../src/vision/pool/pool.js';
import { BufferPools, type PoolAudit } from '../../src/buffers/pools.js';
import { frameOf } from '../../src/ingest/frame.js';
import { decodeImageFile } from '../../src/vision/decode.js';
import { demoPhoto } from '../../src/tools/demo/kit.js';

const { serial } = needs(['models', 'demo-photos']);

const sum = (a: readonly PoolAudit[], k: 'releasedNotZero' | 'inUse' | 'acquired'): number => a.reduce((t, p) => t + p[k], 0);
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

serial('a crashed worker: frames dropped and counted, restarted with back-off, the other worker carries on, nothing left unwiped', async (t) => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'lfr-crash-'));
  process.env.LFR_TEST_CRASH_DIR = dir;
  const config = parseConfig({ vision: { workers: 2 } });
  const pool = new InferencePool({ config, log: silentLogger(), entry: new URL('../helpers/crashing-worker.js', import.meta.url) });
  t.teardown(async () => {
    await pool.stop();
    delete process.env.LFR_TEST_CRASH_DIR;
    rmSync(dir, { recursive: true, force: true });
  });
  await pool.start(new AbortController().signal);
  const photo = await decodeImageFile(demoPhoto(1));
  const main = new BufferPools('main');
  const gates = config.quality.live;
  const outcome = { ok: 0, dropped: 0, faces: 0, byCamera: { a: 0, b: 0 } as Record<string, number> };
  const one = async (camera: string, seq: number): Promise<void> => {
    const frame = frameOf(camera, seq, Date.now(), { ...photo, data: Uint8Array.from(photo.data) }, main);
    try {
      const r = await pool.analyseFrame(frame, gates);
      outcome.faces += r.faces.length;
      const emb = frame.lease.f32('embedding', pool.embeddingSize, { shared: true });
      await r.embed([0], [emb]);
      t.true(Math.abs(emb.reduce((s, v) => s + v * v, 0) - 1) < 1e-3, 'an L2-normalised embedding written straight into the shared buffer');
      outcome.ok++;
      outcome.byCamera[camera]!++;
    } catch (err) {
      t.true(err instanceof PoolUnavailableError, String(err));
      outcome.dropped++;
    } finally {
      frame.lease.release();
    }
  };
  // Two cameras, one frame in flight each (as the cameras deliver): worker 0 dies on its 3rd frame.
  for (let i = 0; i < 6; i++) await Promise.all([one('a', i), one('b', i)]);
  const s1 = pool.stats();
  t.true(outcome.dropped >= 1, JSON.stringify(outcome));
  t.true(Object.values(s1.droppedByCamera).reduce((x, y) => x + y, 0) >= 1, `counted per camera: ${JSON.stringify(s1.droppedByCamera)}`);
  t.true(s1.workers[0]!.restarts >= 1);
  t.regex(s1.workers[0]!.lastError ?? '', /crash/);
  // Back-off (0.5 s), then the restarted worker serves again.
  const until = Date.now() + 60_000;
  while (pool.stats().workers[0]!.state !== 'ready' && Date.now() < until) await sleep(200);
  t.is(pool.stats().workers[0]!.state, 'ready');
  const before = outcome.ok;
  for (let i = 6; i < 10; i++) await Promise.all([one('a', i), one('b', i)]);
  t.is(outcome.ok - before, 8, 'every frame analysed once the worker is back');
  t.true(outcome.byCamera.a! >= 4 && outcome.byCamera.b! >= 4, 'both cameras served throughout');
  t.true(outcome.faces > 0);
  // Main thread: every frame and embedding buffer, the crashed request's too, released and zero.
  const m = main.audit();
  t.is(sum(m, 'inUse'), 0);
  t.is(sum(m, 'releasedNotZero'), 0);
  // Workers: their tensors and crops were released at each frame's release point.
  await sleep(200); // release messages are fire-and-forget
  const w = await pool.audit();
  t.true(sum(w, 'acquired') > 0);
  t.is(sum(w, 'releasedNotZero'), 0, JSON.stringify(w));
  t.is(sum(w, 'inUse'), 0, JSON.stringify(w));
});

serial('a worker stuck in a run past vision.workerTimeoutMs is replaced; its frame is dropped and counted; the others carry on', async (t) => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'lfr-hang-'));
  process.env.LFR_TEST_CRASH_DIR = dir;
  process.env.LFR_TEST_CRASH_MODE = 'hang';
  const config = parseConfig({ vision: { workers: 2, workerTimeoutMs: 1000 } });
  const pool = new InferencePool({ config, log: silentLogger(), entry: new URL('../helpers/crashing-worker.js', import.meta.url) });
  t.teardown(async () => {
    await pool.stop();
    delete process.env.LFR_TEST_CRASH_DIR;
    delete process.env.LFR_TEST_CRASH_MODE;
    rmSync(dir, { recursive: true, force: true });
  });
  await pool.start(new AbortController().signal);
  const photo = await decodeImageFile(demoPhoto(2));
  const main = new BufferPools('main');
  let ok = 0;
  let dropped = 0;
  const one = async (camera: string, seq: number): Promise<void> => {
    const frame = frameOf(camera, seq, Date.now(), { ...photo, data: Uint8Array.from(photo.data) }, main);
    try {
      await pool.analyseFrame(frame, config.quality.live);
      ok++;
    } catch (err) {
      t.true(err instanceof PoolUnavailableError, String(err));
      dropped++;
    } finally {
      frame.lease.release();
    }
  };
  const t0 = Date.now();
  for (let i = 0; i < 6; i++) await Promise.all([one('a', i), one('b', i)]);
  t.true(dropped >= 1 && ok >= 8, `ok ${ok}, dropped ${dropped}`);
  t.true(Date.now() - t0 < 30_000);
  const w0 = pool.stats().workers[0]!;
  t.regex(w0.lastError ?? '', /stuck: one request ran over 1000 ms/);
  t.true(w0.restarts >= 1);
  t.is(main.audit().reduce((n, p) => n + p.releasedNotZero + p.inUse, 0), 0);
});
