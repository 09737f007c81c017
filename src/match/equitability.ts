// The model pack's equitability statement (issue 22 item 4): missed matches (FNIR) and false
// alerts (FPIR) per demographic group of probe, measured ONCE at the station by
// `lfr eval equitability --statement-out` for exactly these model bytes and this pipeline, and
// shipped beside the embedder as `<embedder>.equitability.json` (named by the manifest entry's
// `equitability` field). The van never recomputes it (it has no labelled data and must not
// guess anyone's sex); it reads the row measured at the deployment's threshold, or the nearest one,
// and the deployment records it so the published report says what the models are known to do,
// with every rate beside its count and its 95 % interval.
//
// A statement that does not belong to the models the van runs (other bytes, another detector or
// landmarker, mirror averaging on or off) is NOT shown as if it did: the record says why there is
// no statement instead.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import type { ModelEntry } from '../vision/manifest.js';
import { measuredForShape } from './fpir.js';

const interval = z.tuple([z.number().min(0).max(1), z.number().min(0).max(1)]);

const groupSchema = z
  .object({
    name: z.string().regex(/^[A-Za-z0-9_-]{1,32}$/),
    mated: z.number().int().nonnegative(),
    misses: z.number().int().nonnegative(),
    /** null: fewer mated probes than the protocol's minimum ("too few to measure"). */
    fnir: z.number().min(0).max(1).nullable(),
    fnirCi: interval.nullable(),
    nonMated: z.number().int().nonnegative(),
    falseAlerts: z.number().int().nonnegative(),
    fpir: z.number().min(0).max(1).nullable(),
    fpirCi: interval.nullable(),
  })
  .strict();

const rowSchema = z
  .object({
    threshold: z.number(),
    groups: z.array(groupSchema).min(1),
    fnirRatio: z.number().positive().nullable(),
    fpirRatio: z.number().positive().nullable(),
  })
  .strict();

export const statementSchema = z
  .object({
    schema: z.literal(1),
    ...measuredForShape,
    /** Which data, which labels, what protocol: in words a force can quote. */
    dataset: z.string().min(1),
    labels: z.string().min(1),
    protocol: z.string().min(1),
    command: z.string().min(1),
    measuredOn: z.string().regex(/^\d{4}-\d{2}-\d{2}$/),
    gallery: z.number().int().positive(),
    /** What the figures cannot say (dataset make-up, missing groups ...). */
    limits: z.string().min(1),
    /** One row per measured threshold, ascending. */
    rows: z.array(rowSchema).min(1),
  })
  .strict()
  .refine((s) => s.rows.every((r, i) => i === 0 || r.threshold > s.rows[i - 1]!.threshold), 'rows must have rising thresholds');

export type EquitabilityStatement = z.infer<typeof statementSchema>;
export type StatementGroup = z.infer<typeof groupSchema>;

/** What a deployment records: the statement at its threshold, or why there is none. */
export type EquitabilityRecord =
  | {
      available: true;
      embedder: string;
      embedderSha256: string;
      detector: string;
      landmarker: string;
      dataset: string;
      labels: string;
      protocol: string;
      measuredOn: string;
      gallery: number;
      limits: string;
      /** The deployment's threshold and the threshold of the row shown (the nearest measured). */
      threshold: number;
      measuredAtThreshold: number;
      groups: StatementGroup[];
      fnirRatio: number | null;
      fpirRatio: number | null;
    }
  | { available: false; reason: string };

/** How far the nearest measured threshold may be from the deployment's and still be shown. */
export const MAX_THRESHOLD_GAP = 0.0051;

export class StatementError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'StatementError';
  }
}

