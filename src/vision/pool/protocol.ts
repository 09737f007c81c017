// Messages between the inference pool (main thread) and its workers, in one place so both sides
// agree. Frames and embeddings travel as SharedArrayBuffers (no copy: both threads see the same
// owned buffer of the frame's lease); still images for enrolment are copied and transferred.
// Nothing here ever carries a watchlist template: the gallery and its search stay on the main
// thread.
import type { Config } from '../../config/schema.js';
import type { FrameFace } from '../engine.js';
import type { PoolAudit } from '../../buffers/pools.js';
import type { FaceDetection, QualityGateSettings } from '../types.js';

export interface WorkerInit {
  index: number;
  config: Config;
  logLevel: string;
}

export type ToWorker =
  | { t: 'analyse'; id: number; frame: SharedArrayBuffer; offset: number; width: number; height: number; gates: QualityGateSettings }
  | { t: 'embed'; id: number; faces: number[]; out: SharedArrayBuffer[] }
  | { t: 'release'; id: number }
  | { t: 'detect'; id: number; image: ArrayBuffer; width: number; height: number }
  | { t: 'embedStill'; id: number; aligned: ArrayBuffer; width: number; height: number; out: SharedArrayBuffer }
  | { t: 'audit'; id: number }
  /** Finish the request in hand, close the sessions, wipe everything, exit the thread. */
  | { t: 'close' };

export interface WorkerReady {
  t: 'ready';
  embeddingSize: number;
  models: { detector: string; landmarker: string; embedder: string };
}

export type FromWorker =
  | WorkerReady
  | { t: 'initError'; message: string }
  | { t: 'done'; id: number; value: unknown }
  | { t: 'failed'; id: number; message: string };

export type AnalyseReply = { faces: FrameFace[] };
export type DetectReply = FaceDetection[];
export type AuditReply = { pools: PoolAudit[]; framesHeld: number };
