// Cohort score normalisation for the 1:N protocol (issue 22 item 2), as used in open-set
// identification and speaker verification: a raw cosine s between a probe p and a watchlist
// template g is re-expressed against how each of them scores against a fixed COHORT of faces that
// are on neither side:
//   T-norm  (s - mean_c(p)) / sd_c(p)   the probe's own impostor scores set its scale
//   Z-norm  (s - mean_c(g)) / sd_c(g)   the template's impostor scores (computable at enrolment)
//   ZT-norm the mean of the two.
// A probe that resembles many faces (a common look) gets its scores discounted, which is the
// lever this measures: whether a per-probe scale narrows the gap between groups without sorting
// anyone by group. Measurement only: the van's live path uses raw cosines (docs/accuracy.md says
// what this measured and why it is not shipped).
//
// The cohort comes from the dataset's own non-mated identities (a fixed hash bit of the name,
// independent of the calibration half), so no face is both in the cohort and a probe.

export type NormMode = 'none' | 't' | 'z' | 'zt';
export const NORM_MODES: readonly NormMode[] = ['none', 't', 'z', 'zt'];

/** FNV-1a of a name, bit 1: which non-mated identities form the cohort (bit 0 is the calibration half). */
export function cohortMember(identity: string): boolean {
  let h = 0x811c9dc5;
  for (let i = 0; i < identity.length; i++) {
    h ^= identity.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return ((h >>> 1) & 1) === 0;
}

export interface ScoreStats {
  mean: number;
  sd: number;
}

/** Mean and standard deviation of v's cosines against every row of the cohort matrix. */
export function cohortStats(cohort: Float32Array, rows: number, dim: number, v: Float32Array): ScoreStats {
  if (rows < 2) throw new RangeError('a cohort needs at least 2 faces');
  let sum = 0;
  let sq = 0;
  for (let r = 0; r < rows; r++) {
    let s = 0;
    const o = r * dim;
    for (let i = 0; i < dim; i++) s += cohort[o + i]! * v[i]!;
    sum += s;
    sq += s * s;
  }
  const mean = sum / rows;
  // A degenerate cohort (all scores equal) must not divide by zero: floor the spread.
  return { mean, sd: Math.max(1e-6, Math.sqrt(Math.max(0, sq / rows - mean * mean))) };
}

/** A raw score on the chosen scale. */
export function normalise(mode: NormMode, s: number, probe: ScoreStats | null, template: ScoreStats | null): number {
  switch (mode) {
    case 'none':
      return s;
    case 't':
      return (s - probe!.mean) / probe!.sd;
    case 'z':
      return (s - template!.mean) / template!.sd;
    case 'zt':
      return ((s - probe!.mean) / probe!.sd + (s - template!.mean) / template!.sd) / 2;
  }
}
