// 1:1 comparison for the tablet's photo check (issue 25): one photo against ONE subject's
// templates, never a search. Its threshold is not the 1:N alert threshold (match.threshold, set
// for a search of every template): it is read from a small calibration shipped beside the
// embedder (models/<embedder>.one-to-one.json, made by `lfr eval one-to-one` on LFW), at the
// false-match rate the van's config names. Pure apart from loading that file.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import type { ModelEntry } from '../vision/manifest.js';

const pointSchema = z
  .object({
    fmr: z.number().positive().lt(1),
    threshold: z.number().min(-1).max(1),
    predictedFmr: z.number().nonnegative(),
    support: z.number().int().nonnegative(),
    extrapolated: z.boolean(),
    tar: z.number().min(0).max(1),
    genuineAccepted: z.number().int().nonnegative(),
    lfwImpostorPairsAccepted: z.number().int().nonnegative(),
  })
  .strict();

export const oneToOneSchema = z
  .object({
    schema: z.literal(1),
    kind: z.literal('one-to-one'),
    embedder: z.string().min(1),
    embedderSha256: z.string().regex(/^[0-9a-f]{64}$/),
    mirrorAugment: z.boolean(),
    pipeline: z.object({ detector: z.string(), landmarker: z.string() }).strict(),
    impostorCalibration: z.string(),
    impostorComparisons: z.number().int().positive(),
    dataset: z.string(),
    command: z.string(),
    genuinePairs: z.number().int().positive(),
    impostorPairs: z.number().int().positive(),
    pairsWithFailure: z.number().int().nonnegative(),
    points: z.array(pointSchema).min(1),
  })
  .strict();

export type OneToOneCalibration = z.infer<typeof oneToOneSchema>;
export type OneToOnePoint = z.infer<typeof pointSchema>;

export class OneToOneError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'OneToOneError';
  }
}

/** File name of the 1:1 calibration of an embedder: beside its impostor calibration. */
export function oneToOneFile(modelsDir: string, entry: Pick<ModelEntry, 'id'>): string {
  return path.join(modelsDir, `${entry.id}.one-to-one.json`);
}

/**
 * The shipped point for `fmr`, checked against the configured embedder's bytes and mirror
 * setting (scores of other bytes or settings differ, so the threshold would not hold).
 */
export async function loadOneToOne(modelsDir: string, entry: Pick<ModelEntry, 'id' | 'sha256'>, mirrorAugment: boolean, fmr: number): Promise<{ point: OneToOnePoint; file: string }> {
  const file = oneToOneFile(modelsDir, entry);
  let raw: unknown;
  try {
    raw = JSON.parse(await readFile(file, 'utf8'));
  } catch (err) {
    throw new OneToOneError(`cannot read the 1:1 calibration ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message} (measure it with "lfr eval one-to-one")`);
  }
  const parsed = oneToOneSchema.safeParse(raw);
  if (!parsed.success) throw new OneToOneError(`1:1 calibration ${file} is malformed: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  const cal = parsed.data;
  if (cal.embedderSha256 !== entry.sha256) throw new OneToOneError(`1:1 calibration ${file} was measured for other embedder bytes (${cal.embedderSha256.slice(0, 16)}…): re-measure with "lfr eval one-to-one"`);
  if (cal.mirrorAugment !== mirrorAugment) throw new OneToOneError(`1:1 calibration ${file} was measured with vision.mirrorAugment ${cal.mirrorAugment}, the config has ${mirrorAugment}`);
  const point = cal.points.find((p) => Math.abs(p.fmr - fmr) <= fmr * 1e-6);
  if (!point) throw new OneToOneError(`1:1 calibration ${file} has no point for false-match rate ${fmr} (it has ${cal.points.map((p) => p.fmr).join(', ')})`);
  return { point, file };
}

export type CheckVerdict = 'same_person_likely' | 'not_supported' | 'photo_unusable';

/** The words the tablet shows (and the audit records as the outcome code). */
export const VERDICT_TEXT: Record<CheckVerdict, string> = {
  same_person_likely: 'same person likely',
  not_supported: 'not supported',
  photo_unusable: 'photo unusable',
};

/**
 * Score against a threshold. At or above: "same person likely" (never "same person": a check
 * supports the officer's judgement, it does not replace it). Below: "not supported", which says
 * the photo does not back the alert, not that it is someone else.
 */
export function verdictOf(score: number, threshold: number): Exclude<CheckVerdict, 'photo_unusable'> {
  return score >= threshold ? 'same_person_likely' : 'not_supported';
}
