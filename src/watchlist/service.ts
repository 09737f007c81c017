// The watchlist as the rest of the product sees it:
//   openWatchlist()        daemon start: expiry check (purges), decrypt, build the gallery
//   watchlistStatus()      `lfr watchlist status`, `lfr deployment`: composition only, no key needed
//   purgeWatchlist()       deployment end, expiry, `lfr watchlist purge`
// Every open of an expired store purges it first (also when the van was off at the deadline).
import { Gallery } from '../match/gallery.js';
import { OrtScoreBackend } from '../match/search/ort-backend.js';
import type { Clock } from '../lifecycle.js';
import type { WatchlistSubject, GalleryTemplate } from './types.js';
import type { VanKey } from './bundle-read.js';
import { wipe } from '../crypto/secure.js';
import { loadStore, purgeStoreFile, readStoreMeta, StoreError, type StoreMeta, type StoreTrust } from './store.js';
import { expiryMs, shouldPurgeWatchlist, type StoreAdmission } from './lifetime.js';
import { emitSafe, type PurgeReason, type WatchlistComposition, type WatchlistEventSink } from './events.js';

export function compositionOf(meta: StoreMeta): WatchlistComposition {
  return {
    subjects: meta.subjects,
    templates: meta.templates,
    categories: { ...meta.categories },
    rejectedImages: meta.rejectedImages,
    notEnrolled: meta.notEnrolled ?? 0,
    bundleSha256: meta.bundleSha256,
    bundleId: meta.bundleId,
    signerKeyId: meta.signerKeyId,
    vanKeyId: meta.vanKeyId,
    bundleCreatedAt: meta.bundleCreatedAt,
    importedAt: meta.importedAt,
    expiresAt: meta.expiresAt,
    models: { ...meta.models },
  };
}

export interface WatchlistPolicy {
  storeFile: string;
  /** config watchlist.maxAgeHours (ceiling 24). */
  maxAgeHours: number;
  clock: Clock;
  onEvent?: WatchlistEventSink;
  /**
   * Read only: never delete, even a store past its life or damaged (default false). The daemon's
   * health probe reads the store every few seconds with the raw wall clock and no audit sink: when
   * it purged, a wall clock stepped back by over a minute made it delete the RUNNING deployment's
   * watchlist, unaudited, behind the holder (found replaying issue 21's clock steps on the running
   * van). Purging is the holder's job: its clock is guarded and every purge it makes is audited.
   */
  readOnly?: boolean;
}

/** Delete the store (crypto-shred, secure_delete, unlink). Returns false when there was none. */
export function purgeWatchlist(storeFile: string, reason: PurgeReason, onEvent?: WatchlistEventSink, actor?: string): boolean {
  let bundleSha256: string | null = null;
  try {
    bundleSha256 = readStoreMeta(storeFile)?.bundleSha256 ?? null;
  } catch {
    bundleSha256 = null;
  }
  const existed = purgeStoreFile(storeFile);
  if (existed) emitSafe(onEvent, { type: 'watchlist.purged', reason, bundleSha256, ...(actor ? { actor } : {}) });
  return existed;
}

export type WatchlistStatus =
  | { present: false; purgedExpired: boolean }
  | { present: true; composition: WatchlistComposition; expiresAtMs: number };

/** Composition of the current watchlist without decrypting it; an expired store is purged. */
export function watchlistStatus(p: WatchlistPolicy): WatchlistStatus {
  let meta: StoreMeta | null;
  try {
    meta = readStoreMeta(p.storeFile);
  } catch (err) {
    if (!(err instanceof StoreError)) throw err;
    if (!p.readOnly) purgeWatchlist(p.storeFile, 'damaged', p.onEvent);
    throw err;
  }
  if (!meta) return { present: false, purgedExpired: false };
  if (!p.readOnly && shouldPurgeWatchlist(meta, p.clock(), p.maxAgeHours)) {
    purgeWatchlist(p.storeFile, 'expired', p.onEvent);
    return { present: false, purgedExpired: true };
  }
  const composition = compositionOf(meta);
  const expiresAtMs = expiryMs(meta, p.maxAgeHours);
  composition.expiresAt = new Date(expiresAtMs).toISOString();
  return { present: true, composition, expiresAtMs };
}

