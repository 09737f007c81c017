// The thin scheduler around the pure policy: runs every registered purge at start-up and then
// periodically (and early when a record is due sooner), audits each run that deleted something
// (or failed) with its counts, and never lets one failing task stop the others or the daemon.
// Mounted by the composition root (src/daemon.ts) for the alert store, while the daemon runs.
import type { Component, Clock } from '../lifecycle.js';
import type { Logger } from '../log.js';
import type { AuditRecorder } from '../audit/log.js';
import { nextRunDelay } from './policy.js';

export interface PurgeTask {
  readonly name: string;
  /** Delete everything due at `now`; return counts (never personal data) for the audit trail. */
  purge(now: number): Promise<Record<string, number>> | Record<string, number>;
  /** When the next record falls due, or null when nothing is held. */
  nextExpiry?(): number | null;
}

export interface PurgeRun {
  at: number;
  results: Record<string, Record<string, number> | { error: string }>;
}

export class RetentionScheduler implements Component {
  readonly name = 'retention';
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<PurgeRun> | null = null;
  private stopped = false;
  lastRun: PurgeRun | null = null;

  constructor(
    private readonly tasks: PurgeTask[],
    private readonly opts: { intervalMs: number; clock: Clock; log: Logger; audit: AuditRecorder },
  ) {}

  async start(signal: AbortSignal): Promise<void> {
    this.stopped = false;
    await this.runNow(); // enforced at start-up, before anything else can read old data
    if (signal.aborted) return;
    this.schedule();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    await this.running?.catch(() => undefined);
  }

  private schedule(): void {
    if (this.stopped) return;
    const now = this.opts.clock();
    let next: number | null = null;
    for (const t of this.tasks) {
      const e = t.nextExpiry?.() ?? null;
      if (e !== null && (next === null || e < next)) next = e;
    }
    // +50 ms so the record is strictly past its expiry when the run starts.
    const delay = nextRunDelay(this.opts.intervalMs, next === null ? null : next + 50, now);
    this.timer = setTimeout(() => {
      void this.runNow().finally(() => this.schedule());
    }, delay);
    this.timer.unref?.();
  }

  /** Run every task once (serialised with a run in progress). */
  runNow(): Promise<PurgeRun> {
    if (this.running) return this.running;
    this.running = (async () => {
      const at = this.opts.clock();
      const results: PurgeRun['results'] = {};
      for (const t of this.tasks) {
        try {
          results[t.name] = await t.purge(at);
        } catch (err) {
          this.opts.log.error({ err, task: t.name }, 'retention purge failed');
          results[t.name] = { error: (err as Error).message };
        }
      }
      const fields: Record<string, number | string> = {};
      for (const [name, r] of Object.entries(results)) for (const [k, v] of Object.entries(r)) fields[`${name}.${k}`] = v;
      // Audited when the run deleted something or failed: an empty run every minute would bury
      // the entries that matter (a 12 h deployment would add 720 of them) and proves nothing.
      const eventful = Object.values(fields).some((v) => typeof v === 'string' || v > 0);
      if (eventful) {
        try {
          this.opts.audit.record('retention.purge', fields);
        } catch (err) {
          this.opts.log.error({ err }, 'cannot audit the retention purge');
        }
      }
      const run = { at, results };
      this.lastRun = run;
      return run;
    })().finally(() => {
      this.running = null;
    });
    return this.running;
  }
}
