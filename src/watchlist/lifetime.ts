// Pure expiry policy of a watchlist store (GUIDE practice 10): tested without files or timers.
import type { StoreMeta } from './store.js';

/** Hard ceiling of a watchlist's life whatever the config says (the force's 24 h promise). */
export const MAX_AGE_CEILING_HOURS = 24;
const HOUR_MS = 3_600_000;

/** Deadline in ms: the earlier of the stored expiry and import + maxAgeHours (capped at 24 h). */
export function expiryMs(meta: Pick<StoreMeta, 'importedAt' | 'expiresAt'>, maxAgeHours: number): number {
  const imported = Date.parse(meta.importedAt);
  const stored = Date.parse(meta.expiresAt);
  if (!Number.isFinite(imported) || !Number.isFinite(stored)) return -Infinity;
  return Math.min(stored, imported + Math.min(maxAgeHours, MAX_AGE_CEILING_HOURS) * HOUR_MS);
}

/**
 * True when the store must be purged now. An import time in the future by more than a minute
 * means the clock went backwards (or the metadata is wrong): treat it as expired rather than let
 * a watchlist live longer than promised.
 */
export function shouldPurgeWatchlist(meta: Pick<StoreMeta, 'importedAt' | 'expiresAt'>, now: number, maxAgeHours: number): boolean {
  const imported = Date.parse(meta.importedAt);
  if (!Number.isFinite(imported) || imported > now + 60_000) return true;
  return now >= expiryMs(meta, maxAgeHours);
}

export const expiresAtFor = (importedAt: number, maxAgeHours: number): number => importedAt + Math.min(maxAgeHours, MAX_AGE_CEILING_HOURS) * HOUR_MS;
