// Pure maths of the evaluation protocols, tested on synthetic scores (test/unit/eval-protocol).
// 1:1 (LFW): the standard 10-fold protocol: for each fold, the threshold that maximises accuracy
// on the other 9 folds is applied to it; the figure is the mean over folds. TAR@FAR on all pairs.
// 1:N (NPL / NIST FRVT style): FPIR = share of non-mated searches whose best score reaches the
// threshold; FNIR = share of mated searches where the mate is not the rank-1 candidate at or above
// the threshold (a failure to find or process the face counts as a miss).
//
// Decisions everywhere are `score >= threshold`, the rule the live matcher uses (match.threshold).
// Thresholds chosen from data are put midway between two neighbouring observed scores, so the
// reported error rates hold whether a reader applies >= or >.

export interface ScoredPair {
  score: number;
  same: boolean;
  fold: number;
}

export const mean = (v: readonly number[]): number => (v.length === 0 ? NaN : v.reduce((a, b) => a + b, 0) / v.length);

/** Sample standard deviation (n - 1), as the LFW protocol defines sigma over the 10 folds. */
export function sampleStd(v: readonly number[]): number {
  if (v.length < 2) return 0;
  const m = mean(v);
  return Math.sqrt(v.reduce((a, x) => a + (x - m) ** 2, 0) / (v.length - 1));
}

/** Share of pairs decided correctly at `threshold` (same iff score >= threshold). */
export function accuracyAt(pairs: readonly ScoredPair[], threshold: number): number {
  if (pairs.length === 0) return NaN;
  let ok = 0;
  for (const p of pairs) if (p.score >= threshold === p.same) ok++;
  return ok / pairs.length;
}

/**
 * The threshold that maximises accuracy on `pairs`: a sweep over the sorted scores, O(n log n).
 * Candidates are midpoints between neighbouring distinct scores (plus one below the lowest and
 * one above the highest). Ties in accuracy go to the lowest such threshold's midpoint of the best
 * plateau, which keeps the choice stable when folds are easy.
 */
export function bestThreshold(pairs: readonly ScoredPair[]): { threshold: number; accuracy: number } {
  if (pairs.length === 0) throw new RangeError('bestThreshold needs at least one pair');
  const s = [...pairs].sort((a, b) => a.score - b.score);
  // Threshold below everything: every pair is "same"; correct = number of same pairs.
  let correct = s.filter((p) => p.same).length;
  let best = correct;
  let bestLo = -Infinity;
  let bestHi = s[0]!.score;
  let i = 0;
  while (i < s.length) {
    // Move the threshold above all pairs with this score value.
    const v = s[i]!.score;
    while (i < s.length && s[i]!.score === v) {
      correct += s[i]!.same ? -1 : 1;
      i++;
    }
    const hi = i < s.length ? s[i]!.score : Infinity;
    if (correct > best) {
      best = correct;
      bestLo = v;
      bestHi = hi;
    }
  }
  let threshold: number;
  if (bestLo === -Infinity) threshold = bestHi - 1e-6;
  else if (bestHi === Infinity) threshold = bestLo + 1e-6;
  else threshold = (bestLo + bestHi) / 2;
  return { threshold, accuracy: best / s.length };
}

export interface FoldResult {
  fold: number;
  threshold: number;
  accuracy: number;
  pairs: number;
}

export interface TenFoldResult {
  folds: FoldResult[];
  accuracy: number;
  /** Sample std of the fold accuracies. */
  accuracyStd: number;
  /** accuracyStd / sqrt(folds), the LFW "standard error of the mean". */
  standardError: number;
  meanThreshold: number;
}

/** k-fold: threshold picked on the other folds, accuracy measured on the held-out one. */
export function kFold(pairs: readonly ScoredPair[]): TenFoldResult {
  const foldIds = [...new Set(pairs.map((p) => p.fold))].sort((a, b) => a - b);
  if (foldIds.length < 2) throw new RangeError('k-fold evaluation needs at least 2 folds');
  const folds: FoldResult[] = [];
  for (const f of foldIds) {
    const train = pairs.filter((p) => p.fold !== f);
    const test = pairs.filter((p) => p.fold === f);
    const { threshold } = bestThreshold(train);
    folds.push({ fold: f, threshold, accuracy: accuracyAt(test, threshold), pairs: test.length });
  }
  const accs = folds.map((r) => r.accuracy);
  const std = sampleStd(accs);
  return { folds, accuracy: mean(accs), accuracyStd: std, standardError: std / Math.sqrt(folds.length), meanThreshold: mean(folds.map((r) => r.threshold)) };
}

