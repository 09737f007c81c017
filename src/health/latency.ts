// Frame-to-decision latency of the live path (decoder exit -> frame released after its
// decisions), as a window of the last frames, for `lfr status`, /metrics and `lfr bench live`.
import { createHistogram, type RecordableHistogram } from 'node:perf_hooks';

export interface LatencyFigures {
  p50Ms: number;
  p99Ms: number;
  frames: number;
}

export class LatencyWindow {
  private h: RecordableHistogram = createHistogram();
  private last: LatencyFigures | null = null;

  constructor(private readonly maxFrames = 3000) {}

  record(ms: number): void {
    this.h.record(Math.max(1, Math.round(ms)));
    // Keep the window recent: at 4 cameras x 10 fps, 3,000 frames are the last ~75 s.
    if (this.h.count >= this.maxFrames) this.reset();
  }

  figures(): LatencyFigures | null {
    if (this.h.count === 0) return this.last;
    return { p50Ms: this.h.percentile(50), p99Ms: this.h.percentile(99), frames: this.h.count };
  }

  reset(): void {
    this.last = this.h.count > 0 ? this.figures() : this.last;
    this.h = createHistogram();
  }
}