/** Read and check the statement named by an embedder's manifest entry. */
export async function readStatement(modelsDir: string, entry: ModelEntry): Promise<EquitabilityStatement> {
  if (!entry.equitability) throw new StatementError(`the model pack has no equitability statement for embedder ${entry.id} (measure one with "lfr eval equitability --statement-out")`);
  const file = path.join(modelsDir, entry.equitability);
  let raw: unknown;
  try {
    raw = JSON.parse(await readFile(file, 'utf8'));
  } catch (err) {
    throw new StatementError(`cannot read the equitability statement ${entry.equitability}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  const parsed = statementSchema.safeParse(raw);
  if (!parsed.success) throw new StatementError(`the equitability statement ${entry.equitability} is malformed: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  if (parsed.data.embedderSha256 !== entry.sha256) throw new StatementError(`the equitability statement ${entry.equitability} was measured for other embedder bytes (${parsed.data.embedderSha256.slice(0, 16)}…, this van's ${entry.id} is ${entry.sha256.slice(0, 16)}…)`);
  return parsed.data;
}

/**
 * The statement as it applies to a deployment: same pipeline and mirror setting, and a row measured
 * within MAX_THRESHOLD_GAP of the deployment's threshold. Pure (tested on literal statements).
 */
export function statementAt(s: EquitabilityStatement, run: { threshold: number; detector: string; landmarker: string; mirrorAugment: boolean }): EquitabilityRecord {
  if (s.pipeline.detector !== run.detector || s.pipeline.landmarker !== run.landmarker) {
    return { available: false, reason: `measured with detector ${s.pipeline.detector} and landmarker ${s.pipeline.landmarker}; this van runs ${run.detector} and ${run.landmarker}` };
  }
  if (s.mirrorAugment !== run.mirrorAugment) return { available: false, reason: `measured with mirror averaging ${s.mirrorAugment ? 'on' : 'off'}; this van has it ${run.mirrorAugment ? 'on' : 'off'}` };
  let best = s.rows[0]!;
  for (const r of s.rows) if (Math.abs(r.threshold - run.threshold) < Math.abs(best.threshold - run.threshold)) best = r;
  if (Math.abs(best.threshold - run.threshold) > MAX_THRESHOLD_GAP) {
    return { available: false, reason: `not measured at threshold ${run.threshold} (measured from ${s.rows[0]!.threshold} to ${s.rows[s.rows.length - 1]!.threshold})` };
  }
  return {
    available: true,
    embedder: s.embedder,
    embedderSha256: s.embedderSha256,
    detector: s.pipeline.detector,
    landmarker: s.pipeline.landmarker,
    dataset: s.dataset,
    labels: s.labels,
    protocol: s.protocol,
    measuredOn: s.measuredOn,
    gallery: s.gallery,
    limits: s.limits,
    threshold: run.threshold,
    measuredAtThreshold: best.threshold,
    groups: structuredClone(best.groups),
    fnirRatio: best.fnirRatio,
    fpirRatio: best.fpirRatio,
  };
}

const pct = (v: number) => `${(v * 100).toFixed(1)} %`;

/** The report's lines (indented under "Equitability:"), every rate with its count and interval. */
export function statementWords(e: EquitabilityRecord): string[] {
  if (!e.available) return [`no statement for these models: ${e.reason}`];
  const lines = [
    `models ${e.detector} (detector), ${e.landmarker} (landmarks), ${e.embedder} (embedder ${e.embedderSha256.slice(0, 12)}); measured ${e.measuredOn}, not on this deployment`,
    `at threshold ${e.measuredAtThreshold}${Math.abs(e.measuredAtThreshold - e.threshold) > 1e-9 ? ` (nearest measured to this deployment's ${e.threshold})` : ''}, ${e.protocol}, watchlist of ${e.gallery.toLocaleString('en-GB')} people; ${e.dataset}; groups: ${e.labels}`,
  ];
  for (const g of e.groups) {
    const fn = g.fnir === null || !g.fnirCi ? `missed matches too few to measure (${g.mated} searches)` : `missed ${pct(g.fnir)} of ${g.mated.toLocaleString('en-GB')} searches of people on the watchlist (95 % CI ${pct(g.fnirCi[0])}-${pct(g.fnirCi[1])})`;
    const fp = g.fpir === null || !g.fpirCi ? `false alerts too few to measure (${g.nonMated} searches)` : `${g.falseAlerts} false alert(s) in ${g.nonMated.toLocaleString('en-GB')} searches of people not on it (${(g.fpir * 100).toFixed(2)} %, 95 % CI ${(g.fpirCi[0] * 100).toFixed(2)}-${(g.fpirCi[1] * 100).toFixed(2)} %)`;
    lines.push(`${g.name}: ${fn}; ${fp}`);
  }
  lines.push(`ratio of missed matches, highest group to lowest: ${e.fnirRatio === null ? 'not measurable' : e.fnirRatio.toFixed(2)}; of false alerts: ${e.fpirRatio === null ? 'not measurable (too few false alerts)' : e.fpirRatio.toFixed(2)}`);
  lines.push(`limits: ${e.limits}`);
  return lines;
}
