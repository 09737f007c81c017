// Van side import: verify + decrypt the bundle, validate the CSV, enrol every image, and swap in
// the new encrypted store atomically. All-or-nothing: any bundle or CSV problem leaves the
// current watchlist untouched; a bad IMAGE is only reported (the rest still enrol).
import type { Logger } from '../log.js';
import type { Clock } from '../lifecycle.js';
import type { FaceEngine, QualityGateSettings } from '../vision/types.js';
import type { PublicKeyInfo } from '../crypto/keys.js';
import { wipe } from '../crypto/secure.js';
import { meanTemplate } from '../match/fusion.js';
import { BundleError, CSV_MEMBER } from './bundle-format.js';
import { openBundle, fileSource, type BundleLimits, type BundleSource, type VanKey } from './bundle-read.js';
import { CsvError, parseWatchlistCsv, type CsvSubject } from './csv.js';
import { enrolImage, type ImageRejectCode } from './enrol.js';
import { StoreWriter, readStoreMeta, type StoreMeta } from './store.js';
import { admitBundle } from './lifetime.js';
import { RecordError, type VanRecord } from './van-record.js';
import { emitSafe, type WatchlistComposition, type WatchlistEventSink } from './events.js';
import { compositionOf } from './service.js';

export class ImportError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly details: string[] = [],
  ) {
    super(message);
    this.name = 'ImportError';
  }
}

export interface ImportOptions {
  /** Bundle file path, or a source (tests). */
  bundle: string | BundleSource;
  trusted: readonly PublicKeyInfo[];
  van: VanKey;
  gates: QualityGateSettings;
  /** watchlist.referenceFusion: one mean template per subject (default) or one per image. */
  referenceFusion?: 'mean' | 'each';
  limits: BundleLimits;
  storeFile: string;
  maxAgeHours: number;
  /** Refuse a bundle built longer ago than this (first import only; config watchlist.maxBundleAgeHours). */
  maxBundleAgeHours: number;
  /** The van's authenticated record of imported and ended bundles (van-record.ts): life counts from the FIRST import on this van. */
  record: VanRecord;
  /** Abort (purge, deployment end, time limit): checked between images and before the store is swapped in. */
  signal?: AbortSignal;
}

export interface ImportDeps {
  /** The face engine, or a factory called only once the bundle and CSV have passed every check (a refused bundle never waits for the models to load). */
  engine: FaceEngine | (() => Promise<FaceEngine>);
  clock: Clock;
  log: Logger;
  onEvent?: WatchlistEventSink;
  /** Called after each image (done of total), for a progress bar. */
  onProgress?: (done: number, total: number) => void;
}

export interface RejectedImage {
  subjectRef: string;
  image: string;
  code: ImageRejectCode;
  reason: string;
}

export interface ImportReport {
  composition: WatchlistComposition;
  storeFile: string;
  imagesTotal: number;
  rejected: RejectedImage[];
  /** Subjects none of whose images passed enrolment (not on the watchlist). */
  notEnrolled: string[];
  seconds: number;
  /** Process CPU seconds (user + system) spent in the import: steadier than wall time on a shared box. */
  cpuSeconds: number;
}

interface Pending {
  csv: CsvSubject;
  templates: Float32Array[];
  referenceJpeg: Buffer | null;
}

