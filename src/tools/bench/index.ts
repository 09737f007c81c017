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
import { benchPerFace } from './vision.js';
import { modelsBench } from './models.js';
import { searchScaleBench } from './search-scale.js';
import { searchBench } from './search.js';
import { liveBench } from './live.js';
import { auditBench } from './audit.js';

export type { Bench, BenchOptions } from './types.js';
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
    try {
      const r = await benchPerFace(engine, images, opts.iterations);
      const f = (v: number): string => v.toFixed(2);
      const size = `${images[0]!.width}x${images[0]!.height}`;
      return {
        human: [
          `vision: ${r.images} photos (${size} ...), ${r.faces} faces per pass, ${r.iterations} timed passes, 1 thread; models ${engine.models.detector} / ${engine.models.landmarker} / ${engine.models.embedder}, mirrorAugment ${cfg.vision.mirrorAugment}`,
          `  detect + landmarks ${f(r.detectMsPerImage)} ms per photo (detector input width ${cfg.vision.detectorInputWidth})`,
          `  align + quality    ${f(r.analyseMsPerFace)} ms per face`,
          `  embed              ${f(r.embedMsPerFace)} ms per face`,
          `  per face           ${f(r.perFaceMs)} ms (detect shared over the faces of a photo + align + embed)`,
        ].join('\n'),
        json: { ...r, threads: 1, models: engine.models, mirrorAugment: cfg.vision.mirrorAugment, detectorInputWidth: cfg.vision.detectorInputWidth, photoSize: size },
      };
    } finally {
      await engine.close();
    }
  },
};

/** Every bench, in the order `bench all` runs them. */
export const BENCHES: readonly Bench[] = [visionBench, modelsBench, searchBench, searchScaleBench, liveBench, auditBench];
