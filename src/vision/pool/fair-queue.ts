// Fair scheduling across cameras (issue 13 item 3): one FIFO per key (camera), served round
// robin, so a camera with a backlog never starves another. When the box cannot keep up, every
// camera waits its turn and its own ingest queue drops its oldest frames, so each camera's
// analysed rate falls evenly and its drops are counted per camera. Pure: unit-tested alone.
export class FairQueue<T> {
  private readonly queues = new Map<string, T[]>();
  /** Keys in service order; the front key is served next. */
  private order: string[] = [];

  get size(): number {
    let n = 0;
    for (const q of this.queues.values()) n += q.length;
    return n;
  }

  push(key: string, item: T): void {
    let q = this.queues.get(key);
    if (!q) {
      q = [];
      this.queues.set(key, q);
      this.order.push(key);
    }
    q.push(item);
  }

  /** The next item, taking keys in turn; the served key moves to the back of the line. */
  shift(): T | undefined {
    for (let i = 0; i < this.order.length; i++) {
      const key = this.order[i]!;
      const q = this.queues.get(key)!;
      if (q.length === 0) continue;
      const item = q.shift()!;
      this.order.splice(i, 1);
      this.order.push(key);
      return item;
    }
    return undefined;
  }

  /** Remove and return everything (stop, or no worker left). */
  drain(): T[] {
    const all: T[] = [];
    for (const key of this.order) all.push(...this.queues.get(key)!.splice(0));
    return all;
  }
}
