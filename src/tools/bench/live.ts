// `lfr bench live`: the whole live path under load. crowd_walk_1080p.mp4 (or, when absent, a
// video of the MIT demo photos) is looped in real time (25 fps) by the local RTSP server to 1, 2
// and 4 cameras; each camera's frames go through detect -> analyse -> track -> embed -> search
// -> policy against a 1,000-subject random gallery (no alerts: the cost of a crowd of strangers).
// Reports per camera analysed fps, decoded fps and drops, faces/s, frame-to-decision latency
// p50/p99 (decoder exit -> decision), process CPU and RSS; the ingest part is ingest's
// benchIngest, so decode figures are comparable with `lfr bench ingest`.
import type { Config } from '../../config/schema.js';
import type { Logger } from '../../log.js';
import type { Bench } from './types.js';
import { silentLogger } from '../../log.js';
import { createFaceEngine } from '../../vision/engine.js';
import { benchIngest, type IngestBenchResult } from './ingest.js';
import { Gallery } from '../../match/gallery.js';
import { CameraAnalyser } from '../../match/analyser.js';
import { analyserSettings } from '../../match/settings.js';
import { localFrameAnalysis } from '../../vision/frame-analysis.js';

export interface LiveBenchRow {
  cameras: number;
  perCamera: Array<{ camera: string; state: string; analysedFps: number; decodedFps: number; dropped: number; reconnects: number }>;
  facesPerSecond: number;
  latencyP50Ms: number;
  latencyP99Ms: number;
  cpuPercent: number;
  rssMb: number;
  totalPssMb: number;
}

function quantile(sorted: number[], q: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
}

function randomGallery(dim: number, n: number): Gallery {
  const g = new Gallery(dim);
  const rows = [];
  for (let i = 0; i < n; i++) {
    const v = new Float32Array(dim);
    let s = 0;
    for (let j = 0; j < dim; j++) s += (v[j] = Math.random() - 0.5) ** 2;
    const k = 1 / Math.sqrt(s);
    for (let j = 0; j < dim; j++) v[j]! *= k;
    rows.push({ subjectId: `s${i}`, embedding: v });
  }
  g.load(rows);
  return g;
}

export async function benchLive(config: Config, o: { video: string; cameraCounts: number[]; seconds: number; log?: Logger }): Promise<LiveBenchRow[]> {
  const log = o.log ?? silentLogger();
  const engine = await createFaceEngine(config, log);
  const gallery = randomGallery(engine.embeddingSize, 1000);
  const rows: LiveBenchRow[] = [];
  try {
    for (const n of o.cameraCounts) {
      const analysers = new Map<string, CameraAnalyser>();
      const latencies: number[] = [];
      let faces = 0;
      let measuring = false;
      const cam = config.cameras[0];
      const r: IngestBenchResult = await benchIngest({
        video: o.video,
        cameras: n,
        seconds: o.seconds,
        analysisWidth: cam?.analysisWidth ?? 1280,
        analysisFps: cam?.analysisFps ?? 10,
        ingest: config.ingest,
        log,
        onFrame: async (frame, manager) => {
          let a = analysers.get(frame.camera);
          if (!a) {
            a = new CameraAnalyser({ camera: frame.camera, engine: localFrameAnalysis(engine), ...analyserSettings(config), target: () => ({ gallery, topK: config.match.topK }), onDecision: async () => undefined, log });
            analysers.set(frame.camera, a);
          }
          try {
            const before = a.counters.faces;
            await a.analyse(frame);
            // benchIngest settles 1 s after all cameras are live; count from the first frame
            // whose analysis ends after its window opened is approximated by "all live + 1 s".
            if (measuring) {
              latencies.push(Date.now() - frame.capturedAt);
              faces += a.counters.faces - before;
            } else if (manager.stats().every((s) => s.state === 'live')) {
              setTimeout(() => (measuring = true), 1000).unref();
            }
          } finally {
            manager.releaseFrame(frame);
          }
        },
      });
      latencies.sort((x, y) => x - y);
      rows.push({
        cameras: n,
        perCamera: r.perCamera.map((p) => ({ camera: p.camera, state: p.state, analysedFps: p.deliveredFps, decodedFps: p.decodedFps, dropped: p.dropped, reconnects: p.reconnects })),
        facesPerSecond: Math.round((faces / r.seconds) * 10) / 10,
        latencyP50Ms: quantile(latencies, 0.5),
        latencyP99Ms: quantile(latencies, 0.99),
        cpuPercent: r.cpuPercent,
        rssMb: r.rssMb,
        totalPssMb: r.totalPssMb,
      });
    }
  } finally {
    gallery.clear();
    await engine.close();
  }
  return rows;
}

