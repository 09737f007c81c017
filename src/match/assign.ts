// Optimal one-to-one assignment (Hungarian / Kuhn-Munkres, O(n^3)) of rows to columns on a cost
// matrix, with forbidden pairs. The tracker uses it to pair tracks with a frame's faces: greedy
// best-first is what the tracker did before, and it is wrong exactly when faces are close (two
// people crossing, a queue): it can hand the best-overlapping face to one track and leave the
// other track a worse face it would not have chosen. SORT, DeepSORT and ByteTrack all solve this
// step as a linear assignment. A frame holds a handful of faces, so O(n^3) costs microseconds.

/** Cost of a forbidden pair (outside the gates): never chosen. */
export const FORBIDDEN = Number.POSITIVE_INFINITY;

/**
 * rowToCol[r] = the column assigned to row r, or -1. Only allowed (finite-cost) pairs are
 * returned; among assignments, the one with the most allowed pairs, then the least total cost.
 */
export function assign(cost: readonly (readonly number[])[]): number[] {
  const rows = cost.length;
  const cols = rows === 0 ? 0 : cost[0]!.length;
  const out = new Array<number>(rows).fill(-1);
  if (rows === 0 || cols === 0) return out;
  // Square matrix; a forbidden or padding cell costs BIG (more than any set of allowed pairs),
  // so the optimum first maximises the number of allowed pairs.
  const n = Math.max(rows, cols);
  let maxFinite = 0;
  for (const r of cost) for (const c of r) if (Number.isFinite(c)) maxFinite = Math.max(maxFinite, Math.abs(c));
  const BIG = (maxFinite + 1) * (n + 1);
  const a = (r: number, c: number): number => {
    const v = r < rows && c < cols ? cost[r]![c]! : FORBIDDEN;
    return Number.isFinite(v) ? v : BIG;
  };
  // Potentials-based Hungarian (1-indexed, the classic e-maxx formulation).
  const u = new Array<number>(n + 1).fill(0);
  const v = new Array<number>(n + 1).fill(0);
  const p = new Array<number>(n + 1).fill(0);
  const way = new Array<number>(n + 1).fill(0);
  for (let i = 1; i <= n; i++) {
    p[0] = i;
    let j0 = 0;
    const minv = new Array<number>(n + 1).fill(Infinity);
    const used = new Array<boolean>(n + 1).fill(false);
    do {
      used[j0] = true;
      const i0 = p[j0]!;
      let delta = Infinity;
      let j1 = 0;
      for (let j = 1; j <= n; j++) {
        if (used[j]) continue;
        const cur = a(i0 - 1, j - 1) - u[i0]! - v[j]!;
        if (cur < minv[j]!) {
          minv[j] = cur;
          way[j] = j0;
        }
        if (minv[j]! < delta) {
          delta = minv[j]!;
          j1 = j;
        }
      }
      for (let j = 0; j <= n; j++) {
        if (used[j]) {
          u[p[j]!]! += delta;
          v[j]! -= delta;
        } else minv[j]! -= delta;
      }
      j0 = j1;
    } while (p[j0] !== 0);
    do {
      const j1 = way[j0]!;
      p[j0] = p[j1]!;
      j0 = j1;
    } while (j0 !== 0);
  }
  for (let j = 1; j <= n; j++) {
    const r = p[j]! - 1;
    const c = j - 1;
    if (r >= 0 && r < rows && c < cols && Number.isFinite(cost[r]![c]!)) out[r] = c;
  }
  return out;
}
