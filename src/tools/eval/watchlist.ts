// `lfr eval watchlist`: 1:N search the way the UK NPL study frames it. Identities with >= 2 images
// are enrolled with their first image (by file name) and their other images are mated probes;
// identities with one image are non-mated probes (passers-by who are not on the watchlist).
// Counting rules (stated in docs/accuracy.md):
// - an enrolment image without a usable face leaves its identity out of the gallery, and that
//   identity's probes stay in as mated searches that cannot hit (misses): nothing is dropped;
// - a mated probe without a usable face is a miss (the van would not have alerted);
// - a non-mated probe without a usable face cannot raise an alert; it is left out of the FPIR
//   denominator (reported as nonMatedFailures), which keeps FPIR conservative.
import type { FaceEngine } from '../../vision/types.js';
import { DatasetError, readIdentityFolders, splitWatchlist } from './datasets.js';
import { cohortMember, cohortStats, normalise, type NormMode, type ScoreStats } from './cohort.js';
import { ImageEmbedder } from './embed-images.js';
import { noProgress, type Progress } from './lfw.js';
import { fnirAt, identificationPoints, rateAtOrAbove, type IdentificationPoint, type MatedSearch } from './protocol.js';

export const FPIR_TARGETS = [1e-2, 1e-3] as const;

/** Fewer cohort faces than this give no usable spread for cohort normalisation. */
export const MIN_COHORT = 20;

export interface WatchlistReport {
  gallery: number;
  enrolmentFailures: number;
  matedProbes: number;
  nonMatedProbes: number;
  matedFailures: number;
  nonMatedFailures: number;
  excluded: string[];
  points: IdentificationPoint[];
  threshold: number;
  fpir: number;
  fnir: number;
  falseAlerts: number;
  /** Rank-1 identification rate with no threshold. */
  rank1: number;
  msPerImage: number;
  models: FaceEngine['models'];
  /** How to read FPIR: the number of non-mated searches behind each rate. */
  note: string;
}

/** How scores are put on one scale (cohort normalisation, src/tools/eval/cohort.ts), or raw. */
interface Scale {
  mode: NormMode;
  cohort: Float32Array;
  cohortRows: number;
  /** Per gallery row (Z-norm), when the mode needs it. */
  templates: ScoreStats[];
}

/** Row-major gallery matrix; returns, per probe, the best score and its row, and the score of `mateRow`. */
function search(gallery: Float32Array, rows: number, dim: number, probe: Float32Array, skipRow = -1, scale?: Scale): { best: number; row: number; mate: number } {
  const pStats = scale && scale.mode !== 'z' && scale.mode !== 'none' ? cohortStats(scale.cohort, scale.cohortRows, dim, probe) : null;
  let best = -Infinity;
  let row = -1;
  let mate = -Infinity;
  for (let r = 0; r < rows; r++) {
    let s = 0;
    const o = r * dim;
    for (let i = 0; i < dim; i++) s += gallery[o + i]! * probe[i]!;
    if (scale) s = normalise(scale.mode, s, pStats, scale.templates[r] ?? null);
    if (r === skipRow) {
      mate = s;
      continue;
    }
    if (s > best) {
      best = s;
      row = r;
    }
  }
  return { best, row, mate };
}

/** One mated probe's search, with the probe's file (relative to the dataset root). */
export interface MatedProbe extends MatedSearch {
  file: string;
}

/** One non-mated probe's search: its best score over the gallery, or a failure to process it. */
export type NonMatedProbe = { file: string; failed: false; best: number } | { file: string; failed: true };

/** Every search of the NPL-style protocol, probe by probe (shared by watchlist and equitability). */
export interface WatchlistSearches {
  gallery: number;
  enrolmentFailures: number;
  excluded: string[];
  mated: MatedProbe[];
  nonMated: NonMatedProbe[];
  msPerImage: number;
  /** Score scale (cohort normalisation) and the cohort's size; 'none' = raw cosines. */
  norm: NormMode;
  cohort: number;
}

/**
 * Enrol every identity with >= 2 images by its first image, then search each of its other images
 * (mated) and each single-image identity (non-mated) against the whole gallery.
 */
