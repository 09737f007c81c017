// Track fusion: a track is searched with the quality-weighted mean of its best few embeddings
// instead of its latest single frame. One person's several looks average out what a single frame
// gets wrong (a blink, motion blur, a landmark off by a few pixels), so the mate's score rises and
// steadies while a look-alike's lucky frame is diluted.
//
// Only ONE person's looks may be averaged (issue 19): the mean of a wanted person's looks and a
// stranger's is neither of them, and either misses the wanted person or alerts on the stranger.
// A look is added only when it agrees with the track's looks (similarity() at or above the
// appearance gate, match.trackMinSimilarity); the analyser splits a disagreeing look off into a
// new track, where it is searched alone. Every search includes the look just embedded (the face
// an alert would show), even when it is not good enough to be kept among the best `keep`.
//
// This is biometric data kept across frames, so it is held here only: per track, at most K
// embeddings in buffers this class owns (copies; the caller wipes its own), wiped (sodium
// memzero) when the track ends, when the camera stops, and when an entry is displaced. Nothing
// here is logged or written; workers never see it (the gallery search stays on the main thread).
import { BufferPools, type Lease } from '../buffers/pools.js';

export interface FusionSettings {
  /** Embeddings kept per track (the best by quality). */
  keep: number;
  /**
   * Appearance gate: a look whose cosine similarity with the mean of the track's looks is below
   * this is another person's. Calibrated on LFW pairs (docs/accuracy.md, match.trackMinSimilarity).
   */
  minSimilarity: number;
}

/**
 * 3 best looks: enough to average out one bad frame; more adds little and keeps more data.
 * Gate 0.4: no non-mated LFW pair of 3,000 reaches it; see match.trackMinSimilarity
 * (src/config/schema.ts) and docs/accuracy.md for the calibration.
 */
export const DEFAULT_FUSION: FusionSettings = { keep: 3, minSimilarity: 0.4 };

/**
 * Enrolment's fusion: one template for a subject from several reference images, the L2-normalised
 * mean of their embeddings (a new array; the caller wipes the inputs). Measured on LFW (`lfr eval
 * references`, docs/accuracy.md): with 3 references the mean alone misses fewer mates at the same
 * false-alert rate than searching every reference separately, with a third of the templates.
 */
export function meanTemplate(embeddings: readonly Float32Array[]): Float32Array {
  if (embeddings.length === 0) throw new RangeError('no embeddings to fuse');
  const out = new Float32Array(embeddings[0]!.length);
  for (const e of embeddings) {
    if (e.length !== out.length) throw new RangeError(`embedding has ${e.length} values, expected ${out.length}`);
    for (let i = 0; i < out.length; i++) out[i]! += e[i]!;
  }
  let n = 0;
  for (let i = 0; i < out.length; i++) n += out[i]! * out[i]!;
  const inv = n > 0 ? 1 / Math.sqrt(n) : 0;
  for (let i = 0; i < out.length; i++) out[i]! *= inv;
  return out;
}

interface Held {
  quality: number;
  embedding: Float32Array;
}

export class TrackFusion {
  private readonly tracks = new Map<number, { held: Held[]; fused: Float32Array; lease: Lease }>();

  /**
   * `pools`: the main thread's buffer pools, so each track's buffers are owned ones (pool
   * "fusion", one lease per track) that `lfr audit buffers` counts and checks.
   */
  constructor(
    private readonly dim: number,
    private readonly s: FusionSettings = DEFAULT_FUSION,
    private readonly pools: BufferPools = new BufferPools('main'),
  ) {}

  /** Tracks currently holding embeddings (for tests and metrics). */
  get size(): number {
    return this.tracks.size;
  }

  /**
   * Cosine similarity of a look with the (unweighted, normalised) mean of the track's held looks;
   * null when the track holds none yet.
   */
  similarity(trackId: number, embedding: Float32Array): number | null {
    const t = this.tracks.get(trackId);
    if (!t || t.held.length === 0) return null;
    let dot = 0;
    let n = 0;
    for (let i = 0; i < this.dim; i++) {
      let m = 0;
      for (const h of t.held) m += h.embedding[i]!;
      dot += m * embedding[i]!;
      n += m * m;
    }
    let e = 0;
    for (let i = 0; i < this.dim; i++) e += embedding[i]! * embedding[i]!;
    return n > 0 && e > 0 ? dot / Math.sqrt(n * e) : 0;
  }

  /** Does this look agree with the track's looks (or has the track none yet)? */
  agrees(trackId: number, embedding: Float32Array): boolean {
    const sim = this.similarity(trackId, embedding);
    return sim === null || sim >= this.s.minSimilarity;
  }

  /**
   * Add one look of a track (copied) and return the track's fused template: the mean of its best
   * `keep` looks and this one, weighted by quality, L2-normalised. The caller checks agrees()
   * first: a disagreeing look belongs on another track. The returned array belongs to this class
   * and is overwritten by the next add() for the track: search with it, do not keep it.
   */
  add(trackId: number, embedding: Float32Array, quality: number): Float32Array {
    if (embedding.length !== this.dim) throw new RangeError(`embedding has ${embedding.length} values, expected ${this.dim}`);
    let t = this.tracks.get(trackId);
    if (!t) {
      const lease = this.pools.lease();
      this.tracks.set(trackId, (t = { held: [], fused: lease.f32('fusion', this.dim), lease }));
    }
    const w = quality > 0 ? quality : 1e-6;
    let kept = true;
    if (t.held.length < this.s.keep) {
      const copy = t.lease.f32('fusion', this.dim);
      copy.set(embedding);
      t.held.push({ quality: w, embedding: copy });
    } else {
      // Replace the weakest look if this one is better; else it only counts in this search.
      let weakest = 0;
      for (let i = 1; i < t.held.length; i++) if (t.held[i]!.quality < t.held[weakest]!.quality) weakest = i;
      if (w > t.held[weakest]!.quality) {
        t.held[weakest]!.embedding.set(embedding);
        t.held[weakest]!.quality = w;
      } else kept = false;
    }
    const f = t.fused;
    f.fill(0);
    for (const h of t.held) for (let i = 0; i < this.dim; i++) f[i]! += h.quality * h.embedding[i]!;
    // The face this search may alert on is always part of it.
    if (!kept) for (let i = 0; i < this.dim; i++) f[i]! += w * embedding[i]!;
    let n = 0;
    for (let i = 0; i < this.dim; i++) n += f[i]! * f[i]!;
    const inv = n > 0 ? 1 / Math.sqrt(n) : 0;
    for (let i = 0; i < this.dim; i++) f[i]! *= inv;
    return f;
  }

  /** The track ended: wipe and forget its looks (its lease zeroes every buffer of the track). */
  end(trackId: number): void {
    const t = this.tracks.get(trackId);
    if (!t) return;
    t.lease.release();
    this.tracks.delete(trackId);
  }

  /** Every track ended (camera stopped, analyser closed). */
  clear(): void {
    for (const id of [...this.tracks.keys()]) this.end(id);
  }

  /** TEST-ONLY: the buffers held for a track, to check they are wiped after end(). */
  buffersOf(trackId: number): Float32Array[] {
    const t = this.tracks.get(trackId);
    return t ? [...t.held.map((h) => h.embedding), t.fused] : [];
  }
}
