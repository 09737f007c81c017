// The accuracy gate's two per-face measures, over evaluation photos (e.g. LFW images):
//   cosine   between the float and the int8 embedder's embeddings of the same aligned face
//            (full pipeline: same detector, landmarks and alignment, mirror augmentation as set)
//   recall   of each detector: photos in which it finds at least one face (every LFW photo
//            shows one), so the int8 detector's recall is compared with the float one's.
// LFW verification accuracy itself comes from `lfr eval lfw` with each config.
import type { Config } from '../../config/schema.js';
import type { Logger } from '../../log.js';
import { decodeImageFile } from '../../vision/decode.js';
import { createFaceEngine } from '../../vision/engine.js';

export interface GateResult {
  images: number;
  faces: number;
  meanCosine: number;
  minCosine: number;
  /** Fraction of images with >= 1 face, per detector. */
  recall: { a: number; b: number };
  models: { a: Record<string, string>; b: Record<string, string> };
}

/** Compare the pipelines of configs `a` (float) and `b` (int8) on `files`. */
export async function compareEngines(files: readonly string[], a: Config, b: Config, log: Logger): Promise<GateResult> {
  const ea = await createFaceEngine(a, log);
  const eb = await createFaceEngine(b, log).catch(async (err: unknown) => {
    await ea.close();
    throw err;
  });
  let found = [0, 0];
  const cos: number[] = [];
  try {
    for (const file of files) {
      const img = await decodeImageFile(file);
      const da = await ea.detect(img);
      const db = await eb.detect(img);
      found = [found[0]! + (da.length > 0 ? 1 : 0), found[1]! + (db.length > 0 ? 1 : 0)];
      // Same aligned crop through both embedders: isolates the embedder's quantisation error.
      const best = da.sort((x, y) => y.score - x.score)[0];
      if (!best) continue;
      const aligned = ea.analyse(img, best, a.quality.enrolment).aligned;
      const va = await ea.embed(aligned);
      const vb = await eb.embed(aligned);
      let d = 0;
      for (let i = 0; i < va.length; i++) d += va[i]! * vb[i]!;
      cos.push(d);
      va.fill(0);
      vb.fill(0);
      aligned.data.fill(0);
    }
  } finally {
    await Promise.allSettled([ea.close(), eb.close()]);
  }
  const n = files.length;
  return {
    images: n,
    faces: cos.length,
    meanCosine: cos.length ? cos.reduce((s, c) => s + c, 0) / cos.length : Number.NaN,
    minCosine: cos.length ? Math.min(...cos) : Number.NaN,
    recall: { a: n ? found[0]! / n : Number.NaN, b: n ? found[1]! / n : Number.NaN },
    models: { a: { ...ea.models }, b: { ...eb.models } },
  };
}
