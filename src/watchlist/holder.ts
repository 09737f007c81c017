// The daemon's watchlist component and the ONE path for watchlist changes on a running van:
// holds the van key and the decrypted watchlist in memory, imports bundles (control socket, USB,
// deployment start), purges at expiry with a timer plus a periodic re-check (a timer alone misses
// a clock step or a suspend), and wipes everything at stop. Its rules:
//   - while a deployment runs, an import is refused (and audited as refused): the watchlist is
//     locked to the deployment, whose record names the bundle's hash; a store on disk whose hash
//     differs from the running deployment's is refused and purged, never matched against;
//   - a store is opened only when its MAC (van private key) and signer (config trust list) check
//     out; a forged or edited one is purged;
//   - an import has a time limit, and a purge never waits behind it: it aborts it;
//   - bundles are admitted by their freshness and this van's authenticated record of imports
//     (van-record.ts, lifetime.ts), checked at import AND whenever a store is opened.
// The daemon wires: onChange -> the matcher, onEvent -> the audit log (actor included),
// deployment -> the running deployment's record.
import { readdirSync, rmSync, statSync } from 'node:fs';
import path from 'node:path';
import type { Clock, Component } from '../lifecycle.js';
import type { Logger } from '../log.js';
import type { Config } from '../config/schema.js';
import type { FaceEngine } from '../vision/types.js';
import { readPublicKey, readVanSecretKey, SealedCredentialError } from '../crypto/keys.js';
import type { VanKey } from './bundle-read.js';
import { importBundle, ImportError, type ImportReport } from './importer.js';
import { openWatchlist, purgeWatchlist, type OpenWatchlist } from './service.js';
import { admitStore, shouldPurgeWatchlist } from './lifetime.js';
import { readStoreMeta, type StoreTrust } from './store.js';
import { VanRecord } from './van-record.js';
import { emitSafe, type PurgeReason, type WatchlistComposition, type WatchlistEventSink } from './events.js';

/** Re-check the deadline, and whether the store file changed under us, this often. */
const TICK_MS = 15_000;

/** What the holder needs to know of the running deployment. */
export interface BoundDeployment {
  id: string;
  watchlist: { bundleSha256: string; bundleId?: string };
}

export interface WatchlistHolderDeps {
  config: Config;
  log: Logger;
  clock: Clock;
  /** The face engine used to enrol (shared with the live pipeline). */
  engine: () => FaceEngine;
  onEvent?: WatchlistEventSink;
  /** Called with the new watchlist (or null) whenever it changes. */
  onChange?: (wl: OpenWatchlist | null) => void;
  /** The running deployment (its record binds the bundle hash), or null. */
  deployment?: () => BoundDeployment | null;
  /** Generation of the van record's last audited write (audit log), so a rolled-back copy is seen. */
  lastRecordGeneration?: () => number | null;
}

export interface ImportRequest {
  /** OS user who asked (control socket SO_PEERCRED), 'system' or 'usb'. */
  actor?: string;
  /** How the request reached the daemon, as the daemon knows it: control-socket | deployment.start. */
  source?: string;
  /** What the client SAID it is (cli | usb): recorded as its claim, never as the source. */
  claimedSource?: string;
}

const whoOf = (req: ImportRequest) => ({ ...(req.actor ? { actor: req.actor } : {}), ...(req.source ? { source: req.source } : {}), ...(req.claimedSource ? { claimedSource: req.claimedSource } : {}) });

/** Stable identity of the store file: a change means someone replaced or edited it. */
function fileIdentity(file: string): string | null {
  try {
    const st = statSync(file);
    return `${st.ino}/${st.size}/${st.mtimeMs}/${st.ctimeMs}`;
  } catch {
    return null;
  }
}

export class WatchlistHolder implements Component {
  readonly name = 'watchlist';
  private van: VanKey | null = null;
  private keyError: Error | null = null;
  private wl: OpenWatchlist | null = null;
  private fileId: string | null = null;
  private timer: NodeJS.Timeout | null = null;
  private ticker: NodeJS.Timeout | null = null;
  /** performance.now() of the last checkNow(), whoever called it (the deployment's beat, mostly). */
  private lastCheckAt = Number.NEGATIVE_INFINITY;
  private busy: Promise<unknown> = Promise.resolve();
  private importing: AbortController | null = null;
  /** The van's record of imported and ended bundles; needs the van key, so set in start(). */
  private record: VanRecord | null = null;

