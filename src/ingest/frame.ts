// What ingest hands to vision: one decoded, scaled RGB frame of one camera.
import type { RgbImage } from '../vision/types.js';

export interface Frame {
  camera: string;
  /** Per-camera frame counter since the pipeline started. */
  seq: number;
  /** Wall-clock time (ms since epoch) when the frame left the decoder. */
  capturedAt: number;
  image: RgbImage;
}
