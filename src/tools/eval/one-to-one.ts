// `lfr eval one-to-one`: the 1:1 threshold of the tablet's photo check (issue 25), from data.
// A photo check compares ONE photo with ONE subject's templates, so its error rate is the
// per-comparison false-match rate (FMR), not a search's FPIR. The threshold for a target FMR is
// read off the embedder's impostor tail (the shipped calibration: every pair of different LFW
// identities, ~87 million comparisons; fpir.ts with one template is exactly FMR); the LFW View-2
// pairs (pairs.txt) then give the true-accept rate (TAR) at that threshold on the 3,000 genuine
// pairs, and the false-match rate measured on its 3,000 impostor pairs as a coarse cross-check.
// The result is the small JSON shipped beside the model (models/<embedder>.one-to-one.json),
// separate from the 1:N alert threshold (match.threshold).
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { cosine } from '../../vision/embedder.js';
import type { FaceEngine } from '../../vision/types.js';
import { thresholdForFpir, type ImpostorCalibration } from '../../match/fpir.js';
import type { OneToOneCalibration } from '../../match/one-to-one.js';
import { DatasetError, parsePairs } from './datasets.js';
import { ImageEmbedder } from './embed-images.js';
import { noProgress, type Progress } from './lfw.js';

export const ONE_TO_ONE_FMRS = [1e-3, 1e-4, 1e-5];

export async function runOneToOne(
  engine: FaceEngine,
  cal: ImpostorCalibration,
  dir: string,
  opts: { fmrs?: number[]; progress?: Progress; command: string; calibrationFile: string },
): Promise<OneToOneCalibration> {
  const pairsFile = path.join(dir, 'pairs.txt');
  let text: string;
  try {
    text = await readFile(pairsFile, 'utf8');
  } catch (err) {
    throw new DatasetError(`cannot read ${pairsFile}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  const pairs = parsePairs(text, pairsFile);
  const imagesDir = path.join(dir, 'images');
  const files = [...new Set(pairs.flatMap((p) => [p.a, p.b]))];
  const embedder = new ImageEmbedder(engine);
  const progress = opts.progress ?? noProgress;
  progress.start(files.length);
  const genuine: number[] = [];
  const impostor: number[] = [];
  let failedPairs = 0;
  try {
    for (const f of files) {
      await embedder.embed(path.join(imagesDir, f));
      progress.tick();
    }
    for (const p of pairs) {
      const a = await embedder.embed(path.join(imagesDir, p.a));
      const b = await embedder.embed(path.join(imagesDir, p.b));
      // An unusable image counts against the check (a genuine pair is missed), as in `lfr eval lfw`.
      const s = a.ok && b.ok ? cosine(a.embedding, b.embedding) : -1;
      if (!(a.ok && b.ok)) failedPairs++;
      (p.same ? genuine : impostor).push(s);
    }
  } finally {
    progress.stop();
    embedder.clear();
  }
  const points = (opts.fmrs ?? ONE_TO_ONE_FMRS).map((fmr) => {
    const c = thresholdForFpir(cal, fmr, 1);
    const tarHits = genuine.filter((s) => s >= c.threshold).length;
    const fm = impostor.filter((s) => s >= c.threshold).length;
    return {
      fmr,
      threshold: c.threshold,
      predictedFmr: Number(c.fpir.toPrecision(3)),
      support: c.support,
      extrapolated: c.extrapolated,
      tar: Number((tarHits / genuine.length).toFixed(4)),
      genuineAccepted: tarHits,
      lfwImpostorPairsAccepted: fm,
    };
  });
  return {
    schema: 1,
    kind: 'one-to-one',
    embedder: cal.embedder,
    embedderSha256: cal.embedderSha256,
    mirrorAugment: cal.mirrorAugment,
    pipeline: cal.pipeline,
    impostorCalibration: opts.calibrationFile,
    impostorComparisons: cal.comparisons,
    dataset: `LFW View 2 pairs (${pairsFile}): ${genuine.length} genuine, ${impostor.length} impostor pairs, ${files.length} images`,
    command: opts.command,
    genuinePairs: genuine.length,
    impostorPairs: impostor.length,
    pairsWithFailure: failedPairs,
    points,
  };
}
