// `lfr bench reconnect`: the soak for issue 13 item 7, "reconnects leak nothing". Cameras on the
// local RTSP server stream a 25 fps test pattern (a key frame every second); each camera analyses
// 0.5 fps while the ingest's stall timeout is 500 ms, so every camera connects, goes live on its
// first frame, "stalls" before the next, is torn down and reconnects, over and over, through
// the product's own supervision (CameraManager,
// Camera, a decoder process per connection). Reports the daemon-side RSS and open file
// descriptors after a warm-up and at the end, and the decoder processes left behind.
// Before decoding moved to child processes the in-process binding leaked about 184 KB per
// reconnect (docs/ingest.md): 1,000 reconnects were ~180 MB.
import { readdirSync, readFileSync } from 'node:fs';
import { configSchema } from '../../config/schema.js';
import { silentLogger } from '../../log.js';
import { CameraManager } from '../../ingest/manager.js';
import { RtspServer } from '../rtsp-server.js';
import type { Bench } from './types.js';

export interface ReconnectSoakResult {
  cameras: number;
  reconnects: number;
  seconds: number;
  /** Daemon-side RSS (MB) after the warm-up reconnects and at the end, and the growth. */
  rssAfterWarmupMb: number;
  rssEndMb: number;
  rssGrowthMb: number;
  heapUsedGrowthMb: number;
  fdsAfterWarmup: number;
  fdsEnd: number;
  framesReceived: number;
  /** Decoder processes still running once every camera is stopped (must be 0). */
  decodersLeft: number;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const mb = (b: number): number => Math.round((b / 2 ** 20) * 10) / 10;
const fds = (): number => readdirSync('/proc/self/fd').length;

/** Live child processes of this one that run the decoder entry (zombies count too). */
function decoderChildren(): number[] {
  const out: number[] = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === process.pid && readFileSync(`/proc/${d}/cmdline`, 'utf8').includes('decoder-process')) out.push(Number(d));
    } catch {
      /* gone meanwhile */
    }
  }
  return out;
}

export async function soakReconnects(o: { reconnects: number; cameras: number; warmup?: number; onProgress?: (n: number) => void }): Promise<ReconnectSoakResult> {
  const mounts: Record<string, string> = {};
  for (let i = 0; i < o.cameras; i++) mounts[`/c${i}`] = 'test:h264:320x240@25';
  const server = await RtspServer.start({ mounts });
  const cfg = configSchema.parse({
    cameras: Object.keys(mounts).map((m, i) => ({ name: `c${i}`, url: server.url(m), analysisWidth: 320, analysisFps: 0.5 })),
    ingest: { stallTimeoutMs: 500, connectTimeoutMs: 10000, backoffInitialMs: 100, backoffMaxMs: 1000 },
  });
  const manager = new CameraManager({ cameras: cfg.cameras, ingest: cfg.ingest, log: silentLogger(), tickMs: 100 });
  let frames = 0;
  manager.onFrame((f) => {
    frames++;
    manager.releaseFrame(f);
  });
  const total = (): number => manager.stats().reduce((t, s) => t + s.reconnects, 0);
  const gc = (globalThis as { gc?: () => void }).gc;
  try {
    await manager.start(new AbortController().signal);
    const warmup = o.warmup ?? Math.min(50, Math.floor(o.reconnects / 10));
    while (total() < warmup) await sleep(200);
    gc?.();
    const rss0 = process.memoryUsage().rss;
    const heap0 = process.memoryUsage().heapUsed;
    const fd0 = fds();
    const n0 = total();
    const t0 = Date.now();
    let last = 0;
    while (total() - n0 < o.reconnects) {
      await sleep(500);
      const n = total() - n0;
      if (n - last >= 100) {
        o.onProgress?.(n);
        last = n;
      }
    }
    const seconds = (Date.now() - t0) / 1000;
    await manager.stop();
    await sleep(3000); // decoder processes asked to stop get 2 s before SIGKILL
    gc?.();
    const mem = process.memoryUsage();
    const pidsLeft = decoderChildren();
    return {
      cameras: o.cameras,
      reconnects: total() - n0,
      seconds: Math.round(seconds),
      rssAfterWarmupMb: mb(rss0),
      rssEndMb: mb(mem.rss),
      rssGrowthMb: mb(mem.rss - rss0),
      heapUsedGrowthMb: mb(mem.heapUsed - heap0),
      fdsAfterWarmup: fd0,
      fdsEnd: fds(),
      framesReceived: frames,
      decodersLeft: pidsLeft.length,
    };
  } finally {
    await manager.stop();
    await server.stop();
  }
}

export const reconnectBench: Bench = {
  name: 'reconnect',
  description: 'soak: cameras that stall and reconnect over and over ($LFR_BENCH_RECONNECTS, default 1000, over $LFR_BENCH_CAMERAS, default 8): daemon RSS and fds before/after, decoder processes left',
  async run(_config, _opts) {
    const reconnects = Number(process.env.LFR_BENCH_RECONNECTS ?? 1000);
    const cameras = Number(process.env.LFR_BENCH_CAMERAS ?? 8);
    const r = await soakReconnects({ reconnects, cameras, onProgress: (n) => process.stderr.write(`  ${n} reconnects\n`) });
    return {
      human: `reconnect soak: ${r.reconnects} reconnects over ${r.cameras} cameras in ${r.seconds} s (${r.framesReceived} frames); daemon RSS ${r.rssAfterWarmupMb} -> ${r.rssEndMb} MB (${r.rssGrowthMb >= 0 ? '+' : ''}${r.rssGrowthMb} MB), heap ${r.heapUsedGrowthMb >= 0 ? '+' : ''}${r.heapUsedGrowthMb} MB, fds ${r.fdsAfterWarmup} -> ${r.fdsEnd}, decoder processes left ${r.decodersLeft}`,
      json: r,
    };
  },
};