/** For `lfr deployment` and reports: the composition, or null when there is no (unexpired) watchlist. */
export function watchlistComposition(p: WatchlistPolicy): WatchlistComposition | null {
  const st = watchlistStatus(p);
  return st.present ? st.composition : null;
}

export interface OpenWatchlist {
  subjects: WatchlistSubject[];
  gallery: Gallery;
  meta: WatchlistComposition;
  /** When the daemon must purge (ms since epoch): schedule purgeWatchlist(..., 'expired') for it. */
  expiresAtMs: number;
  /** Wipe the gallery and reference images from memory (call before purge or at stop). */
  close(): void;
}

/**
 * Decrypt the current watchlist for the matcher. Returns null when there is none or it had
 * expired (then it is purged and a `watchlist.purged` event says so). A store that fails
 * authentication is purged as 'damaged' and a StoreError is thrown.
 */
/**
 * From this many templates the live matcher searches with the int8 ONNX Runtime GEMM (exact
 * float re-rank of the best 64 rows, so the same hits and scores). Measured (512-d, one probe,
 * median ms, JS loop vs GEMM; /tmp/xover.mjs over Gallery + OrtScoreBackend): 500: 0.16 vs 0.09,
 * 2k: 0.65 vs 0.14, 10k: 3.2 vs 0.48; the GEMM's first search after a change builds a session
 * (13-67 ms). Below 2k the JS loop costs under 0.7 ms a probe, not worth the stall and a second
 * copy of the templates.
 */
export const ORT_SEARCH_MIN_TEMPLATES = 2000;

export function openWatchlist(p: WatchlistPolicy & { van: VanKey; trust: StoreTrust; admit?: (meta: WatchlistComposition) => StoreAdmission }): OpenWatchlist | null {
  const st = watchlistStatus(p);
  if (!st.present) return null;
  // The van's record of imports decides whether this bundle may run at all (van-record.ts): a
  // copy of an ended deployment's store, or a store imported elsewhere, is refused and purged.
  if (p.admit) {
    const a = p.admit(st.composition);
    if (!a.ok) {
      emitSafe(p.onEvent, { type: 'watchlist.store_rejected', reason: a.message.slice(0, 300), code: a.code });
      purgeWatchlist(p.storeFile, a.code === 'bundle_expired' ? 'expired' : a.code === 'bundle_ended' ? 'bundle_ended' : 'not_recorded', p.onEvent, 'system');
      if (a.code === 'bundle_expired') return null;
      throw new StoreError(a.message);
    }
    if (a.expiresAtMs < st.expiresAtMs) {
      st.expiresAtMs = a.expiresAtMs;
      st.composition.expiresAt = new Date(a.expiresAtMs).toISOString();
    }
  }
  let loaded: ReturnType<typeof loadStore>;
  try {
    loaded = loadStore(p.storeFile, p.van, p.trust);
  } catch (err) {
    if (err instanceof StoreError) {
      emitSafe(p.onEvent, { type: 'watchlist.store_rejected', reason: err.message.slice(0, 300) });
      purgeWatchlist(p.storeFile, 'damaged', p.onEvent);
    }
    throw err;
  }
  const subjects: WatchlistSubject[] = [];
  const rows: GalleryTemplate[] = [];
  for (const s of loaded.subjects) {
    subjects.push({ id: s.id, subjectRef: s.subjectRef, category: s.category, reason: s.reason, referenceJpeg: s.referenceJpeg });
    for (const t of s.templates) rows.push({ subjectId: s.id, embedding: t });
  }
  const gallery = new Gallery(loaded.meta.embeddingSize, rows.length >= ORT_SEARCH_MIN_TEMPLATES ? { backend: new OrtScoreBackend() } : {});
  gallery.load(rows);
  for (const r of rows) wipe(r.embedding);
  emitSafe(p.onEvent, { type: 'watchlist.opened', bundleSha256: st.composition.bundleSha256, subjects: subjects.length, expiresAt: st.composition.expiresAt });
  return {
    subjects,
    gallery,
    meta: st.composition,
    expiresAtMs: st.expiresAtMs,
    close() {
      gallery.clear();
      for (const s of subjects) wipe(s.referenceJpeg);
      subjects.length = 0;
    },
  };
}
