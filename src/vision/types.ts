// Model-neutral types of the face pipeline. Everything downstream (watchlist enrolment, the live
// matcher, eval) depends only on these and on FaceEngine, never on a particular model.

/** 8-bit RGB, interleaved, rows packed (stride = width * 3). */
export interface RgbImage {
  width: number;
  height: number;
  data: Uint8Array;
}

export interface Box {
  x: number;
  y: number;
  width: number;
  height: number;
}

export type Point = [number, number];

/**
 * One detected face in image pixel coordinates. `landmarks` are the 5 standard points in the
 * ArcFace order: left eye, right eye, nose tip, left mouth corner, right mouth corner, where
 * "left" means the left side of the image (the subject's right).
 */
export interface FaceDetection {
  box: Box;
  score: number;
  landmarks: Point[];
}

export type RejectCode = 'too_small' | 'blurred' | 'pose' | 'low_score';

export interface QualityReason {
  code: RejectCode;
  message: string;
}

export interface FaceQuality {
  interEyePx: number;
  faceHeightPx: number;
  sharpness: number;
  yawDeg: number;
  pitchDeg: number;
  rollDeg: number;
  detectorScore: number;
  ok: boolean;
  reasons: QualityReason[];
}

/** A face after detection, quality assessment and alignment (aligned = 112x112 RGB). */
export interface AnalysedFace {
  detection: FaceDetection;
  quality: FaceQuality;
  aligned: RgbImage;
}