  constructor(private readonly d: WatchlistHolderDeps) {}

  get current(): OpenWatchlist | null {
    return this.wl;
  }

  /** The verified composition of the watchlist in memory (what is matched against), or null. */
  composition(): WatchlistComposition | null {
    return this.wl ? { ...this.wl.meta } : null;
  }

  /** The running deployment, or null (also while the deployment store is not open yet, at start-up: resume checks assertBound). */
  private runningDeployment(): BoundDeployment | null {
    try {
      return this.d.deployment?.() ?? null;
    } catch {
      return null;
    }
  }

  /** Why an import would be refused right now (a running deployment), or null. */
  importRefusal(): string | null {
    const dep = this.runningDeployment();
    return dep ? `deployment ${dep.id} is running with watchlist ${dep.watchlist.bundleSha256.slice(0, 16)}: the watchlist cannot change during a deployment; end it ("lfr deployment end") and start a new one` : null;
  }

  /**
   * At deployment start and resume: the watchlist in memory must be the bundle the deployment
   * record names (its hash is what the report publishes as "matched against").
   */
  assertBound(): void {
    const dep = this.runningDeployment();
    if (!dep) return;
    const have = this.wl?.meta.bundleSha256 ?? null;
    if (have !== dep.watchlist.bundleSha256) throw new Error(`the watchlist in memory (${have ? have.slice(0, 16) : 'none'}) is not bundle ${dep.watchlist.bundleSha256.slice(0, 16)} recorded for deployment ${dep.id}`);
  }

  /** Throw (and audit) the refusal when the watchlist is locked to a running deployment. */
  refuseIfLocked(req: ImportRequest = {}): void {
    const refusal = this.importRefusal();
    if (!refusal) return;
    emitSafe(this.d.onEvent, { type: 'watchlist.import_rejected', code: 'deployment_running', message: refusal, ...whoOf(req) });
    throw new ImportError('deployment_running', refusal);
  }

  /** Reads the van key, removes temp stores a killed import left, opens the current store. */
  async start(signal: AbortSignal): Promise<void> {
    this.sweepTemp();
    try {
      this.van = readVanSecretKey(this.d.config.watchlist.vanKeyFile);
    } catch (err) {
      // A sealed key that does not decrypt is another box's or tampered: refuse to start (the
      // daemon's 'keys' part normally stops the start before this).
      if (err instanceof SealedCredentialError) throw err;
      // Without the van key no watchlist can be opened or imported, but the rest of the daemon
      // (health, MQTT availability, purges) must still run and report it; importFile says why.
      this.keyError = err as Error;
      this.d.log.error({ err }, 'van key unreadable: no watchlist can be opened or imported');
      return;
    }
    if (signal.aborted) return;
    this.record = VanRecord.forStateDir(this.d.config.paths.stateDir, this.van, {
      clock: this.d.clock,
      ...(this.d.lastRecordGeneration ? { lastAuditedGeneration: this.d.lastRecordGeneration } : {}),
      ...(this.d.onEvent ? { onEvent: this.d.onEvent } : {}),
    });
    this.reopen();
    // While a deployment runs, its service checks the clock for both (the deployment's end and
    // this list's life) on one beat from the deployment's start (service.ts CLOCK_CHECK_MS), so
    // a clock step ends the deployment and purges the list at the same check, and the live
    // matcher's own alert-time check covers the seconds before that beat. Should that beat stop
    // (its timer lost), the holder's own check resumes after two missed beats.
    this.ticker = setInterval(() => {
      let bound = false;
      try {
        bound = (this.d.deployment?.() ?? null) !== null;
      } catch {
        bound = false; // the record unreadable: check here rather than not at all
      }
      if (!bound || performance.now() - this.lastCheckAt > 2 * TICK_MS) void this.checkNow();
    }, TICK_MS);
    this.ticker.unref();
  }

  async stop(): Promise<void> {
    if (this.ticker) clearInterval(this.ticker);
    this.ticker = null;
    this.importing?.abort(new Error('the daemon is stopping'));
    this.clearTimer();
    this.drop();
    await this.busy.catch(() => undefined);
    this.van?.secretKey.destroy();
    this.van = null;
  }