export async function importBundle(opts: ImportOptions, deps: ImportDeps): Promise<ImportReport> {
  const started = deps.clock();
  const t0 = performance.now();
  const cpu0 = process.cpuUsage();
  let writer: StoreWriter | null = null;
  const pending = new Map<string, Pending>();
  const src = typeof opts.bundle === 'string' ? await fileSource(opts.bundle).catch((err: unknown) => reject(deps, err)) : opts.bundle;
  try {
    const bundle = await openBundle(src, opts.trusted, opts.van, opts.limits);
    try {
      // Only a verified bundle's id and date are looked at: an unsigned one never reaches here.
      let body;
      try {
        body = opts.record.load();
      } catch (err) {
        if (err instanceof RecordError) throw new ImportError('record_unreadable', err.message);
        throw err;
      }
      const record = body.bundles.find((b) => b.bundleId === bundle.envelope.bundleId) ?? null;
      const admission = admitBundle({ bundleCreatedAt: bundle.envelope.createdAt, now: started, maxBundleAgeHours: opts.maxBundleAgeHours, maxAgeHours: opts.maxAgeHours, record, recordSince: body.since });
      if (!admission.ok) throw new ImportError(admission.code, admission.message);
      const aborted = () => {
        if (opts.signal?.aborted) throw new ImportError('aborted', `import stopped: ${String(opts.signal.reason instanceof Error ? opts.signal.reason.message : opts.signal.reason ?? 'aborted')}; the current watchlist is unchanged`);
      };
      const members = bundle.members();
      const first = await members.next();
      if (first.done || first.value.name !== CSV_MEMBER) throw new BundleError('bad_manifest', 'bundle has no CSV');
      const subjects = parseWatchlistCsv(first.value.data, opts.limits);
      const byImage = new Map<string, Pending>();
      for (const s of subjects) {
        const p: Pending = { csv: s, templates: [], referenceJpeg: null };
        pending.set(s.subjectRef, p);
        for (const img of s.images) byImage.set(img, p);
      }
      const inBundle = new Set(bundle.manifest.members.slice(1).map((m) => m.name));
      const missing = [...byImage.keys()].filter((n) => !inBundle.has(n));
      if (missing.length) throw new CsvError(`CSV lists ${missing.length} image file(s) missing from the bundle`, missing.slice(0, 20).map((n) => `missing image file: ${n}`));
      const extra = [...inBundle].filter((n) => !byImage.has(n));
      if (extra.length) throw new BundleError('bad_manifest', `bundle carries ${extra.length} file(s) the CSV does not list`);

      const engine = typeof deps.engine === 'function' ? await deps.engine() : deps.engine;
      aborted();
      writer = StoreWriter.create(opts.storeFile, opts.van);
      const rejected: RejectedImage[] = [];
      const total = inBundle.size;
      let done = 0;
      let dim = engine.embeddingSize;
      for await (const m of members) {
        const p = byImage.get(m.name)!;
        const out = await enrolImage(engine, m.data, opts.gates, opts.limits.maxImageBytes);
        wipe(m.data);
        if (out.ok) {
          dim = out.embedding.length;
          p.templates.push(out.embedding);
          p.referenceJpeg ??= out.referenceJpeg;
        } else {
          rejected.push({ subjectRef: p.csv.subjectRef, image: m.name, code: out.code, reason: out.reason });
        }
        deps.onProgress?.(++done, total);
        aborted();
      }

      const categories: Record<string, number> = {};
      const notEnrolled: string[] = [];
      let templates = 0;
      let enrolled = 0;
      for (const p of pending.values()) {
        if (p.templates.length === 0 || !p.referenceJpeg) {
          notEnrolled.push(p.csv.subjectRef);
          continue;
        }
        // Several usable references: one fused template (watchlist.referenceFusion, default
        // "mean"); the per-image embeddings are wiped with the rest below.
        const subjectTemplates = (opts.referenceFusion ?? 'mean') === 'mean' && p.templates.length > 1 ? [meanTemplate(p.templates)] : p.templates;
        writer.addSubject({ subjectRef: p.csv.subjectRef, category: p.csv.category, reason: p.csv.reason, referenceJpeg: p.referenceJpeg, templates: subjectTemplates }, dim);
        if (subjectTemplates !== p.templates) wipe(subjectTemplates[0]!);
        categories[p.csv.category] = (categories[p.csv.category] ?? 0) + 1;
        templates += subjectTemplates.length;
        enrolled++;
      }
      if (enrolled === 0) throw new ImportError('nothing_enrolled', 'no subject could be enrolled (every image was rejected); the current watchlist is unchanged', rejected.slice(0, 20).map((r) => `${r.image}: ${r.reason}`));

      let previous: StoreMeta | null = null;
      try {
        previous = readStoreMeta(opts.storeFile);
      } catch {
        previous = null; // a damaged old store is simply replaced
      }
      // Recorded before the store is swapped in: a crash between the two reloads with the
      // original expiry, never a fresh one. Then the last abort check (a purge that came while
      // enrolling wins); commit itself is synchronous, so nothing can interleave after it.
      opts.record.noteImport({ bundleId: bundle.envelope.bundleId, bundleCreatedAt: bundle.envelope.createdAt, firstImportedAt: new Date(admission.firstImportedAt).toISOString() }, started);
      aborted();
      const meta = writer.commit({
        bundleSha256: bundle.bundleSha256,
        bundleId: bundle.envelope.bundleId,
        signerKeyId: bundle.signerKeyId,
        vanKeyId: opts.van.keyId,
        bundleCreatedAt: bundle.envelope.createdAt,
        importedAt: new Date(started).toISOString(),
        expiresAt: new Date(admission.expiresAt).toISOString(),
        firstImportedAt: new Date(admission.firstImportedAt).toISOString(),
        subjects: enrolled,
        templates,
        categories,
        rejectedImages: rejected.length,
        notEnrolled: notEnrolled.length,
        embeddingSize: dim,
        models: engine.models,
      });
      writer = null;
      const composition = compositionOf(meta);
      emitSafe(deps.onEvent, { type: 'watchlist.imported', composition, subjects: meta.subjects, bundleSha256: meta.bundleSha256, bundleId: meta.bundleId, signerKeyId: meta.signerKeyId, firstImportedAt: meta.firstImportedAt ?? null, expiresAt: meta.expiresAt, replacedBundleSha256: previous?.bundleSha256 ?? null });
      deps.log.info({ subjects: enrolled, templates, rejectedImages: rejected.length, bundleSha256: meta.bundleSha256, signerKeyId: meta.signerKeyId }, 'watchlist imported');
      return { composition, storeFile: opts.storeFile, imagesTotal: total, rejected, notEnrolled, seconds: (performance.now() - t0) / 1000, cpuSeconds: cpuSince(cpu0) };
    } finally {
      bundle.close();
    }
  } catch (err) {
    writer?.abort();
    return reject(deps, err);
  } finally {
    for (const p of pending.values()) for (const t of p.templates) wipe(t);
    await src.close();
  }
}

function cpuSince(start: NodeJS.CpuUsage): number {
  const d = process.cpuUsage(start);
  return (d.user + d.system) / 1e6;
}

function reject(deps: ImportDeps, err: unknown): never {
  const code = err instanceof BundleError || err instanceof ImportError ? err.code : err instanceof CsvError ? 'bad_csv' : 'failed';
  const message = (err as Error)?.message ?? String(err);
  emitSafe(deps.onEvent, { type: 'watchlist.import_rejected', code, message });
  deps.log.warn({ code }, 'watchlist import rejected');
  throw err;
}
