// createFaceEngine: the still-image face pipeline behind the FaceEngine interface (types.ts),
// built from config.vision and models/manifest.json. Model files are hash-checked before any
// session is created; the execution-provider choice is logged once.
import path from 'node:path';
import type { Config } from '../config/schema.js';
import type { Logger } from '../log.js';
import { INSTALL_ROOT } from '../paths.js';
import { ALIGNED_SIZE, alignFace } from './align.js';
import { DETECTOR_FACTORIES } from './detectors/index.js';
import type { ModelContext } from './detectors/factory.js';
import { createEmbedder } from './embedder.js';
import { createLandmarker, type Landmarker } from './landmarks.js';
import { findModel, loadManifest, ModelError, readVerifiedModel, type Manifest, type ModelEntry } from './manifest.js';
import { assessQuality } from './quality.js';
import { chooseProviders, createSession, describeProviders, type ProviderName } from './session.js';
import type { AnalysedFace, FaceDetection, FaceEngine, QualityGateSettings, RgbImage } from './types.js';

export interface FaceEngineInfo {
  modelsDir: string;
  providers: ProviderName[];
  detectorInputWidth: number;
}

export type FaceEngineWithInfo = FaceEngine & { readonly info: FaceEngineInfo };

export function modelsDirOf(config: Config): string {
  return path.isAbsolute(config.paths.modelsDir) ? config.paths.modelsDir : path.resolve(INSTALL_ROOT, config.paths.modelsDir);
}

export async function createFaceEngine(config: Config, log: Logger): Promise<FaceEngineWithInfo> {
  const vlog = log.child({ module: 'vision' });
  const modelsDir = modelsDirOf(config);
  const manifest: Manifest = await loadManifest(modelsDir);
  const detEntry = findModel(manifest, config.vision.detector, 'detector');
  const embEntry = findModel(manifest, config.vision.embedder, 'embedder');
  const lmEntry = config.vision.landmarker === 'none' ? undefined : findModel(manifest, config.vision.landmarker, 'landmarker');
  const factory = DETECTOR_FACTORIES[detEntry.decoder.name];
  if (!factory) throw new ModelError(`detector ${detEntry.id}: no adapter for decoder "${detEntry.decoder.name}" (known: ${Object.keys(DETECTOR_FACTORIES).join(', ')})`);

  // Verify every model before creating any session, so a tampered file fails fast and alone.
  const [detBytes, embBytes, lmBytes] = await Promise.all([
    readVerifiedModel(modelsDir, detEntry),
    readVerifiedModel(modelsDir, embEntry),
    lmEntry ? readVerifiedModel(modelsDir, lmEntry) : Promise.resolve(undefined),
  ]);

  const providers = chooseProviders(config.vision.executionProviders);
  vlog.info({ providers: providers.use, skipped: providers.skipped, intraOpThreads: config.vision.intraOpThreads }, describeProviders(providers));
  const ctx = (entry: ModelEntry, bytes: Uint8Array): ModelContext => ({
    entry,
    bytes,
    config,
    log: vlog.child({ model: entry.id }),
    openSession: (b) => createSession(b, { providers, intraOpThreads: config.vision.intraOpThreads }, vlog, entry.id),
  });

  const detector = await factory(ctx(detEntry, detBytes));
  let landmarker: Landmarker | undefined;
  let embedder: Awaited<ReturnType<typeof createEmbedder>> | undefined;
  try {
    landmarker = lmEntry && lmBytes ? await createLandmarker(ctx(lmEntry, lmBytes)) : undefined;
    embedder = await createEmbedder(ctx(embEntry, embBytes), config.vision.mirrorAugment);
  } catch (err) {
    await detector.close().catch(() => undefined);
    await landmarker?.close().catch(() => undefined);
    throw err;
  }
  const emb = embedder;

  return {
    embeddingSize: emb.size,
    models: { detector: detEntry.id, landmarker: lmEntry?.id ?? 'none', embedder: embEntry.id },
    info: { modelsDir, providers: providers.use, detectorInputWidth: config.vision.detectorInputWidth },

    async detect(img: RgbImage): Promise<FaceDetection[]> {
      const faces = await detector.detect(img);
      if (!landmarker) {
        for (const f of faces) {
          if (f.landmarks.length < 5) throw new ModelError(`detector ${detEntry.id} gives no landmarks; set vision.landmarker to a landmark model`);
        }
        return faces;
      }
      for (const f of faces) {
        const r = await landmarker.locate(img, f.box);
        f.landmarks = r.five;
        f.shape68 = r.points;
      }
      return faces;
    },

    analyse(img: RgbImage, det: FaceDetection, gates: QualityGateSettings): AnalysedFace {
      let aligned: RgbImage;
      try {
        aligned = alignFace(img, det.landmarks).aligned;
      } catch {
        // Degenerate landmarks (all points equal): a blank face, which the gates reject as too
        // small and blurred, rather than an exception in the live loop.
        aligned = { width: ALIGNED_SIZE, height: ALIGNED_SIZE, data: new Uint8Array(ALIGNED_SIZE * ALIGNED_SIZE * 3) };
      }
      return { detection: det, quality: assessQuality(det, aligned, gates, img), aligned };
    },

    embed(aligned: RgbImage): Promise<Float32Array> {
      return emb.embed(aligned);
    },

    async close(): Promise<void> {
      const results = await Promise.allSettled([detector.close(), landmarker?.close(), emb.close()]);
      for (const r of results) if (r.status === 'rejected') vlog.warn({ err: r.reason }, 'closing a vision session failed');
    },
  };
}
