// What ingest hands to vision: one decoded, scaled RGB frame of one camera, with its lease.
import { BufferPools, type Lease } from '../vision/buffers.js';
import type { RgbImage } from '../vision/types.js';
import { wipe } from '../crypto/secure.js';

export interface Frame {
  camera: string;
  /** Per-camera frame counter since the pipeline started. */
  seq: number;
  /** Wall-clock time (ms since epoch) when the frame reached the daemon from its decoder. */
  capturedAt: number;
  /**
   * The frame's pixels. From ingest they live in an owned buffer of `lease` (pool "frame",
   * shared memory so inference workers read them without a copy).
   */
  image: RgbImage;
  /**
   * Every buffer of this frame's analysis (pixels, embeddings, probe copies, and through its
   * release hooks the worker-side tensors) is acquired here; lease.release() is the frame's one
   * release point, called by CameraManager.releaseFrame once its decisions are made.
   */
  lease: Lease;
}

/**
 * A frame for an image that did not come from ingest (tools, tests): its own lease, whose
 * release also zeroes the image.
 */
export function frameOf(camera: string, seq: number, capturedAt: number, image: RgbImage, pools: BufferPools = new BufferPools('scratch')): Frame {
  const lease = pools.lease();
  lease.onRelease(() => wipe(image.data));
  return { camera, seq, capturedAt, image, lease };
}
