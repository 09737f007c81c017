// Per-camera face tracker: one person crossing the zone of recognition should be one track, so
// the alert policy can ask for several agreeing observations and raise ONE alert per person, and
// two people must never be one track (issue 19: in a walk-through queue the next face appears
// where the last one was, often within half a second).
//
// The technique is the one multi-object trackers that survive crowds use (SORT / DeepSORT /
// ByteTrack): a MOTION gate and an optimal assignment here, an APPEARANCE gate after it.
//  1. Time first. A track that analysed frames have missed, and that has not been seen for the
//     miss window, ends BEFORE the next frame's faces are associated, so a face arriving after it
//     left starts a new track. Only frames that were analysed and did not see the face count as
//     evidence that it left: a loaded box that analyses one frame every few seconds has no such
//     frames, keeps a walking person's track, and lets the appearance gate decide.
//  2. Position second: IoU, or a centre shift that may grow with the time since the last sighting
//     (a face moves further in 2 s than in 100 ms); pairs are assigned optimally (Hungarian,
//     assign.ts), not greedily, because greedy pairing goes wrong exactly when faces are close.
//  3. Appearance last (analyser.ts + fusion.ts, DeepSORT's re-identification check): faces are
//     embedded only now and then (the costliest step), so a track whose continuation is doubtful
//     (box jumped, face size changed, or frames missed it before this sighting) is flagged
//     `reverify`; the schedule embeds it at once, and a look that disagrees with the track's looks
//     is split off into a new track (split()) and searched alone.
// Pure: time comes in as an argument.
import type { Box } from '../vision/types.js';
import { iou } from '../vision/nms.js';
import { assign, FORBIDDEN } from './assign.js';

export interface TrackerSettings {
  /** IoU at or above which a detection continues a track. */
  minIou: number;
  /**
   * Centre distance, in face widths, under which a detection still continues a track, for a
   * sighting 100 ms after the last (or sooner); it grows in proportion for longer gaps.
   */
  maxCentreJump: number;
  /** A track that frames have missed for this long has ended (the person left or turned away). */
  maxMissMs: number;
}

/** 0.3 IoU tolerates a face that moved a third of its width; 1 s covers a short occlusion. */
export const DEFAULT_TRACKER: TrackerSettings = { minIou: 0.3, maxCentreJump: 0.6, maxMissMs: 1000 };

/**
 * A track ends when analysed frames have missed it for the miss window AND at least this many
 * analysed frames in a row missed it. One frame that misses a small or side-on face is detector
 * flicker, not evidence the person left: on a loaded box analysing a frame every 0.7 s, a single
 * flicker used to end the track (the next sighting came 1.4 s after the last) and the same person
 * was counted again; the published "people seen" of one deployment-report run was 21 tracks for
 * at most 12 appearances. At 10 analysed frames a second, two misses take 0.2 s, well inside the
 * window, so a fast box ends tracks exactly as before; the appearance gate, not this rule, keeps
 * a newcomer in the same place apart (issue 19).
 */
const MIN_MISSED_FRAMES = 2;

function gone(t: Track, now: number, s: TrackerSettings): boolean {
  return t.missedAt > t.lastSeenAt && t.missedFrames >= MIN_MISSED_FRAMES && now - t.lastSeenAt > s.maxMissMs;
}

/** The centre gate is stated per 100 ms (one frame at the default 10 fps analysis rate). */
const JUMP_REFERENCE_MS = 100;
/** ... and grows with the gap up to this many face widths (a person crossing the frame). */
const MAX_JUMP_WIDTHS = 6;
/** A continuation whose IoU is below this, or whose face size changed by more than SIZE_CHANGE, is reverified. */
const STEADY_IOU = 0.5;
const SIZE_CHANGE = 0.25;

export interface Track {
  id: number;
  box: Box;
  firstSeenAt: number;
  lastSeenAt: number;
  hits: number;
  /** Best face-quality score embedded so far (see qualityScore); -1 before the first embedding. */
  bestQuality: number;
  lastEmbedAt: number;
  embeds: number;
  /** Time of the latest analysed frame that did not see this track (-Infinity: none since it started). */
  missedAt: number;
  /** Analysed frames in a row that did not see this track (0 once it is seen again). */
  missedFrames: number;
  /**
   * The continuation is in doubt (box jumped, face size changed, frames missed the track before
   * this sighting): embed the face at the next chance, whatever its quality, and check it is the
   * same person. Cleared when a look is embedded (schedule.ts noteEmbedded).
   */
  reverify: boolean;
  /** Box and time of the sighting before this one (split() restores them). */
  prevBox: Box;
  prevSeenAt: number;
}

export { iou };

