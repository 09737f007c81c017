// `lfr bench search`: time per probe of a top-k gallery search at several gallery sizes, on the
// calling (single) thread. Templates are random unit vectors: search cost does not depend on what
// the vectors mean, only on rows x dimension, so no face data is needed.
import { Gallery, type ScoreBackend } from '../../match/gallery.js';
import type { Bench } from './types.js';
import type { GalleryTemplate } from '../../watchlist/types.js';
import { mulberry32 } from '../../util/prng.js';

export interface SearchBenchOptions {
  sizes?: number[];
  dim?: number;
  k?: number;
  /** Timed probes per size (after warm-up). */
  probes?: number;
  seed?: number;
  backend?: () => ScoreBackend;
}

export interface SearchBenchRow {
  templates: number;
  dim: number;
  k: number;
  probes: number;
  medianMsPerProbe: number;
  p95MsPerProbe: number;
  backend: string;
}


export function randomUnitVector(dim: number, rand: () => number): Float32Array {
  const v = new Float32Array(dim);
  let n = 0;
  for (let i = 0; i < dim; i++) {
    const x = rand() * 2 - 1;
    v[i] = x;
    n += x * x;
  }
  const inv = 1 / Math.sqrt(n);
  for (let i = 0; i < dim; i++) v[i] = v[i]! * inv;
  return v;
}

const quantile = (sorted: number[], q: number): number => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;

export function benchSearch(opts: SearchBenchOptions = {}): SearchBenchRow[] {
  const sizes = opts.sizes ?? [1_000, 10_000, 100_000];
  const dim = opts.dim ?? 512;
  const k = opts.k ?? 3;
  const probes = opts.probes ?? 200;
  const rand = mulberry32(opts.seed ?? 42);
  const rows: SearchBenchRow[] = [];
  for (const n of sizes) {
    const g = new Gallery(dim, opts.backend ? { backend: opts.backend() } : {});
    const batch: GalleryTemplate[] = [];
    for (let i = 0; i < n; i++) {
      batch.push({ subjectId: `s${i}`, embedding: randomUnitVector(dim, rand) });
      if (batch.length === 10_000) g.add(batch.splice(0));
    }
    g.add(batch);
    const qs = Array.from({ length: probes }, () => randomUnitVector(dim, rand));
    // Warm-up lets V8 optimise the loop before timing (20 probes is plenty for one hot function).
    for (let i = 0; i < 20; i++) g.search(qs[i % qs.length]!, k);
    const times: number[] = [];
    for (const q of qs) {
      const t0 = process.hrtime.bigint();
      g.search(q, k);
      times.push(Number(process.hrtime.bigint() - t0) / 1e6);
    }
    times.sort((a, b) => a - b);
    rows.push({ templates: n, dim, k, probes, medianMsPerProbe: quantile(times, 0.5), p95MsPerProbe: quantile(times, 0.95), backend: g.backendName });
    g.clear();
  }
  return rows;
}

export function formatSearchBench(rows: SearchBenchRow[]): string {
  const lines = ['templates   dim  k  probes  median ms/probe  p95 ms/probe  backend'];
  for (const r of rows) {
    lines.push(
      `${String(r.templates).padStart(9)}  ${String(r.dim).padStart(4)}  ${r.k}  ${String(r.probes).padStart(6)}  ${r.medianMsPerProbe.toFixed(3).padStart(15)}  ${r.p95MsPerProbe.toFixed(3).padStart(12)}  ${r.backend}`,
    );
  }
  return lines.join('\n');
}

/** `lfr bench search` (registered in src/cli/bench.ts): the Gallery the live matcher uses. */
export const searchBench: Bench = {
  name: 'search',
  description: 'Gallery top-3 search (the live matcher\'s), 512-d, 1k/10k/100k templates, one thread: median ms per probe',
  async run(_config, opts) {
    // 40 probes per iteration: enough for a stable median, under 30 s at 100k on a slow box.
    const rows = benchSearch({ probes: Math.max(20, opts.iterations * 40) });
    return { human: `search (Gallery, one thread)\n${formatSearchBench(rows)}`, json: { rows } };
  },
};
