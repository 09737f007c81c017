// Top-k selection over a score row, and exact re-ranking of int8 candidates: the int8 GEMM picks
// a candidate pool, the float templates give the final scores, so a reported score is always
// the exact cosine and the threshold decision never depends on quantisation error.

export interface Hit {
  row: number;
  score: number;
}

/** The k highest scores of scores[off..off+rows) (descending), by a bounded insertion list. */
export function topK(scores: Float32Array, rows: number, k: number, off = 0): Hit[] {
  const best: Hit[] = [];
  let floor = -Infinity;
  for (let r = 0; r < rows; r++) {
    const s = scores[off + r]!;
    if (best.length === k && s <= floor) continue;
    let i = best.length;
    if (i === k) best.pop();
    i = best.length;
    while (i > 0 && best[i - 1]!.score < s) i--;
    best.splice(i, 0, { row: r, score: s });
    if (best.length === k) floor = best[k - 1]!.score;
  }
  return best;
}

/** Re-score candidate rows exactly against the float matrix and keep the best k. */
export function rerank(candidates: readonly Hit[], probe: Float32Array, pOff: number, matrix: Float32Array, dim: number, k: number): Hit[] {
  const exact = candidates.map(({ row }) => {
    let s = 0;
    const base = row * dim;
    for (let j = 0; j < dim; j++) s += matrix[base + j]! * probe[pOff + j]!;
    return { row, score: s };
  });
  exact.sort((a, b) => b.score - a.score);
  return exact.slice(0, k);
}

/**
 * Candidate pool for a final k: int8 per-row quantisation moves a cosine by at most ~1e-3
 * (measured max 9e-4 over 100k rows), so a few extra candidates catch every reordering.
 */
export const poolSize = (k: number): number => Math.max(2 * k, k + 8);
