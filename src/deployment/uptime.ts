// Per-camera live time and interruptions during a deployment, for the results report. Pure: fed
// camera state changes and times, no timers. An interruption is a live camera going down (lost,
// stalled, failed) while the deployment runs, including a daemon restart in the middle (the time
// the daemon was down counts as not live). Checkpointed with the deployment's counts.

export interface CameraUptime {
  name: string;
  /** Live milliseconds up to `at` (the snapshot's time). */
  liveMs: number;
  interruptions: number;
  /** Live now, and since when (ms since epoch), for the running total. */
  live: boolean;
  since: number;
  /**
   * When the camera was analysed slower than the tracker's miss window (issue 19: people who
   * follow each other were then told apart by appearance only): from, to (null: still), rate.
   */
  slowAnalysis?: Array<{ from: number; to: number | null; analysedFps: number }>;
}

export interface UptimeState {
  at: number;
  cameras: CameraUptime[];
}

export class UptimeTracker {
  private readonly cams = new Map<string, CameraUptime>();

  /** A new deployment (no state) or a resumed one (its checkpoint): who is live now. */
  constructor(now: number, current: ReadonlyArray<{ name: string; live: boolean }>, resumed: UptimeState | null = null) {
    for (const c of current) {
      const before = resumed?.cameras.find((r) => r.name === c.name);
      // The checkpoint says what was live up to its time; the gap until now was not live, and a
      // camera live at the checkpoint was therefore interrupted by the restart.
      const liveMs = before ? before.liveMs + (before.live ? Math.max(0, resumed!.at - before.since) : 0) : 0;
      const interruptions = (before?.interruptions ?? 0) + (before?.live ? 1 : 0);
      this.cams.set(c.name, { name: c.name, liveMs, interruptions, live: c.live, since: now });
    }
  }

  /** A camera's state changed at `at`. Unknown cameras (not part of the deployment) are ignored. */
  note(name: string, live: boolean, at: number): void {
    const c = this.cams.get(name);
    if (!c || c.live === live) return;
    if (c.live) {
      c.liveMs += Math.max(0, at - c.since);
      c.interruptions++;
    }
    c.live = live;
    c.since = at;
  }

  /** The camera's analysis turned slow or recovered at `at` (at most 100 periods are kept). */
  noteSlow(name: string, slow: boolean, at: number, analysedFps: number): void {
    const c = this.cams.get(name);
    if (!c) return;
    const list = (c.slowAnalysis ??= []);
    const open = list.at(-1)?.to === null ? list.at(-1)! : null;
    if (slow && !open && list.length < 100) list.push({ from: at, to: null, analysedFps: Number(analysedFps.toFixed(2)) });
    else if (!slow && open) open.to = at;
  }

  /** Totals up to `at`, without changing the running state (checkpoints and the final report). */
  snapshot(at: number): UptimeState {
    return {
      at,
      cameras: [...this.cams.values()].map((c) => ({ ...c, ...(c.slowAnalysis ? { slowAnalysis: c.slowAnalysis.map((x) => ({ ...x })) } : {}), liveMs: c.liveMs + (c.live ? Math.max(0, at - c.since) : 0), since: c.live ? at : c.since })),
    };
  }
}
