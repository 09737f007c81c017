// The whole `lfr eval calibrate` run: embed every image of an identity-folder data set with the
// configured pipeline, measure the impostor tail, validate the FPIR rule on NPL-style galleries,
// and return the calibration file's content (models/README.md: the manifest entry names it).
import type { Config } from '../../config/schema.js';
import type { ImpostorCalibration } from '../../match/fpir.js';
import type { ModelEntry } from '../../vision/manifest.js';
import type { FaceEngine } from '../../vision/types.js';
import { readIdentityFolders, splitWatchlist } from './datasets.js';
import { ImageEmbedder } from './embed-images.js';
import { noProgress, type Progress } from './lfw.js';
import { fitTail, impostorTail, TAIL_FIT, validateRule, type LabelledEmbedding } from './calibrate.js';

export const VALIDATION_SIZES = [100, 300, 1000, 1680];
export const VALIDATION_TARGETS = [1e-2, 1e-3];

/** Build the calibration from labelled embeddings (also used on cached embeddings). */
export function buildCalibration(
  items: readonly (LabelledEmbedding & { file: string })[],
  split: { enrolled: { reference: string }[]; nonMated: { image: string }[] },
  meta: { embedder: ModelEntry; mirrorAugment: boolean; pipeline: { detector: string; landmarker: string }; dataset: string; command: string },
): ImpostorCalibration {
  const { comparisons, tail } = impostorTail(items);
  const cal: ImpostorCalibration = {
    schema: 1,
    embedder: meta.embedder.id,
    embedderSha256: meta.embedder.sha256,
    mirrorAugment: meta.mirrorAugment,
    pipeline: meta.pipeline,
    dataset: meta.dataset,
    command: meta.command,
    images: items.length,
    identities: new Set(items.map((i) => i.identity)).size,
    comparisons,
    tail,
    model: fitTail(tail, TAIL_FIT.from, TAIL_FIT.to),
    validation: [],
  };
  const byFile = new Map(items.map((i) => [i.file, i.embedding]));
  const gallery = split.enrolled.map((e) => byFile.get(e.reference)).filter((e): e is Float32Array => e !== undefined);
  const probes = split.nonMated.map((n) => byFile.get(n.image)).filter((e): e is Float32Array => e !== undefined);
  cal.validation = validateRule(cal, { gallery, probes }, VALIDATION_SIZES, VALIDATION_TARGETS);
  return cal;
}

export async function runCalibration(
  engine: FaceEngine,
  config: Config,
  embedderEntry: ModelEntry,
  dir: string,
  opts: { exclude?: string[]; progress?: Progress; command: string },
): Promise<ImpostorCalibration> {
  const { identities } = await readIdentityFolders(dir);
  const exclude = new Set(opts.exclude ?? []);
  const kept = identities.filter((i) => !exclude.has(i.name));
  const split = splitWatchlist(kept);
  const embedder = new ImageEmbedder(engine);
  const progress = opts.progress ?? noProgress;
  const items: (LabelledEmbedding & { file: string })[] = [];
  progress.start(kept.reduce((a, i) => a + i.images.length, 0));
  try {
    for (const id of kept) {
      for (const file of id.images) {
        const r = await embedder.embed(file);
        progress.tick();
        if (r.ok) items.push({ identity: id.name, embedding: r.embedding, file });
      }
    }
  } finally {
    progress.stop();
  }
  try {
    return buildCalibration(items, split, {
      embedder: embedderEntry,
      mirrorAugment: config.vision.mirrorAugment,
      pipeline: { detector: engine.models.detector, landmarker: engine.models.landmarker },
      dataset: `${dir}: ${kept.length} identities${exclude.size ? `, ${exclude.size} excluded` : ''}`,
      command: opts.command,
    });
  } finally {
    embedder.clear();
  }
}
