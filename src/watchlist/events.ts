// What the watchlist reports to the outside (the daemon wires these to the audit log; the
// watchlist code never imports the audit module). No personal data: counts, hashes, key ids.
export interface WatchlistComposition {
  subjects: number;
  templates: number;
  /** Enrolled subjects per category, e.g. { wanted: 12, "missing person": 3 }. */
  categories: Record<string, number>;
  rejectedImages: number;
  /** Subjects on the bundle that could not be enrolled (no image passed the gate). */
  notEnrolled: number;
  bundleSha256: string;
  bundleId: string;
  signerKeyId: string;
  vanKeyId: string;
  bundleCreatedAt: string;
  importedAt: string;
  expiresAt: string;
  models: { detector: string; landmarker: string; embedder: string };
}

import type { RecordEvent } from './van-record.js';

export type PurgeReason = 'expired' | 'manual' | 'deployment_end' | 'damaged' | 'not_bound' | 'not_recorded' | 'bundle_ended';

/** `actor`: the OS user who asked (control socket, SO_PEERCRED), or 'system' for the daemon's own purges. */
export type WatchlistEvent =
  | { type: 'watchlist.imported'; composition: WatchlistComposition; subjects: number; bundleSha256: string; bundleId: string; signerKeyId: string; firstImportedAt: string | null; expiresAt: string; replacedBundleSha256: string | null; actor?: string; source?: string; claimedSource?: string }
  | { type: 'watchlist.import_rejected'; code: string; message: string; actor?: string; source?: string; claimedSource?: string }
  | { type: 'watchlist.opened'; bundleSha256: string; subjects: number; expiresAt: string }
  | { type: 'watchlist.purged'; reason: PurgeReason; bundleSha256: string | null; actor?: string; nothingToPurge?: boolean }
  | { type: 'watchlist.store_rejected'; reason: string; code?: string }
  | { type: 'watchlist.bundle_ended'; bundleId: string; actor?: string }
  | RecordEvent;

export type WatchlistEventSink = (e: WatchlistEvent) => void;

/** Deliver an event without letting a failing listener break an import or a purge. */
export function emitSafe(sink: WatchlistEventSink | undefined, e: WatchlistEvent): void {
  if (!sink) return;
  try {
    sink(e);
  } catch {
    /* the listener logs its own failures; a purge must still complete */
  }
}
