// A bounded per-camera frame queue that drops the OLDEST frame when full (live video is worth
// nothing late, GUIDE practice 9). Dropped frames are handed to onDrop so their pixels (faces of
// passers-by) are wiped at once rather than left for the garbage collector.
export class FrameQueue<T> {
  private items: T[] = [];
  dropped = 0;

  constructor(
    private readonly depth: number,
    private readonly onDrop: (item: T) => void,
  ) {
    if (!Number.isInteger(depth) || depth < 1) throw new RangeError('queue depth must be a positive integer');
  }

  get length(): number {
    return this.items.length;
  }

  get full(): boolean {
    return this.items.length >= this.depth;
  }

  push(item: T): void {
    while (this.items.length >= this.depth) {
      const old = this.items.shift() as T;
      this.dropped++;
      this.onDrop(old);
    }
    this.items.push(item);
  }

  shift(): T | undefined {
    return this.items.shift();
  }

  /** Remove everything without counting drops (on stop); each item goes to onDrop for wiping. */
  clear(): void {
    const items = this.items;
    this.items = [];
    for (const it of items) this.onDrop(it);
  }
}
