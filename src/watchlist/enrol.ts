// Enrol one reference image: decode, detect, gate on quality, embed, and cut a small reference
// JPEG for the officer's side-by-side view. Never throws for a bad image: it returns a reason,
// because one bad photo must not stop the rest of the watchlist from enrolling.
import type { RejectCode } from '../vision/types.js';
import { decodeImage, ImageError } from '../vision/decode.js';
import type { FaceEngine, QualityGateSettings, RgbImage } from '../vision/types.js';
import { encodeFaceCrop } from '../vision/jpeg.js';
import { wipe } from '../crypto/secure.js';

/** Image-level refusals, then the quality gate's codes (vision/types.ts RejectCode: too_small, blurred, pose, low_score, cut_off). */
export type ImageRejectCode = 'too_large' | 'not_image' | 'no_face' | 'several_faces' | RejectCode;

export type EnrolOutcome =
  | { ok: true; embedding: Float32Array; referenceJpeg: Buffer }
  | { ok: false; code: ImageRejectCode; reason: string };

/** Longest side of the reference JPEG: enough for an officer to compare faces on a tablet, small in the store. */
export const REFERENCE_JPEG_PX = 192;
/** A second face at least this fraction of the main face's height makes the image ambiguous. */
export const BACKGROUND_FACE_RATIO = 0.5;
const faceSize = (d: { box: { width: number; height: number } }): number => Math.sqrt(d.box.width * d.box.height);
export async function enrolImage(engine: FaceEngine, bytes: Buffer, gates: QualityGateSettings, maxImageBytes: number): Promise<EnrolOutcome> {
  if (bytes.length > maxImageBytes) return { ok: false, code: 'too_large', reason: `image is ${bytes.length} bytes, over watchlist.maxImageBytes (${maxImageBytes})` };
  let img: RgbImage;
  try {
    img = await decodeImage(bytes, { label: 'image' });
  } catch (err) {
    if (err instanceof ImageError) return { ok: false, code: 'not_image', reason: err.message };
    throw err;
  }
  try {
    const dets = await engine.detect(img);
    if (dets.length === 0) return { ok: false, code: 'no_face', reason: 'no face found' };
    // Several confident faces of similar size: we cannot know which one is the subject, so the
    // image is refused rather than guessed (enrolling a bystander would alert on an innocent
    // person). A confident face under half the size of the largest is a background face (LFW
    // photos often have one) and does not count; faint detections below the gate never count.
    // Size is the square root of the box area, not its height: a tall sliver along the edge of a
    // portrait (a curl of hair the detector scores at 0.8) is as tall as a face but a fraction of
    // its area, and refusing the station's good custody photo for it would lose a subject.
    const strong = dets.filter((d) => d.score >= gates.minDetectorScore);
    const det = strong.reduce((a, b) => (faceSize(b) > faceSize(a) ? b : a), strong[0] ?? dets[0]!);
    const rivals = strong.filter((d) => d !== det && faceSize(d) >= BACKGROUND_FACE_RATIO * faceSize(det));
    if (rivals.length > 0) return { ok: false, code: 'several_faces', reason: `${rivals.length + 1} faces of similar size found; a reference image must show one person` };
    const face = engine.analyse(img, det, gates);
    if (!face.quality.ok) {
      wipe(face.aligned.data);
      const first = face.quality.reasons[0];
      return { ok: false, code: first?.code ?? 'low_score', reason: face.quality.reasons.map((r) => r.message).join('; ') || 'below the enrolment quality gate' };
    }
    const embedding = await engine.embed(face.aligned);
    wipe(face.aligned.data);
    // 30 % margin shows hair line and chin, as on the alert crop.
    const referenceJpeg = await encodeFaceCrop(img, det.box, { margin: 0.3, maxWidth: REFERENCE_JPEG_PX, quality: 85 });
    return { ok: true, embedding, referenceJpeg };
  } finally {
    wipe(img.data);
  }
}
