// `lfr eval calibrate`: measure the embedder's impostor score tail once, for the threshold-from-
// FPIR rule (src/match/fpir.ts). Every image of a data set laid out like LFW is embedded with the
// configured pipeline; every pair of images of DIFFERENT identities is an impostor comparison
// (LFW: ~87 million), and the tail records how many of them score at or above each threshold.
// The same data then checks the rule: galleries of several sizes drawn from the NPL-style split
// (first image of each identity with >= 2 images), searched by the single-image identities
// (non-mated probes), measured FPIR against the FPIR the tail predicts at the derived threshold.
import { mulberry32 } from '../../util/prng.js';
import { thresholdForFpir, fpirAt, type ImpostorCalibration } from '../../match/fpir.js';

export interface LabelledEmbedding {
  identity: string;
  embedding: Float32Array;
}

/** Tail thresholds: 0.20 .. 0.90 by 0.01 (the useful range of cosine thresholds). */
export const TAIL_GRID: number[] = Array.from({ length: 71 }, (_, i) => Number((0.2 + i * 0.01).toFixed(2)));

/**
 * Impostor comparisons (pairs of different identities) at or above each grid threshold. The
 * pairs are counted once each; O(n^2 d), about a minute for LFW's 13k images on one core.
 */
export function impostorTail(items: readonly LabelledEmbedding[], grid: readonly number[] = TAIL_GRID): { comparisons: number; tail: [number, number][] } {
  const n = items.length;
  if (n < 2) throw new RangeError('the tail needs at least two images');
  const dim = items[0]!.embedding.length;
  const m = new Float32Array(n * dim);
  const id = new Int32Array(n);
  const ids = new Map<string, number>();
  items.forEach((it, i) => {
    m.set(it.embedding, i * dim);
    let k = ids.get(it.identity);
    if (k === undefined) ids.set(it.identity, (k = ids.size));
    id[i] = k;
  });
  // Histogram of scores in 0.001 bins from the lowest grid value; cumulated onto the grid after.
  const lo = grid[0]!, bins = Math.ceil((1 - lo) / 0.001) + 1;
  const hist = new Float64Array(bins);
  let comparisons = 0;
  for (let i = 0; i < n; i++) {
    const oi = i * dim;
    for (let j = i + 1; j < n; j++) {
      if (id[i] === id[j]) continue;
      comparisons++;
      const oj = j * dim;
      let s0 = 0, s1 = 0, s2 = 0, s3 = 0;
      for (let k = 0; k < dim; k += 4) {
        s0 += m[oi + k]! * m[oj + k]!;
        s1 += m[oi + k + 1]! * m[oj + k + 1]!;
        s2 += m[oi + k + 2]! * m[oj + k + 2]!;
        s3 += m[oi + k + 3]! * m[oj + k + 3]!;
      }
      const s = s0 + s1 + s2 + s3;
      if (s >= lo) hist[Math.min(bins - 1, Math.floor((s - lo) / 0.001 + 1e-9))]! += 1;
    }
  }
  m.fill(0);
  // Count at or above each grid threshold: cumulative from the top.
  const cum = new Float64Array(bins + 1);
  for (let b = bins - 1; b >= 0; b--) cum[b] = cum[b + 1]! + hist[b]!;
  const tail = grid.map((t) => [t, cum[Math.max(0, Math.round((t - lo) / 0.001))]!] as [number, number]);
  return { comparisons, tail };
}

/**
 * Least-squares fit of log(count) against threshold over [from, to] (points with a count > 0):
 * the model of the tail above `to`, where a data set's label errors outnumber true impostors.
 */
export function fitTail(tail: readonly [number, number][], from: number, to: number): { fitFrom: number; fitTo: number; slope: number; intercept: number } {
  const pts = tail.filter(([t, c]) => t >= from - 1e-9 && t <= to + 1e-9 && c > 0);
  if (pts.length < 3) throw new RangeError(`the tail has fewer than 3 counted points in [${from}, ${to}]`);
  const mx = pts.reduce((a, [t]) => a + t, 0) / pts.length;
  const my = pts.reduce((a, [, c]) => a + Math.log(c), 0) / pts.length;
  let sxy = 0, sxx = 0;
  for (const [t, c] of pts) {
    sxy += (t - mx) * (Math.log(c) - my);
    sxx += (t - mx) * (t - mx);
  }
  const slope = sxy / sxx;
  return { fitFrom: from, fitTo: to, slope: Number(slope.toFixed(4)), intercept: Number((my - slope * mx).toFixed(4)) };
}

/**
 * Where the model takes over from the counts (see fpir.ts): up to 0.50 LFW's impostor counts are
 * in the hundreds or more, so its few dozen mislabelled pairs change them by under ~10 %.
 */
export const TAIL_FIT = { from: 0.4, to: 0.5 };

export interface ValidationInput {
  /** Gallery references (one per enrolled identity). */
  gallery: readonly Float32Array[];
  /** Non-mated probes (identities not in the gallery). */
  probes: readonly Float32Array[];
}

/**
 * Predicted vs measured FPIR at the derived threshold, for random galleries of several sizes
 * (seeded, so the file is reproducible) and each target FPIR.
 */
export function validateRule(cal: Pick<ImpostorCalibration, 'comparisons' | 'tail'> & ImpostorCalibration, v: ValidationInput, sizes: readonly number[], targets: readonly number[]): ImpostorCalibration['validation'] {
  const out: ImpostorCalibration['validation'] = [];
  const rand = mulberry32(0xf1e1d);
  for (const size of sizes) {
    if (size > v.gallery.length) continue;
    // Partial Fisher-Yates: a random subset of `size` references.
    const idx = v.gallery.map((_, i) => i);
    for (let i = 0; i < size; i++) {
      const j = i + Math.floor(rand() * (idx.length - i));
      [idx[i], idx[j]] = [idx[j]!, idx[i]!];
    }
    const g = idx.slice(0, size).map((i) => v.gallery[i]!);
    const best = v.probes.map((p) => {
      let b = -Infinity;
      for (const r of g) {
        let s = 0;
        for (let k = 0; k < r.length; k++) s += r[k]! * p[k]!;
        if (s > b) b = s;
      }
      return b;
    });
    for (const target of targets) {
      const c = thresholdForFpir(cal, target, size);
      const falseAlerts = best.filter((b) => b >= c.threshold).length;
      out.push({ templates: size, probes: best.length, targetFpir: target, threshold: c.threshold, predictedFpir: Number(fpirAt(cal, c.threshold, size).fpir.toPrecision(3)), measuredFpir: Number((falseAlerts / best.length).toPrecision(3)), falseAlerts });
    }
  }
  return out;
}
