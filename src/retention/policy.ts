// Pure retention decisions (GUIDE practice 10): no files, no timers, tested on their own.
// Alerts and their images live at most `maxAgeMs` after capture; the ceiling is 24 h whatever
// the configuration says, because that is the promise forces make to the public.

import { CLOCK_STEP_TOLERANCE_MS, stampAhead } from '../util/clock-guard.js';

export const RETENTION_CEILING_MS = 24 * 3600_000;

export interface RetentionPolicy {
  /** Age after capture at which a record must be gone. */
  maxAgeMs: number;
}

export interface Retainable {
  capturedAt: number;
}

export function policyFromHours(hours: number): RetentionPolicy {
  if (!Number.isFinite(hours) || hours <= 0) throw new Error(`retention must be a positive number of hours, got ${hours}`);
  return { maxAgeMs: Math.min(hours * 3600_000, RETENTION_CEILING_MS) };
}

/** The moment a record must be gone by. */
export function expiresAt(record: Retainable, policy: RetentionPolicy): number {
  return record.capturedAt + Math.min(policy.maxAgeMs, RETENTION_CEILING_MS);
}

/**
 * True when the record must be deleted now. A capture time ahead of the clock by more than the
 * shared clock-step tolerance (util/clock-guard.ts, 1 min; the clock stepped back, or a damaged
 * row) cannot prove the record is young: it is purged, so no sequence of backwards steps keeps
 * data alive (before, a step of up to 24 h was tolerated each time).
 */
export function shouldPurge(record: Retainable, policy: RetentionPolicy, now: number): boolean {
  if (stampAhead(record.capturedAt, now)) return true;
  return now >= expiresAt(record, policy);
}

/** Rows captured after this are ahead of the clock beyond the tolerance: purge them (shouldPurge). */
export const aheadCutoff = (now: number): number => now + CLOCK_STEP_TOLERANCE_MS;

/**
 * The latest capture time that must be purged at `now`: rows with capturedAt <= cutoff go. Lets a
 * store delete with one indexed query instead of calling shouldPurge row by row.
 */
export function purgeCutoff(policy: RetentionPolicy, now: number): number {
  return now - Math.min(policy.maxAgeMs, RETENTION_CEILING_MS);
}

/** Delay until the next run: the periodic interval, or sooner when a record expires before it. */
export function nextRunDelay(intervalMs: number, nextExpiry: number | null, now: number): number {
  if (nextExpiry === null) return intervalMs;
  return Math.max(0, Math.min(intervalMs, nextExpiry - now));
}
