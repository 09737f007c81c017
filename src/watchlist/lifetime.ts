// Pure expiry policy of a watchlist store (GUIDE practice 10): tested without files or timers.
import type { StoreMeta } from './store.js';
import { stampAhead } from '../util/clock-guard.js';

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
 * True when the store must be purged now. An import time ahead of the clock beyond the shared
 * clock-step tolerance (util/clock-guard.ts, the same guard as alert retention) means the clock
 * went backwards (or the metadata is wrong): treat it as expired rather than let a watchlist live
 * longer than promised.
 */
export function shouldPurgeWatchlist(meta: Pick<StoreMeta, 'importedAt' | 'expiresAt'>, now: number, maxAgeHours: number): boolean {
  const imported = Date.parse(meta.importedAt);
  if (stampAhead(imported, now)) return true;
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
  | { ok: false; code: 'bundle_future' | 'bundle_too_old' | 'bundle_ended' | 'bundle_expired' | 'bundle_before_record'; message: string };

/**
 * `recordSince`: when the van's record of imports starts (van-record.ts): a bundle built before it
 * and not named in it may have been imported and ended under a record that was lost, so it is
 * refused; a bundle built since is new to this van.
 */
export function admitBundle(a: { bundleCreatedAt: string; now: number; maxBundleAgeHours: number; maxAgeHours: number; record: ImportRecord | null; recordSince?: string }): Admission {
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
  const since = a.recordSince === undefined ? -Infinity : Date.parse(a.recordSince);
  if (!(created >= since)) return { ok: false, code: 'bundle_before_record', message: `bundle was built at ${a.bundleCreatedAt}, before the van's record of imported bundles was started again at ${a.recordSince} (it was lost, damaged or rolled back: see the audit trail, watchlist.record_lost); whether this bundle already ran cannot be known, so it is refused: build a new bundle at the station` };
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

export type StoreAdmission = { ok: true; expiresAtMs: number } | { ok: false; code: 'store_not_recorded' | 'bundle_ended' | 'bundle_expired'; message: string };

/**
 * Whenever a store is opened (pure): its bundle must be one the van's record names, not ended, and
 * its life counts from the RECORD's first import (a store imported elsewhere, or a copy put back,
 * carries its own dates, which are not trusted further than the record's).
 */
export function admitStore(meta: { bundleId: string; expiresAt: string; importedAt: string }, record: ImportRecord | null, now: number, maxAgeHours: number): StoreAdmission {
  if (!record) return { ok: false, code: 'store_not_recorded', message: `the watchlist store holds bundle ${meta.bundleId}, which the van's record of imports does not name (imported elsewhere, put back from a copy, or imported before the record was lost): refused` };
  if (record.endedAt) return { ok: false, code: 'bundle_ended', message: `the watchlist store holds bundle ${meta.bundleId}, whose deployment ended at ${record.endedAt}: a watchlist is never reloaded after its deployment (a copy put back?): refused` };
  const first = Date.parse(record.firstImportedAt);
  const fromRecord = Number.isFinite(first) ? expiresAtFor(first, maxAgeHours) : -Infinity;
  const expiresAtMs = Math.min(fromRecord, expiryMs(meta, maxAgeHours));
  if (now >= expiresAtMs) return { ok: false, code: 'bundle_expired', message: `bundle ${meta.bundleId} was first imported on this van at ${record.firstImportedAt}: its life is over` };
  return { ok: true, expiresAtMs };
}
