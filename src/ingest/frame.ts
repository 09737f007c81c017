// What ingest hands to vision: one decoded, scaled RGB frame of one camera, with its lease.
import { BufferPools, type Lease } from '../buffers/pools.js';
import type { RgbImage } from '../vision/types.js';
import { wipe } from '../crypto/secure.js';

export interface Frame {
  camera: string;
  /** Per-camera frame counter since the pipeline started. */
  seq: number;
  /**
   * Wall-clock time (ms since epoch) when the camera captured the frame, as well as the daemon can
   * estimate it (camera.ts captureTime: the decoder's hand-over time less the RTSP jitter
   * buffer's latency), NOT when it reached the daemon, which under load is seconds later. The
   * alert card shows it; the tracker's times are these.
   */
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

/**
 * The best estimate of when the camera captured a frame, from what the daemon can see: the
 * decoder's hand-over time (before the socket and the daemon's queue, which under load add
 * seconds), less the RTSP jitter buffer's latency (rtspsrc holds each frame that long before
 * decoding; 0 for files). The binding exposes no buffer PTS / RTCP sender reports, so this is
 * an estimate to within the decode time (tens of ms). Never later than its arrival, never a
 * nonsense value from a broken header.
 */
export function captureTime(decodedAt: number, jitterLatencyMs: number, arrivedAt: number): number {
  if (!Number.isFinite(decodedAt) || decodedAt <= 0 || decodedAt > arrivedAt || arrivedAt - decodedAt > 60_000) return arrivedAt - jitterLatencyMs;
  return decodedAt - jitterLatencyMs;
}
