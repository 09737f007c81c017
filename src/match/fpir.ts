// The match threshold from the false-alert rate a force accepts. A passer-by who is not on the
// watchlist raises a (false) alert when their face scores at or above the threshold against ANY
// of the N templates; with a per-comparison false-match rate p(t) (the embedder's impostor score
// tail, measured once on LFW by `lfr eval calibrate` and shipped beside the model), the
// false-positive identification rate of one search is
//     FPIR(N, t) = 1 - (1 - p(t))^N  (~ N p(t) while small),
// so a target FPIR f for a watchlist of N templates needs p(t) <= 1 - (1 - f)^(1/N), and the
// threshold is the lowest t whose measured p(t) is that small. Pure, apart from loading the file.
//
// Where the estimate is weak (docs/accuracy.md): templates are treated as independent chances
// (several photos of one person are not: that overstates FPIR, i.e. errs safe); the tail is LFW
// celebrities against LFW celebrities, not a van's street against a force's custody photos; and
// above the calibration's `model.fitTo` (0.50 for the shipped embedder) the rate is the log-linear
// fit of the tail below it, not a count: LFW's own label errors (one person filed under two
// names, identical photos) dominate the counted comparisons there (at 0.60: 65 counted, 17
// expected from the fit; the top 25 are all such pairs). Thresholds derived there are flagged
// "extrapolated"; the validation in the file shows how they held on LFW.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import type { ModelEntry } from '../vision/manifest.js';

/**
 * What a figure shipped beside a model was measured FOR (the calibration here, the equitability
 * statement in equitability.ts): the embedder's bytes, mirror averaging and the pipeline before it.
 * Scores of other bytes or another pipeline differ, so such a file is refused or not quoted.
 */
export const measuredForShape = {
  embedder: z.string().min(1),
  embedderSha256: z.string().regex(/^[0-9a-f]{64}$/),
  mirrorAugment: z.boolean(),
  pipeline: z.object({ detector: z.string(), landmarker: z.string() }).strict(),
};

export const calibrationSchema = z
  .object({
    schema: z.literal(1),
    ...measuredForShape,
    dataset: z.string(),
    command: z.string(),
    images: z.number().int().positive(),
    identities: z.number().int().positive(),
    comparisons: z.number().int().positive(),
    /** [threshold, impostor comparisons at or above it], thresholds ascending. */
    tail: z.array(z.tuple([z.number(), z.number().int().nonnegative()])).min(2),
    /** log(count at or above t) = intercept + slope * t, fitted on [fitFrom, fitTo]; used above fitTo. */
    model: z.object({ fitFrom: z.number(), fitTo: z.number(), slope: z.number().negative(), intercept: z.number() }).strict().optional(),
    validation: z
      .array(z.object({ templates: z.number().int(), probes: z.number().int(), targetFpir: z.number(), threshold: z.number(), predictedFpir: z.number(), measuredFpir: z.number(), falseAlerts: z.number().int() }).strict())
      .default([]),
  })
  .strict();

export type ImpostorCalibration = z.infer<typeof calibrationSchema>;

/** A calibration that cannot be used: missing, malformed, or made for other model bytes. */
export class CalibrationError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CalibrationError';
  }
}

/** Read and check the calibration named by an embedder's manifest entry. */
export async function loadCalibration(modelsDir: string, entry: ModelEntry, mirrorAugment: boolean): Promise<ImpostorCalibration> {
  const cal = await readCalibration(modelsDir, entry);
  if (cal.mirrorAugment !== mirrorAugment) {
    throw new CalibrationError(`calibration ${path.join(modelsDir, entry.calibration!)} was measured with vision.mirrorAugment ${cal.mirrorAugment}, the config has ${mirrorAugment}: the scores differ, so its false-alert rates do not apply`);
  }
  return cal;
}

