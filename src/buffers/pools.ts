// Owned, reused buffers for everything that holds pixels or features of a face (issue 11.6).
//
// Each thread that touches faces (the main thread, every inference worker) has ONE BufferPools.
// (Track fusion's per-track templates, which live as long as their track rather than a frame,
// take a lease per track from the same pools: pool "fusion", released when the track ends.)
// Work on one frame takes a Lease; every buffer of that frame (decoded pixels, detector input,
// landmark crops, aligned crops, quality scratch, embedder inputs and outputs, embeddings, the
// quantised probe copies) is acquired through the lease, and lease.release() is the frame's one
// release point: each buffer is zeroed (sodium_memzero) and goes back to its pool for the next
// frame. Buffers are never handed to the garbage collector while they hold a face.
//
// audit() is what an auditor sees (`lfr audit buffers`): per pool, how many buffers exist, their
// bytes, how many are in use and how many RELEASED buffers are not all zero (must be 0). It
// reads the buffers themselves, not a list kept by the code that used them, and returns counts
// only, never content.
import { wipe } from '../crypto/secure.js';

/** The kinds of face data the product holds; one pool each per thread. */
export const POOL_NAMES = ['frame', 'detector-input', 'landmark-input', 'aligned', 'quality', 'embedder-input', 'embedder-output', 'embedding', 'probe', 'fusion'] as const;
export type PoolName = (typeof POOL_NAMES)[number];

export interface PoolAudit {
  /** Thread that owns the pool: "main" or "worker-N". */
  thread: string;
  pool: PoolName;
  buffers: number;
  bytes: number;
  inUse: number;
  /** Buffers handed out since start (shows the pool is the one the pipeline really uses). */
  acquired: number;
  released: number;
  /** Released (free) buffers with a non-zero byte: a face that was not wiped. Must be 0. */
  releasedNotZero: number;
}

type Buf = Uint8Array | Float32Array;

/** Free buffers kept per pool and size: enough for every camera's frame in flight plus spares. */
const MAX_FREE_PER_SIZE = 32;
const ZERO = Buffer.alloc(1 << 20);

/** True when every byte is zero (memcmp in 1 MB steps: ~1 ms for 30 MB). */
export function isAllZero(b: Buf): boolean {
  const bytes = Buffer.from(b.buffer, b.byteOffset, b.byteLength);
  for (let off = 0; off < bytes.length; off += ZERO.length) {
    const end = Math.min(bytes.length, off + ZERO.length);
    if (bytes.compare(ZERO, 0, end - off, off, end) !== 0) return false;
  }
  return true;
}

class Pool {
  private readonly free = new Map<string, Buf[]>();
  private readonly busy = new Set<Buf>();
  acquired = 0;

  constructor(readonly name: PoolName) {}

  acquire(kind: 'u8' | 'f32', length: number, shared: boolean): Buf {
    const key = `${kind}:${length}:${shared ? 's' : 'p'}`;
    const list = this.free.get(key);
    let b = list?.pop();
    if (!b) {
      const bytes = length * (kind === 'f32' ? 4 : 1);
      const ab = shared ? new SharedArrayBuffer(bytes) : new ArrayBuffer(bytes);
      b = kind === 'f32' ? new Float32Array(ab) : new Uint8Array(ab);
    }
    this.busy.add(b);
    this.acquired++;
    return b;
  }

  release(b: Buf): void {
    wipe(b);
    if (!this.busy.delete(b)) return;
    const key = `${b instanceof Float32Array ? 'f32' : 'u8'}:${b.length}:${b.buffer instanceof SharedArrayBuffer ? 's' : 'p'}`;
    const list = this.free.get(key) ?? [];
    // Above the cap the (already zeroed) buffer is left to the garbage collector.
    if (list.length < MAX_FREE_PER_SIZE) list.push(b);
    this.free.set(key, list);
  }

  /** Zero every buffer, in use or not (shutdown, a crashed request that cannot be traced). */
  wipeAll(): void {
    for (const b of this.busy) wipe(b);
    for (const list of this.free.values()) for (const b of list) wipe(b);
  }

  audit(thread: string): PoolAudit {
    let buffers = 0, bytes = 0, released = 0, releasedNotZero = 0;
    for (const list of this.free.values()) {
      for (const b of list) {
        buffers++;
        released++;
        bytes += b.byteLength;
        if (!isAllZero(b)) releasedNotZero++;
      }
    }
    for (const b of this.busy) {
      buffers++;
      bytes += b.byteLength;
    }
    return { thread, pool: this.name, buffers, bytes, inUse: this.busy.size, acquired: this.acquired, released, releasedNotZero };
  }
}

/** The buffers of one frame (or one request); release() is its single wipe point. */
export class Lease {
  private held: Array<[Pool, Buf]> = [];
  private hooks: Array<() => void> = [];
  private done = false;

  constructor(private readonly pools: BufferPools) {}

  get released(): boolean {
    return this.done;
  }

  f32(pool: PoolName, length: number, opts: { shared?: boolean } = {}): Float32Array {
    return this.take(pool, 'f32', length, opts.shared ?? false) as Float32Array;
  }

  u8(pool: PoolName, length: number, opts: { shared?: boolean } = {}): Uint8Array {
    return this.take(pool, 'u8', length, opts.shared ?? false) as Uint8Array;
  }

  /** Run at release, after the buffers are wiped (e.g. tell a worker to release its side). */
  onRelease(fn: () => void): void {
    if (this.done) fn();
    else this.hooks.push(fn);
  }

  /** Zero every buffer of this lease and return it to its pool. Idempotent. */
  release(): void {
    if (this.done) return;
    this.done = true;
    for (const [pool, b] of this.held) pool.release(b);
    this.held = [];
    const hooks = this.hooks;
    this.hooks = [];
    for (const fn of hooks) fn();
  }

  private take(name: PoolName, kind: 'u8' | 'f32', length: number, shared: boolean): Buf {
    if (this.done) throw new Error('buffer lease used after release');
    const pool = this.pools.pool(name);
    const b = pool.acquire(kind, length, shared);
    this.held.push([pool, b]);
    return b;
  }
}

export class BufferPools {
  private readonly pools = new Map<PoolName, Pool>();

  constructor(readonly thread: string) {}

  lease(): Lease {
    return new Lease(this);
  }

  /** @internal Lease's access to a named pool. */
  pool(name: PoolName): Pool {
    let p = this.pools.get(name);
    if (!p) {
      p = new Pool(name);
      this.pools.set(name, p);
    }
    return p;
  }

  audit(): PoolAudit[] {
    return [...this.pools.values()].map((p) => p.audit(this.thread));
  }

  wipeAll(): void {
    for (const p of this.pools.values()) p.wipeAll();
  }
}

/** A lease for one-off calls outside the live path (enrolment, eval): its own throwaway pools. */
export function scratchLease(): Lease {
  return new BufferPools('scratch').lease();
}

/** Run `fn` with the caller's lease, or with a scratch lease released (wiped) when it ends. */
export async function withLease<T>(lease: Lease | undefined, fn: (l: Lease) => Promise<T>): Promise<T> {
  if (lease) return fn(lease);
  const own = scratchLease();
  try {
    return await fn(own);
  } finally {
    own.release();
  }
}
