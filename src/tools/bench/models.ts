// `lfr bench models`: ms per inference of each float model and its int8 twin (manifest id
// "<id>-int8"), at 1 and 2 intra-op threads, measured side by side in one process: runs alternate
// float / int8 so both see the same machine load (the bench box is shared). The detector runs at
// the live input size (vision.detectorInputWidth, 4:3) with the same graph cut the vision code
// applies; the embedder at its 112x112 input, fed from a real photo.
import type { Config } from '../../config/schema.js';
import { INSTALL_ROOT } from '../../paths.js';
import path from 'node:path';
import { decodeImageFile } from '../../vision/decode.js';
import { rfbInputSize } from '../../vision/detectors/rfb.js';
import { modelsDirOf } from '../../vision/engine.js';
import { cutGraph } from '../../vision/graph-rewrite.js';
import { loadManifest, readVerifiedModel, type ModelEntry } from '../../vision/manifest.js';
import { fullRoi, toTensor } from '../../vision/preprocess.js';
import { ort } from '../../vision/session.js';
import { applicationOutputs, int8Id } from '../quant/service.js';
import type { Bench } from './types.js';

export interface ModelBenchRow {
  model: string;
  role: string;
  precision: 'float' | 'int8';
  input: string;
  threads: number;
  /** Median ms per inference. */
  ms: number;
}

export interface ModelBenchOptions {
  iterations: number;
  threads: number[];
  /** Float model ids; each is compared with "<id>-int8" when the manifest has it. */
  models?: string[];
  /** Photo fed to the models (defaults to face-api demo sample1.jpg). */
  image?: string;
}

export const DEFAULT_MODEL_BENCH: ModelBenchOptions = { iterations: 40, threads: [1, 2] };

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

function modelBytes(entry: ModelEntry, bytes: Uint8Array): Uint8Array {
  // The RFB detector runs cut at its raw heads with a symbolic input size (src/vision/detectors/rfb.ts).
  const outputs = applicationOutputs(entry);
  if (entry.decoder.name !== 'ultraface-ssd' || !outputs) return bytes;
  return cutGraph(bytes, { outputs, dynamicInput: entry.input.dynamic ? { name: entry.input.name, dims: [2, 3] } : undefined });
}

export async function benchModels(config: Config, opts: ModelBenchOptions = DEFAULT_MODEL_BENCH, now: () => number = () => performance.now()): Promise<ModelBenchRow[]> {
  const dir = modelsDirOf(config);
  const manifest = await loadManifest(dir);
  const ids = opts.models ?? [config.vision.detector, config.vision.embedder].map((id) => id.replace(/-int8$/, ''));
  const img = await decodeImageFile(opts.image ?? path.join(INSTALL_ROOT, 'node_modules', '@vladmandic', 'face-api', 'demo', 'sample1.jpg'));
  const rows: ModelBenchRow[] = [];
  for (const id of ids) {
    const pair = [manifest.models.find((m) => m.id === id), manifest.models.find((m) => m.id === int8Id(id))].filter((m): m is ModelEntry => m !== undefined);
    if (pair.length === 0) throw new Error(`no model "${id}" in the manifest`);
    const entry = pair[0]!;
    const size = entry.input.dynamic ? rfbInputSize(4, 3, config.vision.detectorInputWidth) : { width: entry.input.width, height: entry.input.height };
    const c = entry.input.channelOrder === 'GREY' ? 1 : 3;
    const data = toTensor(img, fullRoi(img), { ...entry.input, ...size });
    const dims = entry.input.layout === 'NCHW' ? [1, c, size.height, size.width] : [1, size.height, size.width, c];
    const feed = { [entry.input.name]: new ort.Tensor('float32', data, dims) };
    const bytes = await Promise.all(pair.map(async (e) => modelBytes(e, await readVerifiedModel(dir, e))));
    for (const threads of opts.threads) {
      const sessions = await Promise.all(bytes.map((b) => ort.InferenceSession.create(b, { intraOpNumThreads: threads, interOpNumThreads: 1, graphOptimizationLevel: 'all', executionMode: 'sequential' })));
      const times = sessions.map(() => [] as number[]);
      try {
        for (let i = -5; i < opts.iterations; i++) {
          for (let s = 0; s < sessions.length; s++) {
            const t0 = now();
            await sessions[s]!.run(feed);
            if (i >= 0) times[s]!.push(now() - t0);
          }
        }
      } finally {
        await Promise.all(sessions.map((s) => s.release()));
      }
      pair.forEach((e, s) => rows.push({ model: e.id, role: e.role, precision: e.id.endsWith('-int8') ? 'int8' : 'float', input: `${size.width}x${size.height}`, threads, ms: median(times[s]!) }));
    }
  }
  return rows;
}

export function formatModelBench(rows: ModelBenchRow[]): string {
  const lines = ['model                     precision input    threads  ms (median)  float/int8'];
  for (const r of rows) {
    const f = rows.find((x) => x.precision === 'float' && x.role === r.role && x.threads === r.threads && r.model.startsWith(x.model));
    const ratio = r.precision === 'int8' && f ? (f.ms / r.ms).toFixed(2) : '';
    lines.push(`${r.model.padEnd(26)}${r.precision.padEnd(10)}${r.input.padEnd(9)}${String(r.threads).padStart(7)}  ${r.ms.toFixed(2).padStart(11)}  ${ratio.padStart(10)}`);
  }
  return lines.join('\n');
}

/** `lfr bench models` (registered in src/cli/bench.ts). */
export const modelsBench: Bench = {
  name: 'models',
  description: 'float vs int8 ms per inference of the detector and embedder at 1 and 2 threads, alternated in one run (median)',
  async run(config, opts) {
    // A bench pass is short (one inference), so 8 runs per requested pass keep medians steady.
    const rows = await benchModels(config, { ...DEFAULT_MODEL_BENCH, iterations: opts.iterations * 8 });
    return { human: `models (median ms per inference, ${opts.iterations * 8} runs each)\n${formatModelBench(rows)}`, json: { rows } };
  },
};