/** The calibration file checked against the entry's SHA-256 (any mirror setting). */
export async function readCalibration(modelsDir: string, entry: ModelEntry): Promise<ImpostorCalibration> {
  if (!entry.calibration) throw new CalibrationError(`embedder ${entry.id} has no impostor-score calibration in the model manifest: start the deployment with --threshold, or measure one with "lfr eval calibrate"`);
  const file = path.join(modelsDir, entry.calibration);
  let raw: unknown;
  try {
    raw = JSON.parse(await readFile(file, 'utf8'));
  } catch (err) {
    throw new CalibrationError(`cannot read the calibration ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  const parsed = calibrationSchema.safeParse(raw);
  if (!parsed.success) throw new CalibrationError(`calibration ${file} is malformed: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  const cal = parsed.data;
  if (cal.embedderSha256 !== entry.sha256) {
    throw new CalibrationError(`calibration ${file} was measured for embedder bytes ${cal.embedderSha256.slice(0, 16)}…, but the configured embedder ${entry.id} is ${entry.sha256.slice(0, 16)}…: its false-alert rates do not apply. Re-measure with "lfr eval calibrate" or start with --threshold`);
  }
  for (let i = 1; i < cal.tail.length; i++) {
    if (!(cal.tail[i]![0] > cal.tail[i - 1]![0]) || cal.tail[i]![1] > cal.tail[i - 1]![1]) throw new CalibrationError(`calibration ${file}: tail must have rising thresholds and falling counts`);
  }
  return cal;
}

export interface RateEstimate {
  /** Per-comparison impostor rate at the threshold. */
  rate: number;
  /** Impostor scores behind the estimate (0: extrapolated past the last one). */
  support: number;
  extrapolated: boolean;
}

/**
 * Per-comparison false-match rate at `threshold`: log-linear interpolation between tail points;
 * past the last point with a count, the log-linear trend of the last measured decade.
 */
export function impostorRate(cal: ImpostorCalibration, threshold: number): RateEstimate {
  const n = cal.comparisons;
  const pts = cal.tail;
  if (cal.model && threshold > cal.model.fitTo) {
    return { rate: Math.exp(cal.model.intercept + cal.model.slope * threshold) / n, support: 0, extrapolated: true };
  }
  if (threshold <= pts[0]![0]) return { rate: pts[0]![1] / n, support: pts[0]![1], extrapolated: false };
  const lastCounted = pts.reduce((k, p, i) => (p[1] > 0 ? i : k), 0);
  if (threshold <= pts[lastCounted]![0]) {
    let i = 1;
    while (pts[i]![0] < threshold) i++;
    const [t0, c0] = pts[i - 1]!, [t1, c1] = pts[i]!;
    const f = (threshold - t0) / (t1 - t0);
    const c = c1 > 0 ? Math.exp(Math.log(c0) + f * (Math.log(c1) - Math.log(c0))) : c0;
    return { rate: c / n, support: c1, extrapolated: false };
  }
  // Extrapolate: slope of log(count) over the last decade of counts (>= 10x the last count).
  const [tl, cl] = pts[lastCounted]!;
  let j = lastCounted;
  while (j > 0 && pts[j]![1] < cl * 10) j--;
  const [tj, cj] = pts[j]!;
  const slope = tl > tj ? (Math.log(cl) - Math.log(cj)) / (tl - tj) : -50;
  return { rate: Math.exp(Math.log(cl) + slope * (threshold - tl)) / n, support: 0, extrapolated: true };
}

/** FPIR of one search against `templates` templates at `threshold`. */
export function fpirAt(cal: ImpostorCalibration, threshold: number, templates: number): RateEstimate & { fpir: number } {
  const r = impostorRate(cal, threshold);
  return { ...r, fpir: 1 - Math.pow(1 - r.rate, Math.max(1, templates)) };
}

export interface ThresholdChoice {
  targetFpir: number;
  templates: number;
  threshold: number;
  /** FPIR predicted at the chosen (rounded) threshold. */
  fpir: number;
  expectedFalseAlertsPer10k: number;
  /** Impostor scores at or above the threshold in the calibration (0 = extrapolated). */
  support: number;
  extrapolated: boolean;
}

/** Thresholds are searched on this grid (and recorded rounded to it). */
const STEP = 0.0025;

/** The lowest threshold (on a 0.0025 grid) whose predicted FPIR is at most `targetFpir`. */
export function thresholdForFpir(cal: ImpostorCalibration, targetFpir: number, templates: number): ThresholdChoice {
  if (!(targetFpir > 0 && targetFpir < 1)) throw new CalibrationError(`target FPIR must be between 0 and 1, not ${targetFpir}`);
  if (!(templates >= 1)) throw new CalibrationError('the watchlist has no templates');
  for (let t = Math.round(cal.tail[0]![0] / STEP) * STEP; t < 1; t += STEP) {
    const threshold = Number(t.toFixed(4));
    const e = fpirAt(cal, threshold, templates);
    if (e.fpir <= targetFpir) {
      return { targetFpir, templates, threshold, fpir: e.fpir, expectedFalseAlertsPer10k: e.fpir * 10_000, support: e.support, extrapolated: e.extrapolated };
    }
  }
  throw new CalibrationError(`no threshold below 1 reaches FPIR ${targetFpir} with ${templates} templates`);
}

/** Plain words for the deployment start and the log. */
export function describeChoice(c: Pick<ThresholdChoice, 'threshold' | 'templates' | 'expectedFalseAlertsPer10k' | 'support' | 'extrapolated'> & { targetFpir?: number | null }): string {
  const per10k = c.expectedFalseAlertsPer10k;
  const rate = per10k >= 0.1 ? per10k.toFixed(1) : per10k.toPrecision(1);
  const basis = c.extrapolated
    ? 'from the fitted impostor tail, beyond the counted scores: a model estimate, see docs/accuracy.md'
    : c.support < 10
      ? `rests on only ${c.support} impostor score(s) in the calibration: a rough estimate`
      : `from ${c.support} impostor scores in the calibration`;
  return `${c.targetFpir ? `target FPIR ${c.targetFpir} -> ` : ''}threshold ${c.threshold} with ${c.templates} templates: about ${rate} false alerts per 10,000 faces of passers-by (${basis})`;
}
