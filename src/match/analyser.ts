// The per-camera live path: frame -> detect -> analyse (align + quality) -> track -> embed when
// the track's quality improves -> search the watchlist -> alert policy -> decision.
//
// Non-match deletion: every buffer of the frame's analysis (pixels, detector and landmark inputs,
// aligned crops, embedder inputs, embeddings, quantised probes) belongs to the frame's lease and
// is wiped at ONE release point, CameraManager.releaseFrame, right after this returns, match or
// not. The one exception is track fusion (fusion.ts): each live track keeps copies of its best
// few embeddings, in buffers TrackFusion owns and wipes when the track ends (or endAll); tracks
// themselves hold boxes and numbers only, and no pixels are kept across frames. A decision
// to alert is handed to onDecision while the frame is still intact, so the alert path can encode
// its own JPEG copies. Faces are COUNTED, never stored.
//
// People stay apart (issue 19): the tracker pairs faces with tracks by time and position
// (tracker.ts); each embedded look is then checked against its track's looks (the appearance
// gate, fusion.ts) and, when it is another person's, split off into a new track, searched alone,
// with its own alert-policy state. So the fused template, the policy's observation count and the
// alert's score are always one person's, and the face an alert shows is the face that was searched.
//
// Epochs: endAll() (camera not live, watchlist replaced, analysis stopped or restarted) moves
// the epoch on; a frame whose analysis started in an older epoch stops at its next step and
// decides nothing (its buffers are wiped with its lease as usual).
import type { Logger } from '../log.js';
import type { Box, QualityGateSettings } from '../vision/types.js';
import type { FrameAnalysis } from '../vision/frame-analysis.js';
import type { Frame } from '../ingest/frame.js';
import type { Gallery } from './gallery.js';
import { FaceTracker, type Track, type TrackerSettings } from './tracker.js';
import { AlertPolicy, type PolicySettings } from './policy.js';
import { noteEmbedded, qualityScore, shouldEmbed, type ScheduleSettings } from './schedule.js';
import { DEFAULT_FUSION, TrackFusion, type FusionSettings } from './fusion.js';
import type { BufferPools } from '../buffers/pools.js';

export interface MatchTarget {
  gallery: Gallery;
  topK: number;
}

export interface AlertDecision {
  trackId: number;
  subjectId: string;
  /**
   * Score of THIS frame's search, the one that decided the alert: the face the alert shows,
   * fused with earlier looks of the same track that the appearance gate found to be the same
   * person (or alone when fusion is off).
   */
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
  /** The face pipeline: the inference pool in the daemon, localFrameAnalysis(engine) elsewhere. */
  engine: FrameAnalysis;
  gates: QualityGateSettings;
  tracker: TrackerSettings;
  schedule: ScheduleSettings;
  policy: PolicySettings;
  /**
   * Track fusion and the appearance gate (match.fusionKeep, match.trackMinSimilarity); keep 1:
   * each frame is searched on its own (its look is still kept, to check the next is the same
   * person). Absent: DEFAULT_FUSION.
   */
  fusion?: FusionSettings;
  /** The main thread's buffer pools: fused templates are owned buffers there (pool "fusion"). */
  pools?: BufferPools;
  /** The current watchlist (null: none loaded, faces are still counted, nothing is searched). */
  target: () => MatchTarget | null;
  /** Called with each alert decision before the frame is released; awaited. */
  onDecision: (ctx: DecisionContext) => Promise<void>;
  /** Evaluation only (lfr eval video --truth): each frame's final track of each face. */
  onSightings?: (at: number, sightings: ReadonlyArray<{ trackId: number; box: Box }>) => void;
  log: Logger;
}

export interface AnalyserCounters {
  frames: number;
  faces: number;
  embedded: number;
  tracks: number;
  alerts: number;
  suppressed: number;
  /** Frames whose analysis was abandoned because the epoch moved on (camera or analysis stopped). */
  stale: number;
  /** Looks the appearance gate split off a track (another person in the track's place). */
  splits: number;
  /**
   * Analysed frames that came more than the miss window after the previous one: at that rate
   * the tracker cannot tell by time that one person left before the next arrived (health WARNs).
   */
  slowGaps: number;
  /** Time between the last two analysed frames (ms; 0 before the second). */
  lastIntervalMs: number;
}

export class CameraAnalyser {
  private readonly tracker: FaceTracker;
  private readonly policy: AlertPolicy;
  /** Each live track's best looks (biometric: owned, wiped when the track ends; fusion.ts). */
  private readonly fusion: TrackFusion;
  private readonly fuse: boolean;
  private lastFrameAt = -Infinity;
  private lastTrackId = 0;
  private epoch = 0;
  readonly counters: AnalyserCounters = { frames: 0, faces: 0, embedded: 0, tracks: 0, alerts: 0, suppressed: 0, stale: 0, splits: 0, slowGaps: 0, lastIntervalMs: 0 };

  constructor(private readonly d: AnalyserDeps) {
    this.tracker = new FaceTracker(d.tracker);
    this.policy = new AlertPolicy(d.policy);
    const fusion = d.fusion ?? DEFAULT_FUSION;
    // Always held: even without fusion the track keeps its best look for the appearance gate.
    this.fusion = new TrackFusion(d.engine.embeddingSize, { ...fusion, keep: Math.max(1, fusion.keep) }, d.pools);
    this.fuse = fusion.keep > 1;
  }

  get activeTracks(): number {
    return this.tracker.active.length;
  }