export interface OperatingPoint {
  /** Target false rate asked for. */
  target: number;
  /** False rate actually reached on this data (<= target). */
  falseRate: number;
  threshold: number;
  /** Share of impostor/non-mated scores at or above the threshold, as a count. */
  falseCount: number;
}

/**
 * Lowest threshold whose false-accept rate over `negatives` stays <= `target`: at most
 * k = floor(target * n) negatives may reach it. The threshold is put midway between the k-th and
 * (k+1)-th highest negative score. Returns undefined when n is 0.
 */
export function thresholdAtFalseRate(negatives: readonly number[], target: number): OperatingPoint | undefined {
  const n = negatives.length;
  if (n === 0) return undefined;
  const desc = [...negatives].sort((a, b) => b - a);
  let k = Math.floor(target * n + 1e-9);
  if (k >= n) k = n - 1;
  // Ties straddling the cut would let more than k through: step k down past them.
  while (k > 0 && desc[k - 1] === desc[k]) k--;
  const above = desc[k]!;
  const threshold = k === 0 ? above + 1e-6 : (desc[k - 1]! + above) / 2;
  return { target, falseRate: k / n, threshold, falseCount: k };
}

/** Share of `scores` at or above `threshold`. */
export function rateAtOrAbove(scores: readonly number[], threshold: number): number {
  if (scores.length === 0) return NaN;
  let c = 0;
  for (const s of scores) if (s >= threshold) c++;
  return c / scores.length;
}

/** TAR at a FAR: threshold from impostor scores, TAR = share of genuine scores at or above it. */
export function tarAtFar(genuine: readonly number[], impostor: readonly number[], far: number): { tar: number; threshold: number; far: number } | undefined {
  const op = thresholdAtFalseRate(impostor, far);
  if (!op) return undefined;
  return { tar: rateAtOrAbove(genuine, op.threshold), threshold: op.threshold, far: op.falseRate };
}

/** One 1:N search result reduced to what the NPL metrics need. */
export interface MatedSearch {
  /** Score of the probe against its own mate's template; -Infinity when the mate is absent. */
  mateScore: number;
  /** Best score among the other (non-mate) templates; -Infinity when there are none. */
  bestNonMateScore: number;
  /** True when the probe image could not be processed (no face): always a miss. */
  failed: boolean;
}

/** A mated search is a hit at T when the mate ranks first and scores >= T. */
export function matedHit(m: MatedSearch, threshold: number): boolean {
  return !m.failed && m.mateScore >= threshold && m.mateScore > m.bestNonMateScore;
}

export function fnirAt(mated: readonly MatedSearch[], threshold: number): number {
  if (mated.length === 0) return NaN;
  let miss = 0;
  for (const m of mated) if (!matedHit(m, threshold)) miss++;
  return miss / mated.length;
}

export interface IdentificationPoint {
  fpir: number;
  threshold: number;
  fnir: number;
  /** Non-mated searches that alerted at this threshold. */
  falseAlerts: number;
}

/**
 * FNIR at the thresholds where FPIR (over the best score of each non-mated search) is <= each
 * target, plus the lowest FPIR measurable (0 false alerts: the threshold just above the highest
 * non-mated score). Duplicates (a target too small for the data) are dropped.
 */
export function identificationPoints(mated: readonly MatedSearch[], nonMatedBest: readonly number[], targets: readonly number[]): IdentificationPoint[] {
  const out: IdentificationPoint[] = [];
  const seen = new Set<number>();
  for (const t of [...targets, 0]) {
    const op = thresholdAtFalseRate(nonMatedBest, t);
    if (!op || seen.has(op.threshold)) continue;
    seen.add(op.threshold);
    out.push({ fpir: op.falseRate, threshold: op.threshold, fnir: fnirAt(mated, op.threshold), falseAlerts: op.falseCount });
  }
  return out;
}

/**
 * The track appearance gate's calibration (issue 19): for each candidate similarity, the share of
 * mated pairs BELOW it (same person split into two tracks: harmless, each is searched alone) and
 * of non-mated pairs AT OR ABOVE it (two people's looks fused: what the gate must prevent).
 */
export interface GatePoint {
  similarity: number;
  matedBelow: number;
  nonMatedAtOrAbove: number;
}

export function gatePoints(genuine: readonly number[], impostor: readonly number[], candidates: readonly number[]): GatePoint[] {
  return candidates.map((s) => ({
    similarity: s,
    matedBelow: genuine.length === 0 ? NaN : genuine.filter((g) => g < s).length / genuine.length,
    nonMatedAtOrAbove: rateAtOrAbove(impostor, s),
  }));
}
