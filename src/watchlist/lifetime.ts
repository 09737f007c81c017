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

/**
 * Bundle freshness (pure). A bundle's life on this van counts from its FIRST import here, so
 * re-inserting the stick after a power cut reloads it with its original expiry, never a later one.
 *   - dated in the future (beyond CLOCK_SKEW_MS): refused; the station's clock or the bundle is wrong
 *   - never imported here and older than maxBundleAgeHours: refused (stale intelligence)
 *   - imported here before and its deployment ended: refused (changing the watchlist means a new bundle)
 *   - imported here before and its life is over: refused
 */
export const CLOCK_SKEW_MS = 5 * 60_000;
/** Ceiling of watchlist.maxBundleAgeHours (schema): also how long the import record must keep an id. */
export const MAX_BUNDLE_AGE_CEILING_HOURS = 72;

export interface ImportRecord {
  bundleId: string;
  bundleCreatedAt: string;
  firstImportedAt: string;
  /** Set when the deployment that used this bundle ended: it is never loaded again. */
  endedAt: string | null;
}

export type Admission =
  | { ok: true; firstImportedAt: number; expiresAt: number; reimport: boolean }
  | { ok: false; code: 'bundle_future' | 'bundle_too_old' | 'bundle_ended' | 'bundle_expired'; message: string };

export function admitBundle(a: { bundleCreatedAt: string; now: number; maxBundleAgeHours: number; maxAgeHours: number; record: ImportRecord | null }): Admission {
  const created = Date.parse(a.bundleCreatedAt);
  const iso = (ms: number) => new Date(ms).toISOString();
  if (!Number.isFinite(created) || created > a.now + CLOCK_SKEW_MS) {
    return { ok: false, code: 'bundle_future', message: `bundle is dated ${a.bundleCreatedAt}, in the future (van clock ${iso(a.now)}): refused; check the station's and the van's clocks` };
  }
  if (a.record) {
    if (a.record.endedAt) return { ok: false, code: 'bundle_ended', message: `bundle ${a.record.bundleId} was used by a deployment that ended at ${a.record.endedAt}: a watchlist is never reloaded after its deployment; build a new bundle for a new deployment` };
    const first = Date.parse(a.record.firstImportedAt);
    const expiresAt = expiresAtFor(first, a.maxAgeHours);
    if (!Number.isFinite(first) || a.now >= expiresAt) return { ok: false, code: 'bundle_expired', message: `bundle ${a.record.bundleId} was first imported on this van at ${a.record.firstImportedAt}; its life ended at ${iso(expiresAt)}: re-inserting it does not renew it` };
    return { ok: true, firstImportedAt: first, expiresAt, reimport: true };
  }
  const ageH = (a.now - created) / HOUR_MS;
  const limit = Math.min(a.maxBundleAgeHours, MAX_BUNDLE_AGE_CEILING_HOURS);
  if (ageH > limit) return { ok: false, code: 'bundle_too_old', message: `bundle was built ${ageH.toFixed(1)} h ago (${a.bundleCreatedAt}); at most ${limit} h is accepted (watchlist.maxBundleAgeHours): build a fresh one at the station` };
  return { ok: true, firstImportedAt: a.now, expiresAt: expiresAtFor(a.now, a.maxAgeHours), reimport: false };
}

/** An import record may be dropped once a bundle that old is refused for its age anyway. */
export function recordPrunable(r: ImportRecord, now: number): boolean {
  const first = Date.parse(r.firstImportedAt);
  return !Number.isFinite(first) || now > first + (MAX_AGE_CEILING_HOURS + MAX_BUNDLE_AGE_CEILING_HOURS) * HOUR_MS;
}