  /** Analyse one frame to its decisions. Does not release the frame (the caller does). */
  async analyse(frame: Frame): Promise<AlertDecision[]> {
    const epoch = this.epoch;
    const stale = (): boolean => {
      if (epoch === this.epoch) return false;
      this.counters.stale++;
      return true;
    };
    const now = frame.capturedAt;
    const cam = this.d.camera;
    const { faces, embed } = await this.d.engine.analyseFrame(frame, this.d.gates);
    if (stale()) return [];
    this.counters.frames++;
    this.counters.faces += faces.length;
    if (Number.isFinite(this.lastFrameAt)) {
      this.counters.lastIntervalMs = now - this.lastFrameAt;
      if (now - this.lastFrameAt > this.d.tracker.maxMissMs) this.counters.slowGaps++;
    }
    this.lastFrameAt = Math.max(this.lastFrameAt, now);
    const { trackIds, ended } = this.tracker.update(faces.map((f) => f.detection.box), now);
    for (const t of ended) {
      this.policy.endTrack(cam, t.id);
      this.fusion.end(t.id);
    }
    const sightings = (): void => this.d.onSightings?.(now, faces.map((f, i) => ({ trackId: trackIds[i]!, box: f.detection.box })));
    // Expired cooldowns go when tracks end: often enough to bound the map, never per face.
    if (ended.length > 0) this.policy.prune(now);
    for (const id of trackIds) if (id > this.lastTrackId) this.lastTrackId = id;
    this.counters.tracks = this.lastTrackId;
    const target = this.d.target();
    if (!target || target.gallery.size === 0) {
      sightings();
      return [];
    }

    // Which faces to embed this frame (the schedule), then all of them in one request.
    const picked: number[] = [];
    const quality: number[] = [];
    const before: Array<Pick<Track, 'bestQuality' | 'lastEmbedAt' | 'embeds' | 'reverify'>> = [];
    for (let i = 0; i < faces.length; i++) {
      const track = this.tracker.get(trackIds[i]!);
      if (!track) continue;
      const q = qualityScore(faces[i]!.quality);
      if (!shouldEmbed(track, q, this.policy.awaiting(cam, track.id), now, this.d.schedule)) continue;
      before.push({ bestQuality: track.bestQuality, lastEmbedAt: track.lastEmbedAt, embeds: track.embeds, reverify: track.reverify });
      noteEmbedded(track, q, now);
      picked.push(i);
      quality.push(q);
    }
    if (picked.length === 0) {
      sightings();
      return [];
    }
    // Owned, shared buffers (inference workers write into them), wiped with the frame's lease.
    const embeddings = picked.map(() => frame.lease.f32('embedding', this.d.engine.embeddingSize, { shared: true }));
    await embed(picked, embeddings);
    if (stale()) return [];
    this.counters.embedded += picked.length;
    // The appearance gate: a look that disagrees with its track's looks is another person who
    // stepped into the track's place. The look gets a new track (fresh fusion, fresh policy
    // state) and is searched alone; the old track is as it was before this frame.
    picked.forEach((i, k) => {
      const old = this.tracker.get(trackIds[i]!);
      if (!old || this.fusion.agrees(old.id, embeddings[k]!)) return;
      Object.assign(old, before[k]!);
      const fresh = this.tracker.split(old.id, now);
      noteEmbedded(fresh, quality[k]!, now);
      trackIds[i] = fresh.id;
      if (fresh.id > this.lastTrackId) this.lastTrackId = fresh.id;
      this.counters.tracks = this.lastTrackId;
      this.counters.splits++;
    });
    sightings();
    // One search for the frame: the int8 ONNX Runtime GEMM when the gallery has that backend
    // (large watchlists, see openWatchlist), else the exact JavaScript loop.
    // Each track is searched with its fused template (its best looks, quality-weighted, all of
    // one person, this one included), not the single frame; the fused buffers belong to
    // TrackFusion and are wiped when the track ends. Without fusion the look is searched alone
    // and only kept for the gate.
    const probes = picked.map((i, k) => {
      const fused = this.fusion.add(trackIds[i]!, embeddings[k]!, quality[k]!);
      return this.fuse ? fused : embeddings[k]!;
    });
    const hits = await target.gallery.searchBatchAsync(probes, target.topK, frame.lease);
    if (stale()) return [];
    const decisions: AlertDecision[] = [];
    for (let k = 0; k < picked.length; k++) {
      const i = picked[k]!;
      const top = hits[k]?.[0];
      const track = this.tracker.get(trackIds[i]!);
      if (!top || !track) continue;
      const v = this.policy.observe({ camera: cam, trackId: track.id, subjectId: top.subjectId, score: top.score, at: now });
      if (v.kind === 'suppressed' && v.why === 'cooldown') this.counters.suppressed++;
      if (v.kind !== 'alert') continue;
      const dec: AlertDecision = { trackId: track.id, subjectId: v.subjectId, score: v.score, observations: v.observations };
      decisions.push(dec);
      this.counters.alerts++;
      await this.d.onDecision({ decision: dec, frame, box: faces[i]!.detection.box, others: faces.filter((_, j) => j !== i).map((f) => f.detection.box) });
    }
    return decisions;
  }

  /** The camera stopped or reconnects: end every track. */
  endAll(): void {
    this.epoch++;
    for (const t of this.tracker.clear()) this.policy.endTrack(this.d.camera, t.id);
    this.fusion.clear();
  }
}
