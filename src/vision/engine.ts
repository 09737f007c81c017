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
import { createEmbedder, type Embedder } from './embedder.js';
import { createLandmarker, type Landmarker } from './landmarks.js';
import { findModel, loadManifest, ModelError, readVerifiedModel, type Manifest, type ModelEntry } from './manifest.js';
import { assessQuality } from './quality.js';
import { chooseProviders, createSession, describeProviders, type ProviderName } from './session.js';
import type { AnalysedFace, FaceDetection, FaceEngine, FaceQuality, QualityGateSettings, RgbImage } from './types.js';
import { withLease, type Lease } from '../buffers/pools.js';

export interface FaceEngineInfo {
  modelsDir: string;
  providers: ProviderName[];
  detectorInputWidth: number;
}

/** One face of a live frame after detection, alignment and the quality gate (numbers only). */
export interface FrameFace {
  detection: FaceDetection;
  quality: FaceQuality;
}

/**
 * The frame-level path the live pipeline runs inside an inference worker: every buffer comes
 * from the frame's lease and is wiped when the lease is released.
 */
export interface FrameEngine {
  /** Detect (landmarks of all faces as one batch), align and gate every face of a frame. */
  analyseFrame(img: RgbImage, gates: QualityGateSettings, lease: Lease): Promise<{ faces: FrameFace[]; aligned: RgbImage[] }>;
  /** Embed aligned faces into `dest` (the mirrored pair as one batch). */
  embedInto(aligned: readonly RgbImage[], dest: readonly Float32Array[], lease: Lease): Promise<void>;
}

/** The engine's model runners, for benchmarks that time one stage (lfr bench vision). */
export interface EngineParts {
  landmarker: Landmarker | undefined;
  embedder: Embedder;
}

export type FaceEngineWithInfo = FaceEngine & FrameEngine & { readonly info: FaceEngineInfo; readonly parts: EngineParts };

export function modelsDirOf(config: Config): string {
  return path.isAbsolute(config.paths.modelsDir) ? config.paths.modelsDir : path.resolve(INSTALL_ROOT, config.paths.modelsDir);
}

/**
 * Align into `into`; degenerate landmarks (all points equal) give a blank face, which the gates
 * reject as too small and blurred, rather than an exception in the live loop.
 */
function alignOrBlank(img: RgbImage, det: FaceDetection, into: Uint8Array): RgbImage {
  try {
    return alignFace(img, det.landmarks, into).aligned;
  } catch {
    into.fill(0);
    return { width: ALIGNED_SIZE, height: ALIGNED_SIZE, data: into };
  }
}

/**
 * FaceEngine.analyse of the still-image path (enrolment, eval): align and gate on the calling
 * thread (plain JavaScript, no model). The caller owns, and wipes, the aligned crop.
 */
export function analyseStill(img: RgbImage, det: FaceDetection, gates: QualityGateSettings): AnalysedFace {
  const aligned = alignOrBlank(img, det, new Uint8Array(ALIGNED_SIZE * ALIGNED_SIZE * 3));
  return { detection: det, quality: assessQuality(det, aligned, gates, undefined, img), aligned };
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
  const lm = landmarker;

  const detectWith = async (img: RgbImage, lease: Lease): Promise<FaceDetection[]> => {
    const faces = await detector.detect(img, lease);
    if (!lm) {
      for (const f of faces) {
        if (f.landmarks.length < 5) throw new ModelError(`detector ${detEntry.id} gives no landmarks; set vision.landmarker to a landmark model`);
      }
      return faces;
    }
    // Every face of the frame in one landmark run (a batch of crops).
    const located = await lm.locateAll(img, faces.map((f) => f.box), lease);
    // The 68 points stay on the detection for the pose fit (quality.ts); the live path wipes them
    // as soon as the quality is known (analyseFrame), the still path's caller owns them.
    faces.forEach((f, i) => {
      f.landmarks = located[i]!.five;
      f.shape68 = located[i]!.points;
    });
    return faces;
  };

  return {
    embeddingSize: emb.size,
    models: { detector: detEntry.id, landmarker: lmEntry?.id ?? 'none', embedder: embEntry.id },
    info: { modelsDir, providers: providers.use, detectorInputWidth: config.vision.detectorInputWidth },
    parts: { landmarker: lm, embedder: emb },

    detect(img: RgbImage): Promise<FaceDetection[]> {
      return withLease(undefined, (l) => detectWith(img, l));
    },

    analyse: analyseStill,

    embed(aligned: RgbImage): Promise<Float32Array> {
      return emb.embed(aligned);
    },

    async analyseFrame(img, gates, lease) {
      const dets = await detectWith(img, lease);
      const faces: FrameFace[] = [];
      const aligned: RgbImage[] = [];
      for (const det of dets) {
        const a = alignOrBlank(img, det, lease.u8('aligned', ALIGNED_SIZE * ALIGNED_SIZE * 3));
        aligned.push(a);
        faces.push({ detection: det, quality: assessQuality(det, a, gates, lease.f32('quality', ALIGNED_SIZE * ALIGNED_SIZE), img) });
        // Face geometry is not needed past the gate, and must not travel back from the worker.
        det.shape68?.fill(0);
        delete det.shape68;
      }
      return { faces, aligned };
    },

    embedInto(aligned, dest, lease) {
      return emb.embedInto(aligned, dest, lease);
    },

    async close(): Promise<void> {
      const results = await Promise.allSettled([detector.close(), landmarker?.close(), emb.close()]);
      for (const r of results) if (r.status === 'rejected') vlog.warn({ err: r.reason }, 'closing a vision session failed');
    },
  };
}
