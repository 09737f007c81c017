// `lfr eval references`: does a subject enrolled from several reference images get found more
// often, and how should the images be combined? 1:N in the NPL frame of `lfr eval watchlist`, on
// the SAME embeddings for every strategy, so the strategies differ only in how a subject's
// templates are built:
//
//   first   the first reference image only (what one photo per subject gives)
//   each    every reference image as its own template; a subject scores its best template
//   mean    one template: the L2-normalised mean of the reference embeddings
//   both    each + mean
//
// Identities with at least k + 1 images are enrolled from their first k (by file name) and probed
// with the rest; identities with one image are the non-mated probes (passers-by); identities with
// 2..k images take no part. Counting rules as in watchlist.ts: a probe without a face is a miss,
// a non-mated probe without a face leaves the FPIR denominator, an enrolment image without a face
// is left out of that subject's references (a subject with none cannot be found).
import { meanTemplate } from '../../match/fusion.js';
import type { FaceEngine } from '../../vision/types.js';
import { readIdentityFolders } from './datasets.js';
import { ImageEmbedder } from './embed-images.js';
import { noProgress, type Progress } from './lfw.js';
import { fnirAt, identificationPoints, rateAtOrAbove, type IdentificationPoint, type MatedSearch } from './protocol.js';
import { FPIR_TARGETS } from './watchlist.js';

export { meanTemplate };

export const STRATEGIES = ['first', 'each', 'mean', 'both'] as const;
export type Strategy = (typeof STRATEGIES)[number];

export interface StrategyResult {
  strategy: Strategy;
  templates: number;
  points: IdentificationPoint[];
  fpir: number;
  fnir: number;
  rank1: number;
}

export interface ReferencesReport {
  k: number;
  subjects: number;
  referenceFailures: number;
  matedProbes: number;
  nonMatedProbes: number;
  matedFailures: number;
  nonMatedFailures: number;
  excluded: string[];
  threshold: number;
  strategies: StrategyResult[];
  msPerImage: number;
  models: FaceEngine['models'];
}

/** Templates of one subject under a strategy. */
export function templatesFor(strategy: Strategy, refs: readonly Float32Array[]): Float32Array[] {
  if (refs.length === 0) return [];
  switch (strategy) {
    case 'first':
      return [refs[0]!];
    case 'each':
      return [...refs];
    case 'mean':
      return [meanTemplate(refs)];
    case 'both':
      return refs.length > 1 ? [...refs, meanTemplate(refs)] : [...refs];
  }
}

const dot = (a: Float32Array, b: Float32Array): number => {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]! * b[i]!;
  return s;
};

/** Per subject, its best template's score against the probe (-Infinity for a subject with none). */
function subjectScores(gallery: readonly Float32Array[][], probe: Float32Array): Float64Array {
  const out = new Float64Array(gallery.length).fill(-Infinity);
  gallery.forEach((ts, s) => {
    for (const t of ts) out[s] = Math.max(out[s]!, dot(t, probe));
  });
  return out;
}

export async function evalReferences(engine: FaceEngine, dir: string, opts: { k: number; threshold: number; exclude?: string[]; progress?: Progress }): Promise<ReferencesReport> {
  const { identities } = await readIdentityFolders(dir);
  const ex = new Set(opts.exclude ?? []);
  const excluded = identities.filter((i) => ex.has(i.name)).map((i) => i.name);
  const kept = identities.filter((i) => !ex.has(i.name));
  const enrolled = kept.filter((i) => i.images.length >= opts.k + 1);
  const nonMated = kept.filter((i) => i.images.length === 1);
  const progress = opts.progress ?? noProgress;
  progress.start(enrolled.reduce((a, e) => a + e.images.length, 0) + nonMated.length);
  const embedder = new ImageEmbedder(engine);
  const refs: Float32Array[][] = [];
  const probes: { subject: number; embedding: Float32Array | null }[] = [];
  const nonMatedEmb: Float32Array[] = [];
  let referenceFailures = 0;
  let nonMatedFailures = 0;
  try {
    for (const [s, id] of enrolled.entries()) {
      const mine: Float32Array[] = [];
      for (const [j, img] of id.images.entries()) {
        const r = await embedder.embed(img);
        progress.tick();
        if (j < opts.k) {
          if (r.ok) mine.push(r.embedding);
          else referenceFailures++;
        } else probes.push({ subject: s, embedding: r.ok ? r.embedding : null });
      }
      refs.push(mine);
    }
    for (const n of nonMated) {
      const r = await embedder.embed(n.images[0]!);
      progress.tick();
      if (r.ok) nonMatedEmb.push(r.embedding);
      else nonMatedFailures++;
    }
  } finally {
    progress.stop();
  }
  const strategies: StrategyResult[] = STRATEGIES.map((strategy) => {
    const gallery = refs.map((r) => templatesFor(strategy, r));
    const mated: MatedSearch[] = probes.map((p) => {
      if (!p.embedding) return { mateScore: -Infinity, bestNonMateScore: -Infinity, failed: true };
      const sc = subjectScores(gallery, p.embedding);
      let other = -Infinity;
      sc.forEach((v, s) => {
        if (s !== p.subject) other = Math.max(other, v);
      });
      return { mateScore: sc[p.subject]!, bestNonMateScore: other, failed: false };
    });
    const nonMatedBest = nonMatedEmb.map((e) => Math.max(...subjectScores(gallery, e)));
    return {
      strategy,
      templates: gallery.reduce((a, t) => a + t.length, 0),
      points: identificationPoints(mated, nonMatedBest, FPIR_TARGETS),
      fpir: rateAtOrAbove(nonMatedBest, opts.threshold),
      fnir: fnirAt(mated, opts.threshold),
      rank1: mated.filter((m) => !m.failed && m.mateScore > m.bestNonMateScore).length / Math.max(1, mated.length),
    };
  });
  const msPerImage = embedder.msPerImage();
  for (const e of [...refs.flat(), ...probes.flatMap((p) => (p.embedding ? [p.embedding] : [])), ...nonMatedEmb]) e.fill(0);
  embedder.clear();
  return {
    k: opts.k,
    subjects: enrolled.length,
    referenceFailures,
    matedProbes: probes.length,
    nonMatedProbes: nonMatedEmb.length,
    matedFailures: probes.filter((p) => !p.embedding).length,
    nonMatedFailures,
    excluded,
    threshold: opts.threshold,
    strategies,
    msPerImage,
    models: engine.models,
  };
}