  /** `.watchlist.db.tmp-*` beside the store: what a killed import left (encrypted, but never finished). */
  private sweepTemp(): void {
    const store = this.d.config.watchlist.storeFile;
    const dir = path.dirname(store);
    const prefix = `.${path.basename(store)}.tmp-`;
    let names: string[] = [];
    try {
      names = readdirSync(dir);
    } catch {
      return;
    }
    for (const n of names.filter((x) => x.startsWith(prefix))) {
      rmSync(path.join(dir, n), { force: true });
      this.d.log.warn({ file: n }, 'removed a temporary watchlist store left by an interrupted import');
    }
  }

  private trust(): StoreTrust {
    return { trustedSignerKeyIds: this.d.config.watchlist.trustedSigningKeys.map((f) => readPublicKey(f, 'signing').keyId) };
  }

  /**
   * Import a bundle (all or nothing) and switch the matcher to it. Refused while a deployment
   * runs; stopped by a purge, by stop(), or after watchlist.importTimeoutSeconds.
   */
  importFile(file: string, req: ImportRequest = {}): Promise<ImportReport> {
    const who = whoOf(req);
    try {
      this.refuseIfLocked(req);
    } catch (err) {
      return Promise.reject(err);
    }
    const ctl = new AbortController();
    return this.serial(async () => {
      if (!this.van || !this.record) throw this.keyError ?? new Error('watchlist component not started');
      // Checked again once our turn comes: a deployment may have started meanwhile.
      this.refuseIfLocked(req);
      const cfg = this.d.config.watchlist;
      this.importing = ctl;
      const signal = AbortSignal.any([ctl.signal, AbortSignal.timeout(cfg.importTimeoutSeconds * 1000)]);
      try {
        const report = await importBundle(
          {
            bundle: file,
            trusted: cfg.trustedSigningKeys.map((f) => readPublicKey(f, 'signing')),
            van: this.van,
            gates: this.d.config.quality.enrolment,
            referenceFusion: cfg.referenceFusion,
            limits: { maxBundleBytes: cfg.maxBundleBytes, maxImageBytes: cfg.maxImageBytes, maxSubjects: cfg.maxSubjects },
            storeFile: cfg.storeFile,
            maxAgeHours: cfg.maxAgeHours,
            maxBundleAgeHours: cfg.maxBundleAgeHours,
            record: this.record,
            signal,
          },
          {
            engine: this.d.engine(),
            clock: this.d.clock,
            log: this.d.log,
            ...(this.d.onEvent ? { onEvent: (e) => this.d.onEvent!(e.type === 'watchlist.imported' || e.type === 'watchlist.import_rejected' ? { ...e, ...who } : e) } : {}),
          },
        );
        this.reopen();
        return report;
      } finally {
        if (this.importing === ctl) this.importing = null;
      }
    });
  }

  /**
   * A deployment is being bound to the watchlist in memory: stop an import still in flight (it was
   * admitted before the deployment existed, and would swap in another watchlist a moment after the
   * deployment started, which reopen() then purges as not bound: a deployment matching against
   * nothing) and wait until no import runs. Imports asked for from now on see the deployment's
   * record and are refused.
   */
  async lockForDeployment(deploymentId: string): Promise<void> {
    this.importing?.abort(new Error(`deployment ${deploymentId} started: the watchlist is locked to it`));
    await this.busy.catch(() => undefined);
  }

  /**
   * Wipe from memory and delete the store. Never waits behind an import: a running one is aborted
   * (it checks between images and right before it swaps its store in). True when a store was deleted.
   */
  async purge(reason: PurgeReason, actor?: string, endedBundleId: string | null = null): Promise<boolean> {
    this.importing?.abort(new Error(`the watchlist was purged (${reason})`));
    this.clearTimer();
    // At a deployment end the caller names the deployment's bundle: after a power cut neither
    // memory nor the tmpfs store has it any more.
    const bundleId = endedBundleId ?? this.wl?.meta.bundleId ?? safeMeta(this.d.config.watchlist.storeFile)?.bundleId ?? null;
    this.drop();
    const existed = purgeWatchlist(this.d.config.watchlist.storeFile, reason, this.d.onEvent, actor);
    // A request is an action even when there was nothing to delete: audit who asked.
    if (!existed && reason === 'manual') emitSafe(this.d.onEvent, { type: 'watchlist.purged', reason, bundleSha256: null, nothingToPurge: true, ...(actor ? { actor } : {}) });
    this.fileId = null;
    if (reason === 'deployment_end' && bundleId) {
      try {
        this.markBundleEnded(bundleId, actor ?? 'system');
      } catch (err) {
        this.d.log.error({ err }, 'could not record the bundle as ended in the import record');
      }
    }
    return existed;
  }

