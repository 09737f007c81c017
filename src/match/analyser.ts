// The per-camera live path: frame -> detect -> analyse (align + quality) -> track -> embed when
// the track's quality improves -> search the watchlist -> alert policy -> decision.
//
// Non-match deletion happens HERE: every aligned crop and every embedding is wiped (sodium
// memzero) before analyse() returns, whatever the outcome; nothing of a face is kept across
// frames (tracks hold boxes and numbers only). A decision to alert is handed to onDecision while
// the frame is still intact, so the alert path can encode its own JPEG copies; the caller then
// releases the frame (ingest wipes its pixels). Faces are COUNTED, never stored.
import type { Logger } from '../log.js';
import type { AnalysedFace, Box, FaceEngine, QualityGateSettings } from '../vision/types.js';
import type { Frame } from '../ingest/frame.js';
import type { Gallery } from './gallery.js';
import { wipe } from '../crypto/secure.js';
import { FaceTracker, type TrackerSettings } from './tracker.js';
import { AlertPolicy, type PolicySettings } from './policy.js';
import { noteEmbedded, qualityScore, shouldEmbed, type ScheduleSettings } from './schedule.js';
import { TrackFusion, type FusionSettings } from './fusion.js';

export interface MatchTarget {
  gallery: Gallery;
  topK: number;
}

export interface AlertDecision {
  trackId: number;
  subjectId: string;
  /** Best score of the subject over the track's observations. */
  score: number;
  observations: number;
}

export interface DecisionContext {
  decision: AlertDecision;
  frame: Frame;
  box: Box;
  /** Every other face detected in the frame (bystanders: the alert's context frame masks them). */
  others: Box[];
}

export interface AnalyserDeps {
  camera: string;
  engine: FaceEngine;
  gates: QualityGateSettings;
  tracker: TrackerSettings;
  schedule: ScheduleSettings;
  policy: PolicySettings;
  /** Track fusion (match.fusionKeep); absent or keep 1: each frame is searched on its own. */
  fusion?: FusionSettings;
  /** The current watchlist (null: none loaded, faces are still counted, nothing is searched). */
  target: () => MatchTarget | null;
  /** Called with each alert decision before the frame is released; awaited. */
  onDecision: (ctx: DecisionContext) => Promise<void>;
  log: Logger;
  /**
   * TEST-ONLY: sees each embedding before it is wiped, so the non-match deletion test can search
   * the daemon's files for its bytes. Never set by `lfr run`, `lfr demo` or any production path.
   */
  testTemplateHook?: (embedding: Float32Array) => void;
  /** TEST-ONLY: sees the buffers analyse() wiped, so a test can check they are zero. */
  testWipedHook?: (buffers: Array<Uint8Array | Float32Array>) => void;
}

export interface AnalyserCounters {
  frames: number;
  faces: number;
  embedded: number;
  tracks: number;
  alerts: number;
  suppressed: number;
}

export class CameraAnalyser {
  private readonly tracker: FaceTracker;
  private readonly policy: AlertPolicy;
  /** Each live track's best looks (biometric: owned, wiped when the track ends; fusion.ts). */
  private readonly fusion: TrackFusion;
  private lastTrackId = 0;
  readonly counters: AnalyserCounters = { frames: 0, faces: 0, embedded: 0, tracks: 0, alerts: 0, suppressed: 0 };

  constructor(private readonly d: AnalyserDeps) {
    this.tracker = new FaceTracker(d.tracker);
    this.policy = new AlertPolicy(d.policy);
    this.fusion = new TrackFusion(d.engine.embeddingSize, d.fusion);
  }

  get activeTracks(): number {
    return this.tracker.active.length;
  }

  /** Analyse one frame to its decisions. Does not release the frame (the caller does). */
  async analyse(frame: Frame): Promise<AlertDecision[]> {
    const now = frame.capturedAt;
    const cam = this.d.camera;
    const dets = await this.d.engine.detect(frame.image);
    const faces: AnalysedFace[] = [];
    // Only the test hook reads this list; production does not pay for it.
    const wiped: Array<Uint8Array | Float32Array> | null = this.d.testWipedHook ? [] : null;
    const decisions: AlertDecision[] = [];
    try {
      for (const det of dets) faces.push(this.d.engine.analyse(frame.image, det, this.d.gates));
      this.counters.frames++;
      this.counters.faces += faces.length;
      const { trackIds, ended } = this.tracker.update(faces.map((f) => f.detection.box), now);
      for (const t of ended) {
        this.policy.endTrack(cam, t.id);
        this.fusion.end(t.id);
      }
      // Expired cooldowns go when tracks end: often enough to bound the map, never per face.
      if (ended.length > 0) this.policy.prune(now);
      for (const id of trackIds) if (id > this.lastTrackId) {
        this.lastTrackId = id;
      }
      this.counters.tracks = this.lastTrackId;
      const target = this.d.target();
      for (let i = 0; i < faces.length; i++) {
        const face = faces[i]!;
        const track = this.tracker.get(trackIds[i]!);
        if (!track || !target || target.gallery.size === 0) continue;
        const q = qualityScore(face.quality);
        if (!shouldEmbed(track, q, this.policy.awaiting(cam, track.id), now, this.d.schedule)) continue;
        noteEmbedded(track, q, now);
        const emb = await this.d.engine.embed(face.aligned);
        let hits;
        try {
          this.counters.embedded++;
          this.d.testTemplateHook?.(emb);
          // The batched path: the int8 ONNX Runtime GEMM when the gallery has that backend (large
          // watchlists, see openWatchlist), else the same exact JavaScript loop as search().
          // Searched with the track's fused template (its best looks, quality-weighted), not the
          // single frame; the fused buffer belongs to TrackFusion and is wiped when the track ends.
          const probe = this.d.fusion && this.d.fusion.keep > 1 ? this.fusion.add(track.id, emb, q) : emb;
          hits = (await target.gallery.searchBatchAsync([probe], target.topK))[0]!;
        } finally {
          wipe(emb);
          wiped?.push(emb);
        }
        const top = hits[0];
        if (!top) continue;
        const v = this.policy.observe({ camera: cam, trackId: track.id, subjectId: top.subjectId, score: top.score, at: now });
        if (v.kind === 'suppressed' && v.why === 'cooldown') this.counters.suppressed++;
        if (v.kind !== 'alert') continue;
        const dec: AlertDecision = { trackId: track.id, subjectId: v.subjectId, score: v.score, observations: v.observations };
        decisions.push(dec);
        this.counters.alerts++;
        await this.d.onDecision({ decision: dec, frame, box: face.detection.box, others: faces.filter((f) => f !== face).map((f) => f.detection.box) });
      }
      return decisions;
    } finally {
      // The decision is made: no aligned crop outlives this frame, match or not.
      for (const f of faces) {
        wipe(f.aligned.data);
        wiped?.push(f.aligned.data);
      }
      if (wiped) this.d.testWipedHook?.(wiped);
    }
  }

  /** The camera stopped or reconnects: end every track. */
  endAll(): void {
    for (const t of this.tracker.clear()) this.policy.endTrack(this.d.camera, t.id);
    this.fusion.clear();
  }
}
