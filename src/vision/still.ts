// Still-image analysis shared by `lfr faces`, `lfr compare` and enrolment: decode a file, detect,
// align and assess each face against a gate. Turns decode/model failures into CliError-free
// typed errors so the CLI layer only maps them to messages.
import { decodeImageFile } from './decode.js';
import type { AnalysedFace, FaceEngine, QualityGateSettings, RgbImage } from './types.js';

export interface StillResult {
  file: string;
  image: RgbImage;
  faces: AnalysedFace[];
}

export async function analyseStill(engine: FaceEngine, file: string, gates: QualityGateSettings): Promise<StillResult> {
  const image = await decodeImageFile(file);
  const dets = await engine.detect(image);
  return { file, image, faces: dets.map((d) => engine.analyse(image, d, gates)) };
}

const r1 = (v: number): number => Math.round(v * 10) / 10;

/** A JSON-friendly view of an analysed face (no pixels). */
export function faceSummary(f: AnalysedFace): Record<string, unknown> {
  const { box, score, landmarks } = f.detection;
  const q = f.quality;
  return {
    box: { x: Math.round(box.x), y: Math.round(box.y), width: Math.round(box.width), height: Math.round(box.height) },
    score: Math.round(score * 1000) / 1000,
    landmarks: landmarks.map(([x, y]) => [r1(x), r1(y)]),
    quality: {
      ok: q.ok,
      interEyePx: r1(q.interEyePx),
      faceHeightPx: r1(q.faceHeightPx),
      sharpness: r1(q.sharpness),
      yawDeg: r1(q.yawDeg),
      pitchDeg: r1(q.pitchDeg),
      rollDeg: r1(q.rollDeg),
      detectorScore: Math.round(q.detectorScore * 1000) / 1000,
    },
    reasons: q.reasons,
  };
}
