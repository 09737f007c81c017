// The in-memory template matrix the live matcher searches. Rows are L2-normalised embeddings
// packed into one Float32Array (row-major), so a search is one pass of dot products (cosine
// similarity) followed by a small top-k selection by subject.
//
// The inner loop sits behind ScoreBackend so a faster one (int8, SIMD, an ONNX Runtime GEMM in
// src/match/search/) can replace it without changing the public API: the backend only turns a
// probe into one score per row; the Gallery keeps ids, growth, de-duplication and wiping.
import type { GalleryTemplate, SearchHit } from '../watchlist/types.js';
import { wipe } from '../crypto/secure.js';
import { topK } from './search/topk.js';
import type { Lease } from '../buffers/pools.js';

export interface ScoreBackend {
  readonly name: string;
  /** Called after rows change; `matrix` holds `rows` x `dim` floats (may be longer). */
  load(matrix: Float32Array, rows: number, dim: number): void;
  /** Write the score of `probe` against each row into out[0..rows). */
  score(probe: Float32Array, out: Float32Array): void;
  /** Forget (and wipe) any copy of the matrix the backend made. */
  clear(): void;
  /**
   * Optional batched, asynchronous scoring for backends that run outside the JS thread (the
   * ONNX Runtime GEMM in src/match/search/): n probes packed row-major in, n x rows scores out.
   * Used by searchBatchAsync(); added by the quantisation work (issue 7).
   */
  scoreBatch?(probes: Float32Array, n: number, out: Float32Array, lease?: Lease): Promise<void>;
}

/** Plain JavaScript dot products, 4-way unrolled (about 1.5x over a naive loop in V8). */
export class JsScoreBackend implements ScoreBackend {
  readonly name = 'js-f32';
  private m: Float32Array = new Float32Array(0);
  private rows = 0;
  private dim = 0;

  load(matrix: Float32Array, rows: number, dim: number): void {
    this.m = matrix;
    this.rows = rows;
    this.dim = dim;
  }

  score(probe: Float32Array, out: Float32Array): void {
    const { m, rows, dim } = this;
    const d4 = dim - (dim % 4);
    for (let r = 0, base = 0; r < rows; r++, base += dim) {
      let s0 = 0, s1 = 0, s2 = 0, s3 = 0;
      let j = 0;
      for (; j < d4; j += 4) {
        s0 += m[base + j]! * probe[j]!;
        s1 += m[base + j + 1]! * probe[j + 1]!;
        s2 += m[base + j + 2]! * probe[j + 2]!;
        s3 += m[base + j + 3]! * probe[j + 3]!;
      }
      for (; j < dim; j++) s0 += m[base + j]! * probe[j]!;
      out[r] = s0 + s1 + s2 + s3;
    }
  }

  clear(): void {
    this.m = new Float32Array(0);
    this.rows = 0;
  }
}

export interface GalleryOptions {
  backend?: ScoreBackend;
}

export class Gallery {
  private matrix: Float32Array;
  private rows = 0;
  /** Per row: index into subjectIds. */
  private rowSubject: Int32Array;
  private readonly subjectIds: string[] = [];
  private readonly subjectIndex = new Map<string, number>();
  private scores = new Float32Array(0);
  private readonly backend: ScoreBackend;

  constructor(
    readonly dim: number,
    opts: GalleryOptions = {},
  ) {
    if (!Number.isInteger(dim) || dim <= 0) throw new Error(`gallery dimension must be a positive integer, got ${dim}`);
    this.backend = opts.backend ?? new JsScoreBackend();
    this.matrix = new Float32Array(0);
    this.rowSubject = new Int32Array(0);
  }

  /** Number of template rows. */
  get size(): number {
    return this.rows;
  }

  /** Number of distinct subjects. */
  get subjects(): number {
    return this.subjectIds.length;
  }

  get backendName(): string {
    return this.backend.name;
  }

  /** Append templates (the embeddings are copied; the caller may wipe its own). */
  add(templates: readonly GalleryTemplate[]): void {
    if (templates.length === 0) return;
    for (const t of templates) {
      if (t.embedding.length !== this.dim) throw new Error(`template has ${t.embedding.length} values, gallery expects ${this.dim}`);
    }
    this.reserve(this.rows + templates.length);
    for (const t of templates) {
      let si = this.subjectIndex.get(t.subjectId);
      if (si === undefined) {
        si = this.subjectIds.length;
        this.subjectIds.push(t.subjectId);
        this.subjectIndex.set(t.subjectId, si);
      }
      this.matrix.set(t.embedding, this.rows * this.dim);
      this.rowSubject[this.rows] = si;
      this.rows++;
    }
    if (this.scores.length < this.rows) this.scores = new Float32Array(this.rows);
    this.backend.load(this.matrix, this.rows, this.dim);
  }

