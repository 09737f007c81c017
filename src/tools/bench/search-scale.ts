// `lfr bench search-scale`: ms per probe of top-k search over 1k / 10k / 100k synthetic templates
// (seeded random unit vectors, 512-d), one thread, for the float JavaScript loop the Gallery uses
// and the ONNX Runtime GEMM backends, one probe at a time and in batches (a frame with several
// faces). Synthetic templates are fine here: search cost does not depend on the values.
import { Gallery, JsScoreBackend } from '../../match/gallery.js';
import { OrtScoreBackend } from '../../match/search/ort-backend.js';
import { topK } from '../../match/search/topk.js';
import type { Bench } from './types.js';

export interface SearchBenchOptions {
  sizes: number[];
  dim: number;
  k: number;
  probes: number;
  batch: number;
}

export const DEFAULT_SEARCH_BENCH: SearchBenchOptions = { sizes: [1000, 10_000, 100_000], dim: 512, k: 3, probes: 24, batch: 8 };

export interface SearchBenchRow {
  templates: number;
  backend: string;
  /** Median ms per probe, probes searched one at a time. */
  msPerProbe: number;
  /** Median ms per probe when `batch` probes are searched together. */
  msPerProbeBatched: number;
  /** Fraction of probes whose top-k rows equal the float brute force. */
  agreement: number;
}

function unitRows(rows: number, dim: number, seed: number): Float32Array {
  const m = new Float32Array(rows * dim);
  let a = seed >>> 0;
  for (let r = 0; r < rows; r++) {
    let s = 0;
    for (let j = 0; j < dim; j++) {
      a = (Math.imul(a, 1664525) + 1013904223) >>> 0;
      const v = a / 4294967296 - 0.5;
      m[r * dim + j] = v;
      s += v * v;
    }
    const inv = 1 / Math.sqrt(s);
    for (let j = 0; j < dim; j++) m[r * dim + j]! *= inv;
  }
  return m;
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

export async function benchSearchScale(opts: SearchBenchOptions = DEFAULT_SEARCH_BENCH, now: () => number = () => performance.now()): Promise<SearchBenchRow[]> {
  const rowsOut: SearchBenchRow[] = [];
  for (const size of opts.sizes) {
    const matrix = unitRows(size, opts.dim, 1234);
    // Probes near existing templates (a template plus noise), as a watchlisted face would be.
    const probes = unitRows(opts.probes, opts.dim, 99);
    for (let i = 0; i < opts.probes; i++) {
      const row = (i * 7919) % size;
      let s = 0;
      for (let j = 0; j < opts.dim; j++) {
        const v = 0.8 * matrix[row * opts.dim + j]! + 0.2 * probes[i * opts.dim + j]!;
        probes[i * opts.dim + j] = v;
        s += v * v;
      }
      for (let j = 0; j < opts.dim; j++) probes[i * opts.dim + j]! /= Math.sqrt(s);
    }
    const js = new JsScoreBackend();
    js.load(matrix, size, opts.dim);
    const scores = new Float32Array(size);
    const truth: number[][] = [];
    const jsTimes: number[] = [];
    for (let i = 0; i < opts.probes; i++) {
      const t0 = now();
      js.score(probes.subarray(i * opts.dim, (i + 1) * opts.dim), scores);
      truth.push(topK(scores, size, opts.k).map((h) => h.row));
      jsTimes.push(now() - t0);
    }
    rowsOut.push({ templates: size, backend: js.name, msPerProbe: median(jsTimes), msPerProbeBatched: median(jsTimes), agreement: 1 });
    // The product's own search path: the Gallery with the ONNX Runtime GEMM backend, searched as
    // the live matcher searches (searchBatchAsync); every row is its own subject here.
    const templates = Array.from({ length: size }, (_, r) => ({ subjectId: String(r), embedding: matrix.subarray(r * opts.dim, (r + 1) * opts.dim) }));
    for (const precision of ['f32', 'int8'] as const) {
      const backend = new OrtScoreBackend({ precision, intraOpThreads: 1, exactPool: 64 });
      const gallery = new Gallery(opts.dim, { backend });
      gallery.add(templates);
      const probe = (i: number): Float32Array => probes.subarray(i * opts.dim, (i + 1) * opts.dim);
      await gallery.searchBatchAsync([probe(0)], opts.k); // warm-up: the first run builds the session and packs the weights
      const single: number[] = [];
      let agree = 0;
      for (let i = 0; i < opts.probes; i++) {
        const t0 = now();
        const [hits] = await gallery.searchBatchAsync([probe(i)], opts.k);
        single.push(now() - t0);
        if (hits!.map((h) => Number(h.subjectId)).join() === truth[i]!.join()) agree++;
      }
      const batched: number[] = [];
      for (let i = 0; i + opts.batch <= opts.probes; i += opts.batch) {
        const batch = Array.from({ length: opts.batch }, (_, j) => probe(i + j));
        const t0 = now();
        await gallery.searchBatchAsync(batch, opts.k);
        batched.push((now() - t0) / opts.batch);
      }
      rowsOut.push({ templates: size, backend: backend.name, msPerProbe: median(single), msPerProbeBatched: median(batched), agreement: agree / opts.probes });
      gallery.clear();
    }
    js.clear();
  }
  return rowsOut;
}

export function formatSearchBench(rows: SearchBenchRow[], opts: SearchBenchOptions = DEFAULT_SEARCH_BENCH): string {
  const head = `top-${opts.k} search, ${opts.dim}-d, one thread (median ms per probe; batched = ${opts.batch} probes per call)`;
  const lines = rows.map((r) => `${String(r.templates).padStart(7)}  ${r.backend.padEnd(14)} ${r.msPerProbe.toFixed(3).padStart(8)}  ${r.msPerProbeBatched.toFixed(3).padStart(8)}  top-k agreement ${(r.agreement * 100).toFixed(0)}%`);
  return [head, '  rows  backend          single   batched', ...lines].join('\n');
}

/** `lfr bench search-scale` (registered in src/cli/bench.ts). */
export const searchScaleBench: Bench = {
  name: 'search-scale',
  description: 'top-3 watchlist search over 1k/10k/100k templates, one thread: JS float loop vs ONNX Runtime GEMM f32 / int8 (ms per probe)',
  async run(_config, opts) {
    const o = { ...DEFAULT_SEARCH_BENCH, probes: Math.max(8, opts.iterations * 8) };
    const rows = await benchSearchScale(o);
    return { human: formatSearchBench(rows, o), json: { ...o, rows } };
  },
};
