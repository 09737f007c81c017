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
import { readIdentityFolders, splitWatchlist } from './datasets.js';
import { ImageEmbedder } from './embed-images.js';
import { noProgress, type Progress } from './lfw.js';
import { fnirAt, identificationPoints, rateAtOrAbove, type IdentificationPoint, type MatedSearch } from './protocol.js';

export const FPIR_TARGETS = [1e-2, 1e-3] as const;

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

/** Row-major gallery matrix; returns, per probe, the best score and its row. */
function search(gallery: Float32Array, rows: number, dim: number, probe: Float32Array, skipRow = -1): { best: number; row: number } {
  let best = -Infinity;
  let row = -1;
  for (let r = 0; r < rows; r++) {
    if (r === skipRow) continue;
    let s = 0;
    const o = r * dim;
    for (let i = 0; i < dim; i++) s += gallery[o + i]! * probe[i]!;
    if (s > best) {
      best = s;
      row = r;
    }
  }
  return { best, row };
}

export async function evalWatchlist(
  engine: FaceEngine,
  dir: string,
  opts: { threshold: number; exclude?: string[]; progress?: Progress },
): Promise<WatchlistReport> {
  const { identities } = await readIdentityFolders(dir);
  const split = splitWatchlist(identities, opts.exclude ?? []);
  const progress = opts.progress ?? noProgress;
  const embedder = new ImageEmbedder(engine);
  const total = split.enrolled.reduce((a, e) => a + 1 + e.probes.length, 0) + split.nonMated.length;
  progress.start(total);
  const dim = engine.embeddingSize;
  const refs: { name: string; embedding: Float32Array }[] = [];
  const mated: MatedSearch[] = [];
  const nonMatedBest: number[] = [];
  let enrolmentFailures = 0;
  let matedFailures = 0;
  let nonMatedFailures = 0;
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
    for (const e of split.enrolled) {
      const mateRow = rowOf.get(e.name) ?? -1;
      for (const p of e.probes) {
        const r = await embedder.embed(p);
        progress.tick();
        if (!r.ok) {
          matedFailures++;
          mated.push({ mateScore: -Infinity, bestNonMateScore: -Infinity, failed: true });
          continue;
        }
        let mateScore = -Infinity;
        if (mateRow >= 0) {
          mateScore = 0;
          for (let i = 0; i < dim; i++) mateScore += gallery[mateRow * dim + i]! * r.embedding[i]!;
        }
        const other = search(gallery, rows, dim, r.embedding, mateRow);
        mated.push({ mateScore, bestNonMateScore: other.best, failed: false });
      }
    }
    for (const n of split.nonMated) {
      const r = await embedder.embed(n.image);
      progress.tick();
      if (!r.ok) {
        nonMatedFailures++;
        continue;
      }
      nonMatedBest.push(search(gallery, rows, dim, r.embedding).best);
    }
    gallery.fill(0);
  } finally {
    progress.stop();
  }
  const msPerImage = embedder.msPerImage();
  embedder.clear();
  const points = identificationPoints(mated, nonMatedBest, FPIR_TARGETS);
  const fpir = rateAtOrAbove(nonMatedBest, opts.threshold);
  const n = nonMatedBest.length;
  return {
    gallery: refs.length,
    enrolmentFailures,
    matedProbes: mated.length,
    nonMatedProbes: n,
    matedFailures,
    nonMatedFailures,
    excluded: split.excluded,
    points,
    threshold: opts.threshold,
    fpir,
    fnir: fnirAt(mated, opts.threshold),
    falseAlerts: Math.round(fpir * n),
    rank1: mated.filter((m) => !m.failed && m.mateScore > m.bestNonMateScore).length / Math.max(1, mated.length),
    msPerImage,
    models: engine.models,
    note: `${n} non-mated searches: FPIR 1e-3 is about ${Math.round(n * 1e-3)} false alerts, so figures at or below 1e-3 rest on a handful of faces`,
  };
}
