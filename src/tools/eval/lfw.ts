// `lfr eval lfw`: the LFW View-2 10-fold verification protocol over pairs.txt. Each image is
// embedded once per run (ImageEmbedder cache). A pair with an image that could not be used (no
// face, unreadable) is scored -1, i.e. decided "different": a genuine pair is then an error and an
// impostor pair a success, and the count is reported so the figure is never silently flattered
// by dropping hard pairs.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { cosine } from '../../vision/embedder.js';
import type { FaceEngine } from '../../vision/types.js';
import { DatasetError, limitPairs, parsePairs } from './datasets.js';
import { ImageEmbedder } from './embed-images.js';
import { gatePoints, kFold, tarAtFar, type FoldResult, type GatePoint, type ScoredPair } from './protocol.js';

/** Score given to a pair whose image could not be used (below any cosine similarity). */
export const FAILED_PAIR_SCORE = -1;

export interface LfwReport {
  accuracy: number;
  accuracyStd: number;
  standardError: number;
  tarAtFar1e3: number;
  thresholdAtFar1e3: number;
  tarAtFar1e2: number;
  pairs: number;
  genuinePairs: number;
  impostorPairs: number;
  images: number;
  detectionFailures: number;
  unreadableImages: number;
  pairsWithFailure: number;
  multiFaceImages: number;
  folds: FoldResult[];
  meanThreshold: number;
  msPerImage: number;
  /** Appearance-gate calibration (match.trackMinSimilarity): mated below / non-mated at or above. */
  gate: GatePoint[];
  /** Highest non-mated score (pairs whose images were both usable). */
  maxImpostor: number;
  models: FaceEngine['models'];
}

export interface Progress {
  start(total: number): void;
  tick(): void;
  stop(): void;
}

export const noProgress: Progress = { start: () => undefined, tick: () => undefined, stop: () => undefined };

export async function evalLfw(engine: FaceEngine, dir: string, opts: { limit?: number; progress?: Progress } = {}): Promise<LfwReport> {
  const pairsFile = path.join(dir, 'pairs.txt');
  let text: string;
  try {
    text = await readFile(pairsFile, 'utf8');
  } catch (err) {
    throw new DatasetError(`cannot read ${pairsFile}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message} (DIR must hold pairs.txt and images/<Name>/<Name>_NNNN.jpg)`);
  }
  let pairs = parsePairs(text, pairsFile);
  if (opts.limit !== undefined && opts.limit < pairs.length) pairs = limitPairs(pairs, opts.limit);
  const imagesDir = path.join(dir, 'images');
  const files = [...new Set(pairs.flatMap((p) => [p.a, p.b]))];
  const progress = opts.progress ?? noProgress;
  const embedder = new ImageEmbedder(engine);
  progress.start(files.length);
  try {
    for (const f of files) {
      await embedder.embed(path.join(imagesDir, f));
      progress.tick();
    }
  } finally {
    progress.stop();
  }
  const scored: ScoredPair[] = [];
  let pairsWithFailure = 0;
  for (const p of pairs) {
    const ra = await embedder.embed(path.join(imagesDir, p.a));
    const rb = await embedder.embed(path.join(imagesDir, p.b));
    let score = FAILED_PAIR_SCORE;
    if (ra.ok && rb.ok) score = cosine(ra.embedding, rb.embedding);
    else pairsWithFailure++;
    scored.push({ score, same: p.same, fold: p.fold });
  }
  const stats = embedder.stats;
  const msPerImage = embedder.msPerImage();
  embedder.clear();

  const tf = kFold(scored);
  const genuine = scored.filter((p) => p.same).map((p) => p.score);
  const impostor = scored.filter((p) => !p.same).map((p) => p.score);
  const t3 = tarAtFar(genuine, impostor, 1e-3);
  const t2 = tarAtFar(genuine, impostor, 1e-2);
  return {
    accuracy: tf.accuracy,
    accuracyStd: tf.accuracyStd,
    standardError: tf.standardError,
    tarAtFar1e3: t3?.tar ?? NaN,
    thresholdAtFar1e3: t3?.threshold ?? NaN,
    tarAtFar1e2: t2?.tar ?? NaN,
    pairs: scored.length,
    genuinePairs: genuine.length,
    impostorPairs: impostor.length,
    images: files.length,
    detectionFailures: stats.failures.no_face,
    unreadableImages: stats.failures.unreadable,
    pairsWithFailure,
    multiFaceImages: stats.multiFace,
    folds: tf.folds,
    meanThreshold: tf.meanThreshold,
    msPerImage,
    gate: gatePoints(genuine.filter((x) => x !== FAILED_PAIR_SCORE), impostor.filter((x) => x !== FAILED_PAIR_SCORE), [0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5]),
    maxImpostor: Math.max(...impostor.filter((x) => x !== FAILED_PAIR_SCORE)),
    models: engine.models,
  };
}
