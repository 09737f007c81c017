// The only folder that touches sodium-native (GUIDE layout). Secret keys live in sodium secure
// memory (mlocked, guarded pages, not swapped) where the platform allows it; wipe() zeroes any
// buffer that held a face, a template or a key as soon as it is no longer needed.
import sodium from 'sodium-native';

/** Zero a buffer in place (sodium_memzero cannot be optimised away). */
export function wipe(buf: Uint8Array | Float32Array | null | undefined): void {
  if (!buf) return;
  const view = Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);
  sodium.sodium_memzero(view);
}

export function randomBytes(n: number): Buffer {
  const b = Buffer.alloc(n);
  sodium.randombytes_buf(b);
  return b;
}

/** A secret key held in secure memory. Call destroy() when done; the bytes are then zeroed. */
export class SecretKey {
  private buf: Buffer | null;

  private constructor(buf: Buffer) {
    this.buf = buf;
  }

  /** Allocate secure memory and copy `bytes` into it; the caller should wipe its own copy. */
  static from(bytes: Uint8Array): SecretKey {
    let buf: Buffer;
    try {
      buf = sodium.sodium_malloc(bytes.length) as Buffer;
    } catch {
      // mlock limits (RLIMIT_MEMLOCK) can refuse secure memory; fall back to an ordinary buffer
      // that is still zeroed on destroy.
      buf = Buffer.alloc(bytes.length);
    }
    Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).copy(buf);
    return new SecretKey(buf);
  }

  static generate(length = 32): SecretKey {
    const tmp = randomBytes(length);
    const k = SecretKey.from(tmp);
    wipe(tmp);
    return k;
  }

  get bytes(): Buffer {
    if (!this.buf) throw new Error('secret key used after destroy()');
    return this.buf;
  }

  get destroyed(): boolean {
    return this.buf === null;
  }

  destroy(): void {
    if (this.buf) sodium.sodium_memzero(this.buf);
    this.buf = null;
  }
}
