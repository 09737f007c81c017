// `lfr eval video`: the live path (tracker, embedding schedule, alert policy, configured
// threshold) over a video file, against a gallery enrolled directly from <identity>/<files>.
// An evaluation tool, never a deployment path: no bundle, no signature, no encrypted store.
import type { Config } from '../../config/schema.js';
import type { Logger } from '../../log.js';
import type { FaceEngine } from '../../vision/types.js';
import { ImageEmbedder } from './embed-images.js';
import type { Identity } from './datasets.js';
import { Gallery } from '../../match/gallery.js';
import { CameraAnalyser } from '../../match/analyser.js';
import { fileFrames } from './file-frames.js';
import { analyserSettings } from '../../match/settings.js';
import { localFrameAnalysis } from '../../vision/frame-analysis.js';
import { scoreTruth, type Sighting, type TruthAlert, type TruthReport, type TruthSpan } from './truth.js';

export interface VideoAlert {
  identity: string;
  score: number;
  /** Time of the deciding frame from the start of the video (ms). */
  timeMs: number;
  track: number;
}

export interface VideoEvalReport {
  alerts: VideoAlert[];
  /** With --truth: per person alerted / missed, time to alert, wrong-identity alerts, switches. */
  truth?: TruthReport;
  /** No face was detected in any analysed frame (said plainly; not an error). */
  noFaces: boolean;
  /** Looks the appearance gate split off a track (another person in its place). */
  splits: number;
  framesAnalysed: number;
  faces: number;
  tracks: number;
  embedded: number;
  gallery: { identities: number; templates: number; failedImages: number };
  threshold: number;
  wallMs: number;
}

export async function enrolIdentities(engine: FaceEngine, identities: readonly Identity[]): Promise<{ gallery: Gallery; failed: number }> {
  const gallery = new Gallery(engine.embeddingSize);
  const emb = new ImageEmbedder(engine);
  let failed = 0;
  for (const id of identities) {
    for (const img of id.images) {
      const r = await emb.embed(img);
      if (r.ok) gallery.add([{ subjectId: id.name, embedding: r.embedding }]);
      else failed++;
    }
  }
  emb.clear();
  return { gallery, failed };
}

export async function evalVideo(
  p: { config: Config; engine: FaceEngine; log: Logger; video: string; gallery: Gallery; failedImages: number; truth?: TruthSpan[] },
): Promise<VideoEvalReport> {
  const t0 = performance.now();
  const cam = { analysisFps: 10, analysisWidth: 1280, ...p.config.cameras[0] };
  const alerts: VideoAlert[] = [];
  const truthAlerts: TruthAlert[] = [];
  const sightings: Sighting[] = [];
  let size = { width: 0, height: 0 };
  const analyser = new CameraAnalyser({
    camera: 'video',
    engine: localFrameAnalysis(p.engine),
    ...analyserSettings(p.config),
    target: () => ({ gallery: p.gallery, topK: p.config.match.topK }),
    onDecision: async ({ decision, frame, box }) => {
      alerts.push({ identity: decision.subjectId, score: Number(decision.score.toFixed(4)), timeMs: frame.capturedAt, track: decision.trackId });
      truthAlerts.push({ identity: decision.subjectId, timeMs: frame.capturedAt, track: decision.trackId, box, frameWidth: frame.image.width, frameHeight: frame.image.height });
    },
    ...(p.truth
      ? {
          onSightings: (at: number, list: ReadonlyArray<{ trackId: number; box: Sighting['box'] }>) => {
            for (const s of list) sightings.push({ at, trackId: s.trackId, box: { ...s.box }, frameWidth: size.width, frameHeight: size.height });
          },
        }
      : {}),
    log: p.log,
  });
  for await (const frame of fileFrames({ file: p.video, camera: 'video', analysisFps: cam.analysisFps, analysisWidth: cam.analysisWidth })) {
    try {
      size = { width: frame.image.width, height: frame.image.height };
      await analyser.analyse(frame);
    } finally {
      frame.lease.release();
    }
  }
  const c = analyser.counters;
  return {
    alerts,
    ...(p.truth ? { truth: scoreTruth(p.truth, sightings, truthAlerts) } : {}),
    noFaces: c.faces === 0,
    splits: c.splits,
    framesAnalysed: c.frames,
    faces: c.faces,
    tracks: c.tracks,
    embedded: c.embedded,
    gallery: { identities: p.gallery.subjects, templates: p.gallery.size, failedImages: p.failedImages },
    threshold: p.config.match.threshold,
    wallMs: Math.round(performance.now() - t0),
  };
}
