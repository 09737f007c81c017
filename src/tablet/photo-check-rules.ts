// The photo check's pure rules (issue 25), apart from any I/O so they are tested alone: which
// face of the photo is the person, why a photo is unusable (in words an officer acts on), how
// dark a face is, and the per-officer rate limit. The handler (photo-check.ts) applies them.
import { BACKGROUND_FACE_RATIO } from '../watchlist/enrol.js';
import type { FaceDetection, FaceQuality, QualityGateSettings, RgbImage } from '../vision/types.js';

const faceSize = (d: { box: { width: number; height: number } }): number => Math.sqrt(d.box.width * d.box.height);

/**
 * The one person of the photo, as enrolment picks a reference face: the largest confident face;
 * another confident face at least half its size means two people, and the photo is refused
 * rather than guessed (comparing a bystander would answer about the wrong person).
 */
export function pickPhotoFace(dets: readonly FaceDetection[], gates: QualityGateSettings): { face: FaceDetection } | { refused: 'no_face' | 'several_faces' } {
  if (dets.length === 0) return { refused: 'no_face' };
  const strong = dets.filter((d) => d.score >= gates.minDetectorScore);
  const face = strong.reduce((a, b) => (faceSize(b) > faceSize(a) ? b : a), strong[0] ?? dets[0]!);
  const rivals = strong.filter((d) => d !== face && faceSize(d) >= BACKGROUND_FACE_RATIO * faceSize(face));
  return rivals.length > 0 ? { refused: 'several_faces' } : { face };
}

/** Mean luma (0..255) of the aligned face's central region: eyes, nose and mouth. */
export function meanLuma(aligned: RgbImage, margin = 16): number {
  const { width: W, height: H, data } = aligned;
  let sum = 0, n = 0;
  for (let y = margin; y < H - margin; y++) {
    for (let x = margin; x < W - margin; x++) {
      const j = (y * W + x) * 3;
      sum += 0.299 * data[j]! + 0.587 * data[j + 1]! + 0.114 * data[j + 2]!;
      n++;
    }
  }
  return n ? sum / n : 0;
}

/**
 * Below this mean luma the face is too dark to compare. 40 of 255: a face in a dim doorway at
 * night still reads 60-90 on a phone camera's auto exposure; under 40 the eyes and mouth are lost
 * in noise and the embedding is not the person's.
 */
export const MIN_FACE_LUMA = 40;

export type UnusableCode = 'no_face' | 'several_faces' | 'too_small' | 'blurred' | 'pose' | 'low_score' | 'cut_off' | 'too_dark';

/** What the tablet says after "photo unusable: ": what to do differently, not the numbers. */
export const UNUSABLE_TEXT: Record<UnusableCode, string> = {
  no_face: 'no face found',
  several_faces: 'more than one face: photograph one person only',
  too_small: 'face too small: step closer',
  blurred: 'too blurred: hold still',
  pose: 'eyes not visible: ask the person to face the camera',
  low_score: 'face not clear (covered, or too dark)',
  cut_off: 'face cut off by the edge of the photo',
  too_dark: 'too dark',
};

/** Every reason a usable-looking face still fails, in gate order, plus darkness. */
export function unusableReasons(q: FaceQuality, luma: number): UnusableCode[] {
  const codes: UnusableCode[] = q.reasons.map((r) => r.code);
  if (luma < MIN_FACE_LUMA) codes.push('too_dark');
  return [...new Set(codes)];
}

/**
 * At most `max` attempts per officer in any `windowMs` (sliding). Attempts are counted whether
 * they succeed or not: the limit protects the van and the public, not the officer's quota.
 */
export class RateLimiter {
  private readonly hits = new Map<string, number[]>();

  constructor(
    private readonly max: number,
    private readonly windowMs: number,
  ) {}

  /** Record an attempt now; returns 0 when allowed, else seconds until the next one is. */
  take(key: string, now: number): number {
    const list = (this.hits.get(key) ?? []).filter((t) => now - t < this.windowMs);
    if (list.length >= this.max) {
      this.hits.set(key, list);
      return Math.max(1, Math.ceil((list[0]! + this.windowMs - now) / 1000));
    }
    list.push(now);
    this.hits.set(key, list);
    // Bounded: forget officers idle for a window (a van has tens of officers, not thousands).
    if (this.hits.size > 1000) for (const [k, v] of this.hits) if (!v.some((t) => now - t < this.windowMs)) this.hits.delete(k);
    return 0;
  }
}
