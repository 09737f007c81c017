// THE top-k selection of the product: the k best rows of a score row, optionally at most one row
// per group (a watchlist subject with several templates appears once, with its best score). Used
// by the Gallery (JS scores and the ONNX Runtime GEMM's) and by the GEMM backend's exact re-rank.

export interface Hit {
  row: number;
  score: number;
}

/**
 * The k highest scores of scores[off..off+rows), descending, by a bounded insertion list (k is
 * small: config match.topK <= 20). With `group`, rows sharing group[row] count once, by their best.
 */
export function topK(scores: Float32Array, rows: number, k: number, off = 0, group?: Int32Array): Hit[] {
  const best: Hit[] = [];
  if (k <= 0) return best;
  let floor = -Infinity;
  for (let r = 0; r < rows; r++) {
    const s = scores[off + r]!;
    if (best.length === k && s <= floor) continue;
    if (group) {
      const g = group[r]!;
      const at = best.findIndex((h) => group[h.row] === g);
      if (at >= 0) {
        if (s <= best[at]!.score) continue;
        best.splice(at, 1);
      }
    }
    let i = best.length;
    while (i > 0 && best[i - 1]!.score < s) i--;
    best.splice(i, 0, { row: r, score: s });
    if (best.length > k) best.pop();
    if (best.length === k) floor = best[k - 1]!.score;
  }
  return best;
}
