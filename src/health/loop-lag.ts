// Event-loop delay of the daemon (issue 13 item 5): how late the loop runs its callbacks, from
// Node's own sampler (perf_hooks.monitorEventLoopDelay). With every model in worker threads this
// should stay in single milliseconds; a high p99 means something slow runs on the loop again
// and MQTT acks, the control socket and the tablet page wait behind it. Exported by /metrics,
// shown by `lfr status`, measured by `lfr bench live` (eventLoopLagP99Ms).
import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';
import type { Component } from '../lifecycle.js';

export interface LoopLagFigures {
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  /** Length of the window the figures cover. */
  windowMs: number;
}

/** Sampling period: 10 ms resolves the 20 ms target without measurable cost. */
const RESOLUTION_MS = 10;

export class LoopLag implements Component {
  readonly name = 'loop-lag';
  private h: IntervalHistogram | null = null;
  private since = 0;
  private last: LoopLagFigures | null = null;

  constructor(private readonly windowMs = 60_000) {}

  async start(): Promise<void> {
    this.h = monitorEventLoopDelay({ resolution: RESOLUTION_MS });
    this.h.enable();
    this.since = Date.now();
  }

  async stop(): Promise<void> {
    this.h?.disable();
    this.h = null;
  }

  /** Figures of the current window; the window restarts every windowMs (the last one is kept). */
  figures(): LoopLagFigures | null {
    const h = this.h;
    if (!h) return this.last;
    const now = Date.now();
    if (h.count > 0) {
      // The histogram holds nanoseconds; it includes the sampling interval itself.
      const ms = (ns: number): number => Math.max(0, Math.round((ns / 1e6 - RESOLUTION_MS) * 10) / 10);
      const f = { p50Ms: ms(h.percentile(50)), p99Ms: ms(h.percentile(99)), maxMs: ms(h.max), windowMs: now - this.since };
      if (now - this.since >= this.windowMs) this.reset(f);
      return f;
    }
    return this.last;
  }

  /** Start a new window now (benchmarks measure exactly their timed pass). */
  reset(keep: LoopLagFigures | null = null): void {
    this.last = keep;
    this.h?.reset();
    this.since = Date.now();
  }
}
