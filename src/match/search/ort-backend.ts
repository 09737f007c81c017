// ScoreBackend for the Gallery: synchronous score() stays the exact JavaScript loop (enrolment
// checks, single lookups); scoreBatch() runs the int8 ONNX Runtime GEMM for the live matcher via
// Gallery.searchBatchAsync(). The GEMM session is rebuilt lazily on the first search after the
// templates change, so importing a watchlist row by row does not rebuild it per row.
//
// Scores: int8 per-row quantisation moves a cosine by <= ~1e-3; the best `exactPool` rows of each
// probe are re-scored in float, so the hits the matcher reports (and compares with the threshold)
// carry exact cosines unless one subject holds more than exactPool templates.
import { JsScoreBackend, type ScoreBackend } from '../gallery.js';
import { OrtGemmIndex, type GemmPrecision } from './ort-gemm.js';
import { topK } from './topk.js';
import type { Lease } from '../../buffers/pools.js';

export interface OrtScoreBackendOptions {
  precision: GemmPrecision;
  intraOpThreads: number;
  /** Rows per probe re-scored exactly in float (64 covers top-20 subjects with a few templates each). */
  exactPool: number;
}

export class OrtScoreBackend implements ScoreBackend {
  readonly name: string;
  private readonly js = new JsScoreBackend();
  private readonly index: OrtGemmIndex;
  private matrix: Float32Array = new Float32Array(0);
  private rows = 0;
  private dim = 0;
  private built: Promise<void> | undefined;
  private last: Promise<void> | undefined;

  constructor(private readonly opts: OrtScoreBackendOptions = { precision: 'int8', intraOpThreads: 1, exactPool: 64 }) {
    this.index = new OrtGemmIndex({ precision: opts.precision, intraOpThreads: opts.intraOpThreads });
    this.name = this.index.name;
  }

  load(matrix: Float32Array, rows: number, dim: number): void {
    this.js.load(matrix, rows, dim);
    this.matrix = matrix;
    this.rows = rows;
    this.dim = dim;
    this.built = undefined;
  }

  score(probe: Float32Array, out: Float32Array): void {
    this.js.score(probe, out);
  }

  async scoreBatch(probes: Float32Array, n: number, out: Float32Array, lease?: Lease): Promise<void> {
    const { rows, dim, matrix } = this;
    if (rows === 0) return;
    // Builds are chained so two searches after one change never build two sessions at once.
    if (!this.built) this.built = (this.last ?? Promise.resolve()).then(() => this.index.load(matrix, rows, dim));
    this.last = this.built;
    const build = this.built;
    await build;
    const scores = await this.index.score(probes, n, lease);
    for (let i = 0; i < n; i++) {
      const off = i * rows;
      out.set(scores.subarray(off, off + rows), off);
      for (const { row } of topK(scores, rows, Math.min(rows, this.opts.exactPool), off)) {
        let s = 0;
        for (let j = 0; j < dim; j++) s += matrix[row * dim + j]! * probes[i * dim + j]!;
        out[off + row] = s;
      }
    }
    scores.fill(0);
  }

  clear(): void {
    this.js.clear();
    this.matrix = new Float32Array(0);
    this.rows = 0;
    this.built = undefined;
    void this.index.clear();
  }
}
