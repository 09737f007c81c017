// Issue 11.6 / 13 on the running van (real `lfr run`, real broker, real RTSP camera, real models):
// `lfr audit buffers` counts the daemon's face buffers in the main thread and in every inference
// worker and finds every released one zero, after frames with an enrolled face and strangers
// were analysed, embedded and searched. The auditor's view holds counts only. `lfr status`
// shows the event-loop delay; `lfr health` reports analysis progress and the inference workers.
import type { PoolAudit } from '../../src/buffers/pools.js';
import { needs } from '../helpers/prereq.js';
import { Van, sleep } from '../helpers/van.js';
import { demoVideo, referenceFace } from '../helpers/faces.js';

const { serial } = needs(['mosquitto', 'rtsp', 'models', 'demo-photos']);

serial('lfr audit buffers: every face buffer of the running daemon, main thread and workers, is zero once released; counts only', async (t) => {
  const video = await demoVideo('buffers', [[1, 3], [2, 3], [3, 3]]);
  const van = await Van.create(t, { cameras: [{ name: 'north-1', video }], config: { vision: { workers: 2 } } });
  const bundle = await van.buildBundle([{ ref: 'WL-1', images: [await referenceFace(1)] }]);
  await van.start();
  await van.startDeployment(['--watchlist', bundle]);
  const t0 = Date.now();
  let counts = { facesAnalysed: 0, alerts: 0 };
  while ((counts.alerts === 0 || counts.facesAnalysed < 20) && Date.now() - t0 < 60_000) {
    await sleep(500);
    const st = await van.status();
    counts = (st.deployment as { counts: typeof counts } | null)?.counts ?? counts;
  }
  t.true(counts.alerts >= 1 && counts.facesAnalysed >= 20, `faces were analysed and matched: ${JSON.stringify(counts)}`);
  // Stop analysing, so the audit sees the buffers at rest (the release point of each frame has run).
  await van.endDeployment();
  await sleep(1000);

  const r = await van.cli('audit', 'buffers', '--json');
  t.is(r.code, 0, r.stdout + r.stderr);
  const out = JSON.parse(r.stdout.trim().split('\n').pop()!) as { ok: boolean; releasedNotZero: number; pools: PoolAudit[] };
  t.true(out.ok);
  t.is(out.releasedNotZero, 0);
  const get = (thread: RegExp, pool: string): PoolAudit[] => out.pools.filter((p) => thread.test(p.thread) && p.pool === pool);
  // The buffers the pipeline really used: frames and embeddings on the main thread, every
  // tensor and crop in the workers (both workers took frames).
  for (const [thread, pool] of [[/^main$/, 'frame'], [/^main$/, 'embedding'], [/^main$/, 'fusion'], [/^worker-/, 'detector-input'], [/^worker-/, 'landmark-input'], [/^worker-/, 'aligned'], [/^worker-/, 'quality'], [/^worker-/, 'embedder-input'], [/^worker-/, 'embedder-output']] as const) {
    const ps = get(thread, pool);
    t.true(ps.length > 0 && ps.some((p) => p.acquired > 0 && p.buffers > 0), `${pool} on ${thread}: ${JSON.stringify(ps)}`);
  }
  t.is(new Set(out.pools.filter((p) => p.pool === 'detector-input').map((p) => p.thread)).size, 2, 'both inference workers analysed frames');
  // Counts only: nothing but names and numbers.
  for (const p of out.pools) {
    for (const [k, v] of Object.entries(p)) t.true(k === 'thread' || k === 'pool' ? typeof v === 'string' && v.length < 20 : Number.isInteger(v), `${k}: ${String(v)}`);
  }

  const st = await van.status();
  const perf = st.performance as { eventLoopLagP99Ms: number | null } | undefined;
  t.true(typeof perf?.eventLoopLagP99Ms === 'number', `status shows the event-loop delay: ${JSON.stringify(perf)}`);
  const h = await van.cliJson<{ checks: Array<{ name: string; level: string; message: string }> }>(['health'], [0, 1]);
  const check = (n: string) => h.checks.find((c) => c.name === n);
  t.is(check('analysis')?.level, 'OK', JSON.stringify(check('analysis')));
  t.is(check('inference')?.level, 'OK', JSON.stringify(check('inference')));
  t.is((await van.stop()).code, 0);
});
