// The embedding schedule: when is a tracked face worth an embedding (the costliest step after
// detection)? Not every frame: the first usable look, then only a clearly better look, plus
// confirmation looks at a fixed pace while the track has a candidate at or above the threshold
// that still needs minObservations. And always at once when the tracker doubts that the face is
// still the track's person (track.reverify: box jumped, size changed, frames missed it), and at
// least every verifyIntervalMs while a track lives: a stranger who steps into a wanted person's
// place must be looked at, and checked against the track's looks (analyser.ts), before any
// evidence of the track is used again (issue 19). Pure: the track and the time come in as arguments.
import type { FaceQuality } from '../vision/types.js';
import type { Track } from './tracker.js';

export interface ScheduleSettings {
  /** Re-embed when quality beats the best embedded so far by this factor. */
  qualityGain: number;
  /** While a candidate awaits confirmation, embed again after this long. */
  confirmIntervalMs: number;
  /**
   * Looks a track should get before the schedule waits for a better one (track fusion): until it
   * has this many embeddings, embed again every confirmIntervalMs. 1 = first look only.
   */
  looks?: number;
  /**
   * Embed a live track's face again after this long even when nothing else asks for it, so a
   * face that changed without a visible jump (one person replaced by another in the same place)
   * is checked within this time. Absent: never (the old schedule).
   */
  verifyIntervalMs?: number;
}

/**
 * 1.1: a face 10 % larger/more frontal is worth a new look; 200 ms = every 2nd frame at 10 fps;
 * 1 s: one extra embedding per track per second (the miss window), see match.trackVerifyMs.
 */
export const DEFAULT_SCHEDULE: ScheduleSettings = { qualityGain: 1.1, confirmIntervalMs: 200, verifyIntervalMs: 1000 };

/**
 * Quality score for the schedule: inter-eye distance (resolution on the face) times detector
 * confidence times a frontal factor; 0 for a face that failed the live quality gate (never
 * embedded, never matched).
 */
export function qualityScore(q: FaceQuality): number {
  if (!q.ok) return 0;
  const frontal = Math.cos((q.yawDeg * Math.PI) / 180) * Math.cos((q.pitchDeg * Math.PI) / 180);
  return q.interEyePx * q.detectorScore * Math.max(0.05, frontal);
}

export function shouldEmbed(track: Track, quality: number, awaitingConfirmation: boolean, now: number, s: ScheduleSettings = DEFAULT_SCHEDULE): boolean {
  if (!(quality > 0)) return false;
  if (track.embeds === 0) return true;
  // The tracker doubts this is still the same person: look now, whatever the quality.
  if (track.reverify) return true;
  if (s.verifyIntervalMs !== undefined && now - track.lastEmbedAt >= s.verifyIntervalMs) return true;
  if (quality >= track.bestQuality * s.qualityGain) return true;
  // Fusion needs a few looks: a track whose first look scored below the threshold would otherwise
  // wait for a 10 % better face that may never come (a person walking at a steady distance).
  if (track.embeds < (s.looks ?? 1) && now - track.lastEmbedAt >= s.confirmIntervalMs) return true;
  return awaitingConfirmation && now - track.lastEmbedAt >= s.confirmIntervalMs;
}

export function noteEmbedded(track: Track, quality: number, now: number): void {
  track.bestQuality = Math.max(track.bestQuality, quality);
  track.lastEmbedAt = now;
  track.embeds += 1;
  track.reverify = false;
}
