// Top-k watchlist search for many templates: the int8 ONNX Runtime GEMM picks a candidate pool
// per probe, the float templates give the exact final scores (so thresholds mean the same as
// with the float search). Async because ONNX Runtime's run() is; the Gallery's synchronous
// ScoreBackend hook cannot host it, see docs/performance.md for how the matcher calls it.
import { OrtGemmIndex, type GemmPrecision } from './ort-gemm.js';
import { poolSize, rerank, topK, type Hit } from './topk.js';

export class FastSearch {
  private readonly index: OrtGemmIndex;
  private matrix: Float32Array = new Float32Array(0);
  private rows = 0;
  private dim = 0;

  constructor(opts: { precision?: GemmPrecision; intraOpThreads?: number } = {}) {
    this.index = new OrtGemmIndex({ precision: opts.precision ?? 'int8', intraOpThreads: opts.intraOpThreads ?? 1 });
  }

  get name(): string {
    return this.index.name;
  }

  /** `matrix` (rows x dim, L2-normalised rows) is referenced, not copied: keep it unchanged until the next load(). */
  async load(matrix: Float32Array, rows: number, dim: number): Promise<void> {
    await this.index.load(matrix, rows, dim);
    this.matrix = matrix;
    this.rows = rows;
    this.dim = dim;
  }

  /** Best k rows for each of n probes (n x dim, row-major), exact float scores, descending. */
  async search(probes: Float32Array, n: number, k: number): Promise<Hit[][]> {
    if (this.rows === 0 || n === 0) return Array.from({ length: n }, () => []);
    const scores = await this.index.score(probes, n);
    const out: Hit[][] = [];
    for (let i = 0; i < n; i++) {
      const pool = topK(scores, this.rows, Math.min(this.rows, poolSize(k)), i * this.rows);
      out.push(rerank(pool, probes, i * this.dim, this.matrix, this.dim, k));
    }
    scores.fill(0);
    return out;
  }

  async clear(): Promise<void> {
    await this.index.clear();
    this.matrix = new Float32Array(0);
    this.rows = 0;
  }
}
