// Reads the frame stream of a decoder process (see decoder-process.ts) straight into owned,
// shared frame buffers: the socket's `onread` hands libuv the exact slice of the frame buffer to
// fill next, so the bytes go from the kernel into the buffer the inference workers read, with no
// intermediate copy and no garbage-collected chunk left holding a face.
import type { BufferPools, Lease } from '../buffers/pools.js';
import { FRAME_MAGIC, HEADER_BYTES } from './decoder-protocol.js';

/** 4K RGB: anything larger in a header is a broken stream, not a frame. */
export const MAX_FRAME_BYTES = 3840 * 2160 * 3;

export interface ReceivedFrame {
  lease: Lease;
  data: Uint8Array;
  width: number;
  height: number;
  /** Wall-clock ms when the decoder handed the frame over (decoder-protocol.ts). */
  decodedAt: number;
}

export class FrameReader {
  private readonly header = new Uint8Array(HEADER_BYTES);
  private headerFill = 0;
  private lease: Lease | null = null;
  private body: Uint8Array | null = null;
  private bodyFill = 0;
  private width = 0;
  private height = 0;
  private decodedAt = 0;
  private broken = false;

  constructor(
    private readonly pools: BufferPools,
    private readonly onFrame: (f: ReceivedFrame) => void,
    private readonly onError: (reason: string) => void,
  ) {}

  /** net.connect({ onread }) options. */
  get onread(): { buffer: () => Uint8Array; callback: (n: number, buf: Uint8Array) => boolean } {
    return { buffer: () => this.next(), callback: (n) => this.received(n) };
  }

  /** Wipe and give back a partly received frame (the connection is going away). */
  close(): void {
    this.lease?.release();
    this.lease = null;
    this.body = null;
    this.header.fill(0);
  }

  private next(): Uint8Array {
    if (this.body) return this.body.subarray(this.bodyFill);
    return this.header.subarray(this.headerFill);
  }

  private received(n: number): boolean {
    if (this.broken) return false;
    if (this.body) {
      this.bodyFill += n;
      if (this.bodyFill === this.body.length) {
        const f: ReceivedFrame = { lease: this.lease!, data: this.body, width: this.width, height: this.height, decodedAt: this.decodedAt };
        this.lease = null;
        this.body = null;
        this.onFrame(f);
      }
      return true;
    }
    this.headerFill += n;
    if (this.headerFill < HEADER_BYTES) return true;
    this.headerFill = 0;
    const v = new DataView(this.header.buffer);
    const magic = v.getUint32(0, true), w = v.getUint32(4, true), h = v.getUint32(8, true), len = v.getUint32(12, true);
    if (magic !== FRAME_MAGIC || len !== w * h * 3 || len === 0 || len > MAX_FRAME_BYTES) {
      this.broken = true;
      this.onError('the decoder process sent a malformed frame');
      return false;
    }
    this.width = w;
    this.height = h;
    this.decodedAt = v.getFloat64(16, true);
    this.lease = this.pools.lease();
    // Shared memory: inference workers read the pixels where they are.
    this.body = this.lease.u8('frame', len, { shared: true });
    this.bodyFill = 0;
    return true;
  }
}