  /** Replace the content with `templates` (wiping the old rows first). */
  load(templates: readonly GalleryTemplate[]): void {
    this.clear();
    this.add(templates);
  }

  /**
   * Up to k subjects, most to least likely, each with its best template score (cosine
   * similarity of L2-normalised vectors). A subject with several templates appears once.
   */
  search(probe: Float32Array, k: number): SearchHit[] {
    if (probe.length !== this.dim) throw new Error(`probe has ${probe.length} values, gallery expects ${this.dim}`);
    if (this.rows === 0 || k <= 0) return [];
    const scores = this.scores;
    this.backend.score(probe, scores);
    return this.topK(scores, k);
  }

  /**
   * 1:1: the best score of `probe` against ONE subject's templates (the tablet's photo check),
   * or null when the subject is not in the gallery. No other row is scored.
   */
  scoreSubject(probe: Float32Array, subjectId: string): number | null {
    if (probe.length !== this.dim) throw new Error(`probe has ${probe.length} values, gallery expects ${this.dim}`);
    const si = this.subjectIndex.get(subjectId);
    if (si === undefined) return null;
    let best: number | null = null;
    for (let r = 0; r < this.rows; r++) {
      if (this.rowSubject[r] !== si) continue;
      let s = 0;
      const base = r * this.dim;
      for (let j = 0; j < this.dim; j++) s += this.matrix[base + j]! * probe[j]!;
      if (best === null || s > best) best = s;
    }
    return best;
  }

  searchBatch(probes: readonly Float32Array[], k: number): SearchHit[][] {
    return probes.map((p) => this.search(p, k));
  }

  /**
   * searchBatch through the backend's batched async path when it has one (one GEMM per frame).
   * The probe copies it makes come from `lease` (pool "probe", wiped at the frame's release).
   */
  async searchBatchAsync(probes: readonly Float32Array[], k: number, lease?: Lease): Promise<SearchHit[][]> {
    const rows = this.rows;
    if (!this.backend.scoreBatch || rows === 0 || k <= 0 || probes.length === 0) return this.searchBatch(probes, k);
    const packed = lease ? lease.f32('probe', probes.length * this.dim) : new Float32Array(probes.length * this.dim);
    probes.forEach((p, i) => {
      if (p.length !== this.dim) throw new Error(`probe has ${p.length} values, gallery expects ${this.dim}`);
      packed.set(p, i * this.dim);
    });
    const out = new Float32Array(probes.length * rows);
    await this.backend.scoreBatch(packed, probes.length, out, lease);
    // The gallery changed while scoring (import or wipe): answer from the current content.
    const hits = this.rows === rows ? probes.map((_, i) => this.topK(out.subarray(i * rows, (i + 1) * rows), k)) : this.searchBatch(probes, k);
    wipe(out);
    wipe(packed);
    return hits;
  }

  /** Wipe every template and id; the gallery is empty and reusable afterwards. */
  clear(): void {
    wipe(this.matrix);
    wipe(this.scores);
    this.backend.clear();
    this.matrix = new Float32Array(0);
    this.rowSubject = new Int32Array(0);
    this.scores = new Float32Array(0);
    this.rows = 0;
    this.subjectIds.length = 0;
    this.subjectIndex.clear();
  }

  private reserve(rows: number): void {
    if (this.matrix.length >= rows * this.dim) return;
    // Grow by 1.5x so loading N templates one by one stays O(N) copies overall.
    const cap = Math.max(rows, Math.ceil((this.matrix.length / this.dim) * 1.5), 64);
    const m = new Float32Array(cap * this.dim);
    m.set(this.matrix.subarray(0, this.rows * this.dim));
    wipe(this.matrix);
    this.matrix = m;
    const rs = new Int32Array(cap);
    rs.set(this.rowSubject.subarray(0, this.rows));
    this.rowSubject = rs;
  }

  /** Best k distinct subjects (THE top-k of src/match/search/topk.ts, grouped by subject). */
  private topK(scores: Float32Array, k: number): SearchHit[] {
    return topK(scores, this.rows, k, 0, this.rowSubject).map((h) => ({ subjectId: this.subjectIds[this.rowSubject[h.row]!]!, score: h.score }));
  }
}
