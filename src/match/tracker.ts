// Per-camera face tracker: one person crossing the zone of recognition should be one track, so
// the alert policy can ask for several agreeing observations and raise ONE alert per person.
// Greedy IoU association (faces rarely cross each other in a walk-through zone, and at 5-25 fps
// a walking face moves less than its own width between frames), with a centre-distance fallback
// for a face that jumped because frames were dropped. Pure: time comes in as an argument.
import type { Box } from '../vision/types.js';
import { iou } from '../vision/nms.js';

export interface TrackerSettings {
  /** IoU at or above which a detection continues a track. */
  minIou: number;
  /** Centre distance, in face widths, under which a detection still continues a track. */
  maxCentreJump: number;
  /** A track not seen for this long has ended (the person left or turned away). */
  maxMissMs: number;
}

/** 0.3 IoU tolerates a face that moved a third of its width; 1 s covers a short occlusion. */
export const DEFAULT_TRACKER: TrackerSettings = { minIou: 0.3, maxCentreJump: 0.6, maxMissMs: 1000 };

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
  /** Tracks that ended at this update (not seen for maxMissMs). */
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

  /** Associate this frame's face boxes with tracks; create tracks for new faces; end stale ones. */
  update(boxes: Box[], now: number): TrackUpdate {
    const trackIds = new Array<number>(boxes.length).fill(0);
    // All candidate pairs, best first; greedy assignment is optimal enough for sparse faces.
    const pairs: { t: Track; i: number; s: number }[] = [];
    for (const t of this.tracks.values()) {
      boxes.forEach((b, i) => {
        const o = iou(t.box, b);
        if (o >= this.settings.minIou) pairs.push({ t, i, s: 1 + o });
        else {
          const j = centreJump(t.box, b);
          if (j <= this.settings.maxCentreJump) pairs.push({ t, i, s: 1 - j });
        }
      });
    }
    pairs.sort((a, b) => b.s - a.s);
    const usedTracks = new Set<number>();
    for (const { t, i } of pairs) {
      if (usedTracks.has(t.id) || trackIds[i] !== 0) continue;
      usedTracks.add(t.id);
      trackIds[i] = t.id;
      t.box = boxes[i]!;
      t.lastSeenAt = now;
      t.hits += 1;
    }
    boxes.forEach((b, i) => {
      if (trackIds[i] !== 0) return;
      const t: Track = { id: this.nextId++, box: b, firstSeenAt: now, lastSeenAt: now, hits: 1, bestQuality: -1, lastEmbedAt: -Infinity, embeds: 0 };
      this.tracks.set(t.id, t);
      trackIds[i] = t.id;
    });
    return { trackIds, ended: this.expire(now) };
  }

  /** End tracks not seen for maxMissMs (also call when a frame had no faces at all). */
  expire(now: number): Track[] {
    const ended: Track[] = [];
    for (const t of this.tracks.values()) {
      if (now - t.lastSeenAt > this.settings.maxMissMs) {
        ended.push(t);
        this.tracks.delete(t.id);
      }
    }
    return ended;
  }

  /** End every track (camera stopped or reconnected). */
  clear(): Track[] {
    const all = [...this.tracks.values()];
    this.tracks.clear();
    return all;
  }
}