function centreJump(a: Box, b: Box): number {
  const dx = a.x + a.width / 2 - (b.x + b.width / 2);
  const dy = a.y + a.height / 2 - (b.y + b.height / 2);
  return Math.hypot(dx, dy) / Math.max(1, Math.max(a.width, b.width));
}

export interface TrackUpdate {
  /** trackIds[i] is the track of boxes[i]. */
  trackIds: number[];
  /** Tracks that ended at this update (missed for maxMissMs). */
  ended: Track[];
}

export class FaceTracker {
  private tracks = new Map<number, Track>();
  private nextId = 1;

  constructor(private readonly settings: TrackerSettings = DEFAULT_TRACKER) {}

  get active(): Track[] {
    return [...this.tracks.values()];
  }

  get(id: number): Track | undefined {
    return this.tracks.get(id);
  }

  /** End stale tracks, associate this frame's face boxes with tracks, create tracks for new faces. */
  update(boxes: Box[], now: number): TrackUpdate {
    const s = this.settings;
    // 1. Time: frames have missed it and the miss window has passed: it ended before this frame.
    const ended: Track[] = [];
    for (const t of this.tracks.values()) {
      if (gone(t, now, s)) {
        ended.push(t);
        this.tracks.delete(t.id);
      }
    }
    // 2. Position: cost 1 - IoU inside the IoU gate, else 2 + centre jump inside the centre gate.
    const live = [...this.tracks.values()];
    // Ties (a face standing where a split-off or older track also stood) go to the track seen
    // most recently: it is the one that person is on.
    const cost = live.map((t) => {
      const jumpGate = Math.min(MAX_JUMP_WIDTHS, s.maxCentreJump * Math.max(1, (now - t.lastSeenAt) / JUMP_REFERENCE_MS));
      const age = 1e-3 * Math.min(1, (now - t.lastSeenAt) / Math.max(1, s.maxMissMs));
      return boxes.map((b) => {
        const o = iou(t.box, b);
        if (o >= s.minIou) return 1 - o + age;
        const j = centreJump(t.box, b);
        return j <= jumpGate ? 2 + j + age : FORBIDDEN;
      });
    });
    const rowToCol = assign(cost);
    const trackIds = new Array<number>(boxes.length).fill(0);
    live.forEach((t, r) => {
      const i = rowToCol[r]!;
      if (i < 0) {
        // Not seen in this frame: evidence that it left; a frame past the window ends it now.
        t.missedAt = now;
        t.missedFrames += 1;
        if (gone(t, now, s)) {
          ended.push(t);
          this.tracks.delete(t.id);
        }
        return;
      }
      const b = boxes[i]!;
      const sizeRatio = b.width / Math.max(1, t.box.width);
      const doubtful = iou(t.box, b) < STEADY_IOU || Math.abs(sizeRatio - 1) > SIZE_CHANGE || t.missedAt > t.lastSeenAt;
      if (doubtful) t.reverify = true;
      t.prevBox = t.box;
      t.prevSeenAt = t.lastSeenAt;
      t.box = b;
      t.lastSeenAt = now;
      t.missedFrames = 0;
      t.hits += 1;
      trackIds[i] = t.id;
    });
    boxes.forEach((b, i) => {
      if (trackIds[i] === 0) trackIds[i] = this.create(b, now).id;
    });
    return { trackIds, ended };
  }

  /**
   * The face just associated with track `id` is not the track's person (the appearance gate
   * disagreed): give it a new track, and put the old track back as it was before this frame
   * (not seen now, so it ends unless its person comes back). Returns the new track.
   */
  split(id: number, now: number): Track {
    const t = this.tracks.get(id);
    if (!t) throw new RangeError(`no track ${id}`);
    const box = t.box;
    t.box = t.prevBox;
    t.lastSeenAt = t.prevSeenAt;
    t.hits -= 1;
    t.missedAt = now;
    t.missedFrames += 1;
    return this.create(box, now);
  }

  /** End tracks missed for maxMissMs (a frame with no faces at all goes through update() too). */
  expire(now: number): Track[] {
    return this.update([], now).ended;
  }

  /** End every track (camera stopped or reconnected). */
  clear(): Track[] {
    const all = [...this.tracks.values()];
    this.tracks.clear();
    return all;
  }

  private create(box: Box, now: number): Track {
    const t: Track = {
      id: this.nextId++,
      box,
      firstSeenAt: now,
      lastSeenAt: now,
      hits: 1,
      bestQuality: -1,
      lastEmbedAt: -Infinity,
      embeds: 0,
      missedAt: -Infinity,
      missedFrames: 0,
      reverify: false,
      prevBox: box,
      prevSeenAt: now,
    };
    this.tracks.set(t.id, t);
    return t;
  }
}