export function liveTable(rows: LiveBenchRow[]): string {
  const lines = ['cams  analysed fps/cam (min..max)  decoded fps/cam  dropped  faces/s  latency p50/p99 ms  CPU %  RSS MB'];
  for (const r of rows) {
    const a = r.perCamera.map((p) => p.analysedFps);
    const d = r.perCamera.map((p) => p.decodedFps);
    const stalled = r.perCamera.filter((p) => p.state !== 'live').length;
    lines.push(
      `${String(r.cameras).padEnd(6)}${`${Math.min(...a)}..${Math.max(...a)}`.padEnd(29)}${`${Math.min(...d)}..${Math.max(...d)}`.padEnd(17)}${String(r.perCamera.reduce((s, p) => s + p.dropped, 0)).padEnd(9)}${String(r.facesPerSecond).padEnd(9)}${`${r.latencyP50Ms} / ${r.latencyP99Ms}`.padEnd(20)}${String(r.cpuPercent).padEnd(7)}${r.rssMb}${stalled ? `  (${stalled} not live)` : ''}`,
    );
  }
  return lines.join('\n');
}

/**
 * Video: $LFR_BENCH_VIDEO, else ../shared/data/video/crowd_walk_1080p.mp4 beside the install
 * (the evaluation data of this project), else a video of the demo photos built on the fly.
 * Seconds per camera count: --iterations (default bench passes) read as seconds, at least 10.
 */
export const liveBench: Bench = {
  name: 'live',
  description: 'live path under load: a 25 fps video looped by the local RTSP server to 1, 2, 4 cameras (analysed fps, drops, faces/s, latency p50/p99, CPU, RSS)',
  async run(config, opts) {
    const { existsSync, mkdtempSync, rmSync } = await import('node:fs');
    const path = await import('node:path');
    const { tmpdir } = await import('node:os');
    const { INSTALL_ROOT } = await import('../../paths.js');
    let video = process.env.LFR_BENCH_VIDEO ?? path.resolve(INSTALL_ROOT, '..', 'shared', 'data', 'video', 'crowd_walk_1080p.mp4');
    let tmp: string | null = null;
    if (!existsSync(video)) {
      const { makeDemoVideo, demoPhoto } = await import('../demo/kit.js');
      tmp = mkdtempSync(path.join(tmpdir(), 'lfr-bench-live-'));
      video = path.join(tmp, 'demo.mp4');
      await makeDemoVideo(video, [1, 2, 3, 4, 5, 6].map((n) => `${demoPhoto(n)}:2`), '1920x1080');
    }
    const counts = (process.env.LFR_BENCH_CAMERAS ?? '1,2,4').split(',').map(Number).filter((n) => n >= 1 && n <= 16);
    try {
      const rows = await benchLive(config, { video, cameraCounts: counts, seconds: Math.max(10, opts.iterations) });
      return { human: `live: ${path.basename(video)}, analysisFps ${config.cameras[0]?.analysisFps ?? 10}, width ${config.cameras[0]?.analysisWidth ?? 1280}\n${liveTable(rows)}`, json: { video: path.basename(video), rows } };
    } finally {
      if (tmp) rmSync(tmp, { recursive: true, force: true });
    }
  },
};