export async function runWatchlistSearches(
  engine: FaceEngine,
  dir: string,
  opts: { exclude?: string[]; progress?: Progress; norm?: NormMode },
): Promise<WatchlistSearches> {
  const { identities } = await readIdentityFolders(dir);
  const split = splitWatchlist(identities, opts.exclude ?? []);
  const norm = opts.norm ?? 'none';
  // With a cohort, half of the non-mated identities (a fixed hash bit) are the cohort, not probes.
  const cohortIds = norm === 'none' ? [] : split.nonMated.filter((n) => cohortMember(n.name));
  if (norm !== 'none') split.nonMated = split.nonMated.filter((n) => !cohortMember(n.name));
  const progress = opts.progress ?? noProgress;
  const embedder = new ImageEmbedder(engine);
  const total = split.enrolled.reduce((a, e) => a + 1 + e.probes.length, 0) + split.nonMated.length + cohortIds.length;
  progress.start(total);
  const dim = engine.embeddingSize;
  const refs: { name: string; embedding: Float32Array }[] = [];
  const mated: MatedProbe[] = [];
  const nonMated: NonMatedProbe[] = [];
  let enrolmentFailures = 0;
  let cohortFaces = 0;
  try {
    for (const e of split.enrolled) {
      const r = await embedder.embed(e.reference);
      progress.tick();
      if (r.ok) refs.push({ name: e.name, embedding: r.embedding });
      else enrolmentFailures++;
    }
    const rows = refs.length;
    const gallery = new Float32Array(rows * dim);
    refs.forEach((r, i) => gallery.set(r.embedding, i * dim));
    const rowOf = new Map(refs.map((r, i) => [r.name, i]));
    let scale: Scale | undefined;
    if (norm !== 'none') {
      const faces: Float32Array[] = [];
      for (const c of cohortIds) {
        const r = await embedder.embed(c.image);
        progress.tick();
        if (r.ok) faces.push(r.embedding);
      }
      // A cohort of one or none has no spread to normalise by: say so rather than divide by it.
      if (faces.length < MIN_COHORT) throw new DatasetError(`--norm ${norm} needs a cohort of at least ${MIN_COHORT} usable faces from the single-photo identities; this dataset gives ${faces.length}`);
      const cohort = new Float32Array(faces.length * dim);
      faces.forEach((f, i) => cohort.set(f, i * dim));
      const templates = norm === 't' ? [] : refs.map((r) => cohortStats(cohort, faces.length, dim, r.embedding));
      scale = { mode: norm, cohort, cohortRows: faces.length, templates };
      cohortFaces = faces.length;
    }
    for (const e of split.enrolled) {
      const mateRow = rowOf.get(e.name) ?? -1;
      for (const p of e.probes) {
        const r = await embedder.embed(p);
        progress.tick();
        if (!r.ok) {
          mated.push({ file: p, mateScore: -Infinity, bestNonMateScore: -Infinity, failed: true });
          continue;
        }
        const other = search(gallery, rows, dim, r.embedding, mateRow, scale);
        mated.push({ file: p, mateScore: other.mate, bestNonMateScore: other.best, failed: false });
      }
    }
    for (const n of split.nonMated) {
      const r = await embedder.embed(n.image);
      progress.tick();
      nonMated.push(r.ok ? { file: n.image, failed: false, best: search(gallery, rows, dim, r.embedding, -1, scale).best } : { file: n.image, failed: true });
    }
    gallery.fill(0);
    scale?.cohort.fill(0);
  } finally {
    progress.stop();
  }
  const msPerImage = embedder.msPerImage();
  embedder.clear();
  return { gallery: refs.length, enrolmentFailures, excluded: split.excluded, mated, nonMated, msPerImage, norm, cohort: cohortFaces };
}

export async function evalWatchlist(
  engine: FaceEngine,
  dir: string,
  opts: { threshold: number; exclude?: string[]; progress?: Progress },
): Promise<WatchlistReport> {
  const s = await runWatchlistSearches(engine, dir, opts);
  const mated = s.mated;
  const nonMatedBest = s.nonMated.flatMap((p) => (p.failed ? [] : [p.best]));
  const points = identificationPoints(mated, nonMatedBest, FPIR_TARGETS);
  const fpir = rateAtOrAbove(nonMatedBest, opts.threshold);
  const n = nonMatedBest.length;
  return {
    gallery: s.gallery,
    enrolmentFailures: s.enrolmentFailures,
    matedProbes: mated.length,
    nonMatedProbes: n,
    matedFailures: mated.filter((m) => m.failed).length,
    nonMatedFailures: s.nonMated.length - n,
    excluded: s.excluded,
    points,
    threshold: opts.threshold,
    fpir,
    fnir: fnirAt(mated, opts.threshold),
    falseAlerts: Math.round(fpir * n),
    rank1: mated.filter((m) => !m.failed && m.mateScore > m.bestNonMateScore).length / Math.max(1, mated.length),
    msPerImage: s.msPerImage,
    models: engine.models,
    note: `${n} non-mated searches: FPIR 1e-3 is about ${Math.round(n * 1e-3)} false alerts, so figures at or below 1e-3 rest on a handful of faces`,
  };
}
