// Every `lfr bench` entry, in the order `bench all` runs them, listed explicitly (no discovery
// by scanning). To add one: write its `Bench` in this folder and add it to BENCHES. Benches use
// installed data only (demo photos, random templates, the demo video), never ../shared.
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import type { Config } from '../../config/schema.js';
import { silentLogger } from '../../log.js';
import { decodeImageFile } from '../../vision/decode.js';
import { createFaceEngine } from '../../vision/engine.js';
import { DEMO_PHOTO_DIR, DEMO_PHOTOS } from '../demo/photos.js';
import { BenchNotReady, type Bench } from './types.js';
import { benchBatching, benchPerFace } from './vision.js';
import { findModel, loadManifest, readVerifiedModel } from '../../vision/manifest.js';
import { batchable, cutGraph } from '../../vision/graph-rewrite.js';
import { rfbInputSize } from '../../vision/detectors/rfb.js';
import { chooseProviders, createSession, type ort } from '../../vision/session.js';
import { modelsDirOf } from '../../vision/engine.js';
import { modelsBench } from './models.js';
import { searchScaleBench } from './search-scale.js';
import { searchBench } from './search.js';
import { liveBench } from './live.js';
import { tabletBench } from './tablet.js';
import { reconnectBench } from './reconnect.js';
import { auditBench } from './audit.js';
import { fleetBench } from './fleet.js';

export type { Bench, BenchFlag, BenchOptions } from './types.js';
export { BenchNotReady } from './types.js';

export const visionBench: Bench = {
  name: 'vision',
  description: 'per-face cost of the still pipeline on ONE thread: detect (+ landmarks), align + quality, embed (median ms)',
  async run(config, opts) {
    // One intra-op thread: the per-face figure a camera gets when several run side by side.
    const cfg: Config = { ...config, vision: { ...config.vision, intraOpThreads: 1 } };
    const files = (await readdir(DEMO_PHOTO_DIR).catch(() => [] as string[])).filter((f) => DEMO_PHOTOS.test(f)).sort();
    if (files.length === 0) throw new BenchNotReady(`no demo photos in ${DEMO_PHOTO_DIR} (is @vladmandic/face-api installed?)`);
    const images = await Promise.all(files.map((f) => decodeImageFile(path.join(DEMO_PHOTO_DIR, f))));
    const engine = await createFaceEngine(cfg, silentLogger());
    const det = await detectorBatchSession(cfg);
    try {
      const r = await benchPerFace(engine, images, opts.iterations);
      const b = await benchBatching(engine, images, opts.iterations, det ?? undefined);
      const f = (v: number): string => v.toFixed(2);
      const size = `${images[0]!.width}x${images[0]!.height}`;
      const ratio = (a: number, c: number): string => (a > 0 ? `${(c / a).toFixed(2)}x` : '-');
      return {
        human: [
          `vision: ${r.images} photos (${size} ...), ${r.faces} faces per pass, ${r.iterations} timed passes, 1 thread; models ${engine.models.detector} / ${engine.models.landmarker} / ${engine.models.embedder}, mirrorAugment ${cfg.vision.mirrorAugment}`,
          `  detect + landmarks ${f(r.detectMsPerImage)} ms per photo (detector input width ${cfg.vision.detectorInputWidth})`,
          `  align + quality    ${f(r.analyseMsPerFace)} ms per face`,
          `  embed              ${f(r.embedMsPerFace)} ms per face`,
          `  per face           ${f(r.perFaceMs)} ms (detect shared over the faces of a photo + align + embed)`,
          `fewer, bigger runs (alternated pass by pass, ${b.facesPerPass} faces per pass):`,
          `  landmarks, all faces of a photo in one batch ${f(b.landmarksBatchedMsPerFace)} ms per face vs one run per face ${f(b.landmarksSeparateMsPerFace)} (batched ${ratio(b.landmarksBatchedMsPerFace, b.landmarksSeparateMsPerFace)} faster)`,
          `  embed, face + mirror as one batch of two    ${f(b.mirrorBatchedMsPerFace)} ms per face vs two runs ${f(b.mirrorSeparateMsPerFace)} (batched ${ratio(b.mirrorBatchedMsPerFace, b.mirrorSeparateMsPerFace)} faster)`,
          b.detector
            ? `  detector, ${b.detector.batch} camera frames (${b.detector.inputWidth}x${b.detector.inputHeight}) in one run ${f(b.detector.batchedMsPerFrame)} ms per frame vs one run each ${f(b.detector.separateMsPerFrame)} (batched ${ratio(b.detector.batchedMsPerFrame, b.detector.separateMsPerFrame)} faster; max score difference ${b.detector.maxAbsDiff.toExponential(1)})`
            : '  detector batch: not measured (this detector has no dynamic input)',
        ].join('\n'),
        json: { ...r, batching: b, threads: 1, models: engine.models, mirrorAugment: cfg.vision.mirrorAugment, detectorInputWidth: cfg.vision.detectorInputWidth, photoSize: size },
      };
    } finally {
      await engine.close();
      await det?.session.release();
    }
  },
};

/**
 * The RFB detector as the live path cuts it, with a batch dimension, for the cross-camera
 * batching figure: 4 frames of 1280x720 at vision.detectorInputWidth. null for other detectors.
 */
async function detectorBatchSession(cfg: Config): Promise<{ session: ort.InferenceSession; inputName: string; width: number; height: number; batch: number } | null> {
  const dir = modelsDirOf(cfg);
  const entry = findModel(await loadManifest(dir), cfg.vision.detector, 'detector');
  if (entry.decoder.name !== 'ultraface-ssd' || !entry.input.dynamic) return null;
  const p = entry.decoder.params as { scoresOutput: string; locationsOutput: string };
  const bytes = batchable(cutGraph(await readVerifiedModel(dir, entry), { outputs: [p.scoresOutput, p.locationsOutput], dynamicInput: { name: entry.input.name, dims: [2, 3] } }), entry.input.name);
  const session = await createSession(bytes, { providers: chooseProviders(['cpu']), intraOpThreads: 1 }, silentLogger(), entry.id);
  const size = rfbInputSize(1280, 720, cfg.vision.detectorInputWidth);
  return { session, inputName: entry.input.name, width: size.width, height: size.height, batch: 4 };
}

/** Every bench, in the order `bench all` runs them. */
export const BENCHES: readonly Bench[] = [visionBench, modelsBench, searchBench, searchScaleBench, liveBench, reconnectBench, auditBench, tabletBench, fleetBench];