  /**
   * THE path that marks a bundle ended (its deployment is over): from then on it is refused at
   * import and any store holding it is refused when opened. Idempotent; audited
   * (watchlist.bundle_ended, then watchlist.record_written). Called at deployment end by purge(),
   * and at start-up for a deployment a power cut ended (it needs start() to have read the van key).
   * Throws when the record cannot be written (no van key, disk).
   */
  markBundleEnded(bundleId: string, actor = 'system'): void {
    if (!this.record) throw this.keyError ?? new Error('watchlist component not started: the bundle cannot be marked ended');
    const known = this.record.get(bundleId);
    if (known?.endedAt) return;
    this.record.markEnded(bundleId, this.d.clock());
    emitSafe(this.d.onEvent, { type: 'watchlist.bundle_ended', bundleId, actor });
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
    this.fileId = fileIdentity(cfg.storeFile);
    try {
      const record = this.record;
      this.wl = openWatchlist({
        storeFile: cfg.storeFile, van: this.van, trust: this.trust(), maxAgeHours: cfg.maxAgeHours, clock: this.d.clock,
        ...(this.d.onEvent ? { onEvent: this.d.onEvent } : {}),
        ...(record ? { admit: (m: WatchlistComposition) => admitStore(m, record.get(m.bundleId), this.d.clock(), cfg.maxAgeHours) } : {}),
      });
    } catch (err) {
      this.d.log.error({ err }, 'watchlist store refused; it was purged');
      this.wl = null;
    }
    const dep = this.runningDeployment();
    if (this.wl && dep && this.wl.meta.bundleSha256 !== dep.watchlist.bundleSha256) {
      // The store is authentic but not the one this deployment was authorised with.
      const reason = `the watchlist store holds bundle ${this.wl.meta.bundleSha256.slice(0, 16)}, not ${dep.watchlist.bundleSha256.slice(0, 16)} that deployment ${dep.id} was started with`;
      emitSafe(this.d.onEvent, { type: 'watchlist.store_rejected', reason });
      this.d.log.error({ deploymentId: dep.id }, 'watchlist store does not match the running deployment; purged');
      this.wl.close();
      this.wl = null;
      purgeWatchlist(cfg.storeFile, 'not_bound', this.d.onEvent, 'system');
      this.fileId = null;
    }
    if (this.wl) {
      const ms = Math.max(0, this.wl.expiresAtMs - this.d.clock());
      this.timer = setTimeout(() => void this.purge('expired', 'system'), Math.min(ms, 2 ** 31 - 1));
      this.timer.unref();
    }
    this.d.onChange?.(this.wl);
  }

  /**
   * Purge when the deadline has passed; re-verify the store file whenever it changed on disk (an
   * edit is caught by its MAC and purges it; a replacement must pass every check and, during a
   * deployment, carry the deployment's bundle hash); drop the in-memory copy when it was deleted.
   */
  checkNow(): Promise<void> {
    this.lastCheckAt = performance.now();
    return this.serial(async () => {
      const cfg = this.d.config.watchlist;
      const id = fileIdentity(cfg.storeFile);
      if (id !== this.fileId || (id !== null && !this.wl)) {
        this.reopen();
        return;
      }
      if (this.wl && shouldPurgeWatchlist({ importedAt: this.wl.meta.importedAt, expiresAt: this.wl.meta.expiresAt }, this.d.clock(), cfg.maxAgeHours)) {
        await this.purge('expired', 'system');
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

function safeMeta(file: string): { bundleId: string } | null {
  try {
    return readStoreMeta(file);
  } catch {
    return null;
  }
}
