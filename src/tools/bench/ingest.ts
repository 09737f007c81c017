// Ingest throughput benchmark: one video looped in real time by scripts/rtsp-server.py, N
// cameras pulling it through the real CameraManager. Reports decode and delivery rates, drops,
// the CPU and memory of this process and of its decoder processes (one per camera, where
// GStreamer decodes), and the server's CPU.
// The daemon's live benchmark (lfr bench live) reuses it with an analysing consumer.
import { configSchema, type Config } from '../../config/schema.js';
import { silentLogger, type Logger } from '../../log.js';
import type { Frame } from '../../ingest/frame.js';
import { CameraManager, type CameraStats } from '../../ingest/manager.js';
import { procCpuMs, procMemMb } from '../../util/proc.js';
import { RtspServer } from '../rtsp-server.js';

export interface IngestBenchOptions {
  /** An H.264/H.265 MP4, e.g. ../shared/data/video/crowd_walk_1080p.mp4. */
  video: string;
  cameras: number;
  /** Measured window, after every camera is live. */
  seconds: number;
  analysisWidth?: number;
  analysisFps?: number;
  decoder?: 'auto' | 'cpu' | 'nvidia' | 'v4l2';
  ingest?: Partial<Config['ingest']>;
  log?: Logger;
  /** Consumer of frames; default: release at once (pure ingest cost). Call manager.releaseFrame yourself if you pass one. */
  onFrame?: (frame: Frame, manager: CameraManager) => void | Promise<void>;
}

export interface IngestBenchResult {
  cameras: number;
  seconds: number;
  analysisWidth: number;
  analysisFps: number;
  perCamera: Array<Pick<CameraStats, 'camera' | 'state' | 'reconnects'> & { decodedFps: number; deliveredFps: number; dropped: number }>;
  /** This process plus its decoder processes, in % of one core (200 = both cores of a 2-core box). */
  cpuPercent: number;
  /** The decoder processes alone (included in cpuPercent). */
  decoderCpuPercent: number;
  /** The RTSP server process (not re-encoding: near zero). */
  serverCpuPercent: number;
  /** This process's resident memory. */
  rssMb: number;
  /** This process and its decoder processes together, shared pages counted once (sum of PSS). */
  totalPssMb: number;
}

export async function benchIngest(o: IngestBenchOptions): Promise<IngestBenchResult> {
  const analysisWidth = o.analysisWidth ?? 1280;
  const analysisFps = o.analysisFps ?? 10;
  const mounts: Record<string, string> = {};
  for (let i = 0; i < o.cameras; i++) mounts[`/cam${i + 1}`] = `file:${o.video}`;
  const server = await RtspServer.start({ mounts });
  const manager = new CameraManager({
    cameras: configSchema.parse({
      cameras: Object.keys(mounts).map((m, i) => ({
        name: `cam${i + 1}`,
        url: server.url(m),
        analysisWidth,
        analysisFps,
        decoder: o.decoder ?? 'auto',
      })),
    }).cameras,
    ingest: configSchema.parse({ ingest: o.ingest ?? {} }).ingest,
    log: o.log ?? silentLogger(),
  });
  manager.onFrame(o.onFrame ? (f) => o.onFrame!(f, manager) : (f) => manager.releaseFrame(f));
  try {
    await manager.start(new AbortController().signal);
    const deadline = Date.now() + 30_000;
    while (!manager.stats().every((s) => s.state === 'live')) {
      if (Date.now() > deadline) throw new Error(`cameras not live within 30 s: ${JSON.stringify(manager.stats().map((s) => [s.camera, s.state, s.lastError]))}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    await new Promise((r) => setTimeout(r, 1000)); // settle: first GOP, jitter buffer
    const before = manager.stats();
    const pids = manager.decoderPids();
    const dec0 = pids.reduce((t, p) => t + procCpuMs(p), 0);
    const cpu0 = process.cpuUsage();
    const srv0 = procCpuMs(server.pid!);
    const t0 = Date.now();
    await new Promise((r) => setTimeout(r, o.seconds * 1000));
    const wall = Date.now() - t0;
    const cpu = process.cpuUsage(cpu0);
    const srvMs = procCpuMs(server.pid!) - srv0;
    const decMs = pids.reduce((t, p) => t + procCpuMs(p), 0) - dec0;
    const after = manager.stats();
    const pss = [process.pid, ...manager.decoderPids()].reduce((t, p) => t + procMemMb(p).pss, 0);
    return {
      cameras: o.cameras,
      seconds: wall / 1000,
      analysisWidth,
      analysisFps,
      perCamera: after.map((a, i) => {
        const b = before[i]!;
        return {
          camera: a.camera,
          state: a.state,
          reconnects: a.reconnects,
          decodedFps: round1(((a.decoded - b.decoded) * 1000) / wall),
          deliveredFps: round1(((a.analysed - b.analysed) * 1000) / wall),
          dropped: a.dropped - b.dropped,
        };
      }),
      cpuPercent: round1((((cpu.user + cpu.system) / 1000 + decMs) / wall) * 100),
      decoderCpuPercent: round1((decMs / wall) * 100),
      serverCpuPercent: round1((srvMs / wall) * 100),
      rssMb: Math.round(process.memoryUsage().rss / 2 ** 20),
      totalPssMb: pss,
    };
  } finally {
    await manager.stop();
    await server.stop();
  }
}

function round1(v: number): number {
  return Math.round(v * 10) / 10;
}
