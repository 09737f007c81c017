// Model-neutral types of the face pipeline. Everything downstream (watchlist enrolment, the live
// matcher, eval) depends only on these and on FaceEngine, never on a particular model.
import type { Lease } from '../buffers/pools.js';

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
  /**
   * The landmark model's 68 iBUG points (x,y interleaved, image pixels) when there is one: head
   * pose is fitted to them (vision/pose.ts). Absent with `vision.landmarker: "none"`.
   */
  shape68?: Float32Array;
}

export type RejectCode = 'too_small' | 'blurred' | 'pose' | 'low_score' | 'cut_off';

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

/** A face detector behind a model adapter (RFB, BlazeFace, YuNet, SCRFD ...). */
export interface DetectorAdapter {
  readonly id: string;
  /**
   * Faces in image pixel coordinates, after NMS, sorted by score (highest first). The input
   * tensor comes from `lease` (pool "detector-input") when given, else from a scratch lease
   * released before returning: either way it is wiped.
   */
  detect(img: RgbImage, lease?: Lease): Promise<FaceDetection[]>;
  close(): Promise<void>;
}

/** Thresholds of a quality gate (config quality.live or quality.enrolment). */
export interface QualityGateSettings {
  minInterEyePx: number;
  minSharpness: number;
  maxYawDeg: number;
  maxPitchDeg: number;
  minDetectorScore: number;
}

/**
 * The whole still-image face pipeline. Built by createFaceEngine(config, log) in
 * src/vision/engine.ts; the only vision API the rest of the product uses.
 */
export interface FaceEngine {
  readonly embeddingSize: number;
  readonly models: { detector: string; landmarker: string; embedder: string };
  /** Detect faces (landmarks refined), sorted by score, highest first. */
  detect(img: RgbImage): Promise<FaceDetection[]>;
  /** Align to 112x112 and measure quality against the gates (never throws on a poor face). */
  analyse(img: RgbImage, det: FaceDetection, gates: QualityGateSettings): AnalysedFace;
  /** L2-normalised embedding of an aligned 112x112 face. The caller wipes it when done. */
  embed(aligned: RgbImage): Promise<Float32Array>;
  close(): Promise<void>;
}
