// The daemon's watchlist component: holds the van key and the decrypted watchlist in memory,
// imports bundles (control socket / USB / deployment start), purges at expiry with a timer plus
// a periodic re-check (a timer alone misses a clock step or a suspend), and wipes everything at
// stop. The daemon wires: hooks.loadWatchlist -> importFile, hooks.purgeWatchlist -> purge,
// onChange -> the matcher's gallery, onEvent -> the audit log.
import type { Clock, Component } from '../lifecycle.js';
import type { Logger } from '../log.js';
import type { Config } from '../config/schema.js';
import type { FaceEngine } from '../vision/types.js';
import { readPublicKey, readVanSecretKey } from '../crypto/keys.js';
import type { VanKey } from './bundle-read.js';
import { importBundle, type ImportReport } from './importer.js';
import { openWatchlist, purgeWatchlist, type OpenWatchlist } from './service.js';
import { shouldPurgeWatchlist } from './lifetime.js';
import { readStoreMeta } from './store.js';
import type { PurgeReason, WatchlistEventSink } from './events.js';

/** Re-check the deadline, and whether the CLI replaced or purged the store, this often. */
const TICK_MS = 15_000;

export interface WatchlistHolderDeps {
  config: Config;
  log: Logger;
  clock: Clock;
  /** The face engine used to enrol (shared with the live pipeline). */
  engine: () => FaceEngine;
  onEvent?: WatchlistEventSink;
  /** Called with the new watchlist (or null) whenever it changes. */
  onChange?: (wl: OpenWatchlist | null) => void;
}

export class WatchlistHolder implements Component {
  readonly name = 'watchlist';
  private van: VanKey | null = null;
  private keyError: Error | null = null;
  private wl: OpenWatchlist | null = null;
  private timer: NodeJS.Timeout | null = null;
  private ticker: NodeJS.Timeout | null = null;
  private busy: Promise<unknown> = Promise.resolve();

  constructor(private readonly d: WatchlistHolderDeps) {}

  get current(): OpenWatchlist | null {
    return this.wl;
  }

  /** Reads the van key and opens the current store (purging it first when expired). */
  async start(signal: AbortSignal): Promise<void> {
    try {
      this.van = readVanSecretKey(this.d.config.watchlist.vanKeyFile);
    } catch (err) {
      // Without the van key no watchlist can be opened or imported, but the rest of the daemon
      // (health, MQTT availability, purges) must still run and report it; importFile says why.
      this.keyError = err as Error;
      this.d.log.error({ err }, 'van key unreadable: no watchlist can be opened or imported');
      return;
    }
    if (signal.aborted) return;
    this.reopen();
    this.ticker = setInterval(() => void this.checkNow(), TICK_MS);
    this.ticker.unref();
  }

  async stop(): Promise<void> {
    if (this.ticker) clearInterval(this.ticker);
    this.ticker = null;
    this.clearTimer();
    this.drop();
    this.van?.secretKey.destroy();
    this.van = null;
  }

  /** Import a bundle (all or nothing) and switch the matcher to it. */
  importFile(file: string): Promise<ImportReport> {
    return this.serial(async () => {
      if (!this.van) throw this.keyError ?? new Error('watchlist component not started');
      const cfg = this.d.config.watchlist;
      const report = await importBundle(
        {
          bundle: file,
          trusted: cfg.trustedSigningKeys.map((f) => readPublicKey(f, 'signing')),
          van: this.van,
          gates: this.d.config.quality.enrolment,
          limits: { maxBundleBytes: cfg.maxBundleBytes, maxImageBytes: cfg.maxImageBytes, maxSubjects: cfg.maxSubjects },
          storeFile: cfg.storeFile,
          maxAgeHours: cfg.maxAgeHours,
        },
        { engine: this.d.engine(), clock: this.d.clock, log: this.d.log, ...(this.d.onEvent ? { onEvent: this.d.onEvent } : {}) },
      );
      this.reopen();
      return report;
    });
  }

  /** Wipe from memory and delete the store. True when a store was deleted. */
  purge(reason: PurgeReason): Promise<boolean> {
    return this.serial(async () => {
      this.clearTimer();
      this.drop();
      return purgeWatchlist(this.d.config.watchlist.storeFile, reason, this.d.onEvent);
    });
  }

  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.busy.then(fn, fn);
    this.busy = run.catch(() => undefined);
    return run;
  }

  private reopen(): void {
    if (!this.van) return;
    this.clearTimer();
    this.drop();
    const cfg = this.d.config.watchlist;
    try {
      this.wl = openWatchlist({ storeFile: cfg.storeFile, van: this.van, maxAgeHours: cfg.maxAgeHours, clock: this.d.clock, ...(this.d.onEvent ? { onEvent: this.d.onEvent } : {}) });
    } catch (err) {
      this.d.log.error({ err }, 'watchlist store could not be opened; it was purged');
      this.wl = null;
    }
    if (this.wl) {
      const ms = Math.max(0, this.wl.expiresAtMs - this.d.clock());
      this.timer = setTimeout(() => void this.purge('expired'), Math.min(ms, 2 ** 31 - 1));
      this.timer.unref();
    }
    this.d.onChange?.(this.wl);
  }

  /**
   * Purge when the deadline has passed, and follow the store file: reopen when `lfr watchlist
   * import` replaced it, drop the in-memory copy when `lfr watchlist purge` deleted it.
   */
  checkNow(): Promise<void> {
    return this.serial(async () => {
      const cfg = this.d.config.watchlist;
      let onDisk: string | null = null;
      try {
        const m = readStoreMeta(cfg.storeFile);
        onDisk = m ? `${m.bundleSha256}/${m.importedAt}` : null;
      } catch {
        onDisk = 'damaged'; // reopen() purges it
      }
      const inMemory = this.wl ? `${this.wl.meta.bundleSha256}/${this.wl.meta.importedAt}` : null;
      if (onDisk !== inMemory) {
        this.reopen();
        return;
      }
      if (this.wl && shouldPurgeWatchlist({ importedAt: this.wl.meta.importedAt, expiresAt: this.wl.meta.expiresAt }, this.d.clock(), cfg.maxAgeHours)) {
        this.clearTimer();
        this.drop();
        purgeWatchlist(cfg.storeFile, 'expired', this.d.onEvent);
      }
    });
  }

  private drop(): void {
    if (!this.wl) return;
    this.wl.close();
    this.wl = null;
    this.d.onChange?.(null);
  }

  private clearTimer(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }
}
