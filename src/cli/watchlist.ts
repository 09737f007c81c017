// `lfr watchlist build|import|status|purge`: the USB bundle workflow (docs/watchlist-bundle.md).
// Thin: parse options, call src/watchlist/, print a report (human or --json).
import type { Command } from 'commander';
import { SingleBar, Presets } from 'cli-progress';
import { loadConfig } from '../config/load.js';
import type { Config } from '../config/schema.js';
import { silentLogger } from '../log.js';
import { systemClock } from '../lifecycle.js';
import { KeyFileError, readPublicKey, readSigningSecretKey, readVanSecretKey } from '../crypto/keys.js';
import { createFaceEngine } from '../vision/engine.js';
import type { FaceEngine } from '../vision/types.js';
import { BundleError } from '../watchlist/bundle-format.js';
import { BuildError, buildBundle, checkOutFile, type EnrolmentGate } from '../watchlist/builder.js';
import { enrolImage } from '../watchlist/enrol.js';
import { wipe } from '../crypto/secure.js';
import { CsvError } from '../watchlist/csv.js';
import { ImportError, importBundle, type ImportReport } from '../watchlist/importer.js';
import { StoreError } from '../watchlist/store.js';
import { purgeWatchlist, watchlistStatus } from '../watchlist/service.js';
import type { WatchlistComposition } from '../watchlist/events.js';
import { visionCliError } from './faces.js';
import { action, CliError, emit, EXIT } from './output.js';
import { RECORD_FILE, VanRecord, recordGeneration } from '../watchlist/van-record.js';
import path from 'node:path';
import { realpathSync } from 'node:fs';
import { kernelActor, openVanAudit } from './offline-audit.js';
import type { AuditLog } from '../audit/log.js';
import { askDaemon, daemonRunning, offline, sendFile } from './daemon-call.js';

/** Every expected failure becomes a plain message and exit 3 (bad input). */
function inputError(err: unknown): never {
  if (err instanceof CsvError || err instanceof ImportError || err instanceof BuildError) throw new CliError(err.message, EXIT.badInput, err instanceof CsvError ? err.problems : err.details);
  if (err instanceof BundleError || err instanceof KeyFileError || err instanceof StoreError) throw new CliError(err.message, EXIT.badInput);
  throw err;
}

const limitsOf = (cfg: Config) => ({ maxBundleBytes: cfg.watchlist.maxBundleBytes, maxImageBytes: cfg.watchlist.maxImageBytes, maxSubjects: cfg.watchlist.maxSubjects });
const collect = (v: string, prev: string[]) => [...prev, v];

function describe(c: WatchlistComposition): string[] {
  const cats = Object.entries(c.categories).map(([k, n]) => `${k} ${n}`).join(', ');
  return [
    `  subjects: ${c.subjects} enrolled (${c.templates} templates)   categories: ${cats || '-'}`,
    ...(c.notEnrolled ? [`  NOT ENROLLED: ${c.notEnrolled} of the ${c.subjects + c.notEnrolled} people on the bundle (no usable image): they will not be matched`] : []),
    `  bundle sha256: ${c.bundleSha256}`,
    `  signed by key: ${c.signerKeyId}   van key: ${c.vanKeyId}   bundle created: ${c.bundleCreatedAt}`,
    `  imported at: ${c.importedAt}   expires at: ${c.expiresAt}`,
  ];
}

export function register(program: Command): void {
  const wl = program.command('watchlist').description('build, import, inspect and purge the deployment watchlist');
  const cfgOf = () => loadConfig(program.opts<{ config?: string }>().config);

  wl.command('build')
    .requiredOption('--csv <file>', 'CSV: subject_ref,category,reason,images (images separated by ";"); the reason is shown to officers with every alert')
    .requiredOption('--images <dir>', 'folder holding the image files named in the CSV')
    .requiredOption('--sign-key <file>', "the force's Ed25519 PRIVATE signing key (force.key)")
    .requiredOption('--to <file>', "the van's public key (van.pub)")
    .requiredOption('--out <file>', 'bundle file to write (its folder must exist)')
    .option('--strict', 'refuse the build when the van would reject any image (its enrolment gate is run here on every image)')
    .option('--json', 'machine-readable output')
    .description("station side: check the output path, the CSV and images (every problem in one list), run the van's enrolment gate on every image, then pack a signed bundle only that van can read")
    .action(
      action(async (opts: { csv: string; images: string; signKey: string; to: string; out: string; strict?: boolean; json?: boolean }) => {
        const cfg = cfgOf();
        // A public key given as --sign-key: say THAT first (not "chmod 600" about a file that
        // could never sign anything).
        try {
          readPublicKey(opts.signKey, 'signing');
          throw new CliError(`--sign-key ${opts.signKey} is the force's PUBLIC signing key; give its PRIVATE half (force.key, kept at the station)`, EXIT.badInput);
        } catch (err) {
          if (err instanceof CliError) throw err;
        }
        try {
          readPublicKey(opts.signKey, 'van');
          throw new CliError(`--sign-key ${opts.signKey} is a van's public key; give the force's PRIVATE signing key (force.key)`, EXIT.badInput);
        } catch (err) {
          if (err instanceof CliError) throw err;
        }
        // Nothing slow before the output path is known to be usable.
        try {
          checkOutFile(opts.out);
        } catch (err) {
          inputError(err);
        }
        const signer = (() => {
          try {
            return readSigningSecretKey(opts.signKey);
          } catch (err) {
            return inputError(err);
          }
        })();
        let engine: FaceEngine | null = null;
        const bar = !opts.json && process.stderr.isTTY ? new SingleBar({ stream: process.stderr, format: "checking images with the van's enrolment gate [{bar}] {value}/{total}" }, Presets.shades_classic) : null;
        try {
          const van = (() => {
            try {
              return readPublicKey(opts.to, 'van');
            } catch (err) {
              return inputError(err);
            }
          })();
          const gate: EnrolmentGate = async (bytes) => {
            engine ??= await createFaceEngine(cfg, silentLogger()).catch(visionCliError);
            const r = await enrolImage(engine, bytes, cfg.quality.enrolment, cfg.watchlist.maxImageBytes);
            if (!r.ok) return { ok: false, code: r.code, reason: r.reason };
            wipe(r.embedding);
            wipe(r.referenceJpeg);
            return { ok: true };
          };
          const res = await buildBundle({
            csvFile: opts.csv,
            imagesDir: opts.images,
            signer,
            vanPublicKey: van.publicKey,
            outFile: opts.out,
            limits: limitsOf(cfg),
            now: new Date(),
            gate,
            strict: Boolean(opts.strict),
            onProgress: (done, total) => {
              if (!bar) return;
              if (done === 1) bar.start(total, 0);
              bar.update(done);
            },
          }).catch(inputError);
          bar?.stop();
          emit(
            opts,
            () => {
              const e = res.enrolment;
              return [
                `bundle ${res.outFile}: ${res.subjects} subjects, ${res.images} images, ${res.bytes} bytes`,
                `  sha256 ${res.bundleSha256}`,
                `  signed by ${res.forceKeyId} for van ${res.vanKeyId}`,
                `  the van's enrolment gate: ${e.accepted} of ${e.images} images usable`,
                ...(e.rejected.length ? ['  WARNING: the van will reject these images:', ...e.rejected.map((r) => `    line ${r.line}: ${r.image} (${r.subjectRef}): ${r.code}: ${r.reason}`)] : []),
                ...(e.notEnrolled.length ? [`  WARNING: the van will NOT enrol (no usable image): ${e.notEnrolled.join(', ')}`, '  (rebuild with better images, or with --strict to refuse such a build)'] : []),
              ].join('\n');
            },
            () => res,
          );
        } finally {
          bar?.stop();
          signer.secretKey.destroy();
          await (engine as FaceEngine | null)?.close();
        }
      }),
    );

  wl.command('import')
    .argument('<bundle>', 'bundle file (from the USB stick)')
    .option('--van-key <file>', 'van private key (default: config watchlist.vanKeyFile)')
    .option('--trust <file>', 'trusted force public signing key; repeatable (default: config watchlist.trustedSigningKeys)', collect, [])
    .option('--store <path>', 'store file (default: config watchlist.storeFile)')
    .option('--json', 'machine-readable output')
    .description('van side: verify, decrypt, enrol and replace the watchlist atomically (all or nothing); through the running daemon when there is one (audited, refused during a deployment)')
    .action(
      action(async (bundle: string, opts: { vanKey?: string; trust: string[]; store?: string; json?: boolean }) => {
        const cfg = cfgOf();
        if (await daemonRunning(cfg)) {
          // On a running van there is one audited path for watchlist changes: the daemon's. It
          // trusts only the config's keys and writes only its own store, so these options would
          // silently mean something else: refuse them instead.
          if (opts.trust.length || opts.vanKey || opts.store) throw new CliError('--trust, --van-key and --store are for the station and test benches: the daemon is running, and it imports with the configured keys (watchlist.trustedSigningKeys) into its own store', EXIT.usage);
          const report = await sendFile<ImportReport>(cfg, 'watchlist.import', { source: 'cli' }, bundle);
          emit(opts, () => importText(report), () => ({ imported: true, viaDaemon: true, ...report }));
          return EXIT.ok;
        }
        // No daemon answers: the offline mode, under the van's lock (refused while an lfr run holds it).
        return offline(cfg, async () => {
          const trustFiles = opts.trust.length ? opts.trust : cfg.watchlist.trustedSigningKeys;
          let van;
          let trusted;
          try {
            trusted = trustFiles.map((f) => readPublicKey(f, 'signing'));
            van = readVanSecretKey(opts.vanKey ?? cfg.watchlist.vanKeyFile);
          } catch (err) {
            return inputError(err);
          }
          // The daemon is stopped. Into the VAN's store (no --store, or --store naming it): through the
          // van's own authenticated record of imports (paths.stateDir, the one the daemon checks) and
          // audited in the van's log under the kernel's actor, exactly as the daemon would. Into any
          // other store (a station's test bench): that bench keeps its own record beside the store,
          // and nothing is audited; such a store copied into the van's place is refused when the
          // daemon opens it, because the van's record does not name it (holder.ts, van-record.ts).
          const storeFile = opts.store ?? cfg.watchlist.storeFile;
          const onVan = !opts.store || samePath(opts.store, cfg.watchlist.storeFile);
          const actor = kernelActor();
          let audit: AuditLog | null = null;
          let record: VanRecord;
          try {
            if (onVan) audit = openVanAudit(cfg);
            const log = audit;
            const sink = log ? (e: { type: string } & Record<string, unknown>) => log.record(e.type, scalarFields(e), actor) : undefined;
            record = onVan
              ? VanRecord.forStateDir(cfg.paths.stateDir, van, { clock: systemClock, lastAuditedGeneration: () => recordGeneration(log!.list(1, 'watchlist.record_written')[0]), ...(sink ? { onEvent: sink } : {}) })
              : new VanRecord(path.join(path.dirname(path.resolve(storeFile)), RECORD_FILE), van, { clock: systemClock });
          } catch (err) {
            audit?.close();
            van.secretKey.destroy();
            throw err;
          }
          const who = { source: 'cli-offline', offline: true };
          // The models load only after the bundle and CSV pass (a refused bundle fails fast).
          let engine: FaceEngine | null = null;
          const bar = !opts.json && process.stderr.isTTY ? new SingleBar({ stream: process.stderr, format: 'enrolling [{bar}] {value}/{total} images  {eta}s left' }, Presets.shades_classic) : null;
          let report: ImportReport;
          try {
            report = await importBundle(
              {
                bundle, trusted, van, gates: cfg.quality.enrolment, referenceFusion: cfg.watchlist.referenceFusion, limits: limitsOf(cfg), storeFile,
                maxAgeHours: cfg.watchlist.maxAgeHours, maxBundleAgeHours: cfg.watchlist.maxBundleAgeHours,
                record,
                signal: AbortSignal.timeout(cfg.watchlist.importTimeoutSeconds * 1000),
              },
              {
                engine: async () => (engine = await createFaceEngine(cfg, silentLogger()).catch(visionCliError)),
                clock: systemClock,
                log: silentLogger(),
                ...(audit ? { onEvent: (e) => audit!.record(e.type, scalarFields(e.type === 'watchlist.imported' || e.type === 'watchlist.import_rejected' ? { ...e, ...who } : e), actor) } : {}),
                onProgress: (done, total) => {
                  if (!bar) return;
                  if (done === 1) bar.start(total, 0);
                  bar.update(done);
                },
              },
            ).catch(inputError);
          } finally {
            bar?.stop();
            van.secretKey.destroy();
            audit?.close();
            await (engine as FaceEngine | null)?.close();
          }
          if (opts.trust.length) process.stderr.write('lfr: note: --trust is for the station and test benches; a van\'s daemon opens only stores signed by its configured keys (watchlist.trustedSigningKeys) and purges any other\n');
          emit(opts, () => importText(report), () => ({ imported: true, ...report }));
          return EXIT.ok;
        });
      }),
    );

  wl.command('status')
    .option('--store <path>', 'store file (default: config watchlist.storeFile)')
    .option('--json', 'machine-readable output')
    .description('composition of the current watchlist (no personal data); read only (the daemon purges, audited)')
    .action(
      action((opts: { store?: string; json?: boolean }) => {
        const cfg = cfgOf();
        const storeFile = opts.store ?? cfg.watchlist.storeFile;
        let st;
        try {
          // Read only: with the raw wall clock stepped back, "expired" here meant deleting the running
          // deployment's store, unaudited (issue 21 replay). The daemon's holder purges, audited;
          // `lfr watchlist purge` deletes on purpose, audited.
          st = watchlistStatus({ storeFile, maxAgeHours: cfg.watchlist.maxAgeHours, clock: systemClock, readOnly: true });
        } catch (err) {
          return inputError(err);
        }
        emit(
          opts,
          () => (st.present ? [`watchlist ${storeFile}:`, ...describe(st.composition)].join('\n') : `no watchlist${st.purgedExpired ? ' (the expired one was purged now)' : ''}`),
          () => (st.present ? { present: true, storeFile, ...st.composition } : { present: false, storeFile, purgedExpired: st.purgedExpired }),
        );
      }),
    );

  wl.command('purge')
    .option('--store <path>', 'store file (default: config watchlist.storeFile)')
    .option('--json', 'machine-readable output')
    .description('delete the watchlist now: crypto-shred the store key, wipe rows, remove the file (through the running daemon when there is one: audited, and never waits behind an import)')
    .action(
      action(async (opts: { store?: string; json?: boolean }) => {
        const cfg = cfgOf();
        if (!opts.store && (await daemonRunning(cfg))) {
          const r = await askDaemon<{ purged: boolean }>(cfg, 'watchlist.purge', {});
          emit(opts, () => (r.purged ? 'watchlist purged by the daemon' : 'no watchlist to purge'), () => ({ purged: r.purged, storeFile: cfg.watchlist.storeFile, viaDaemon: true }));
          return;
        }
        const storeFile = opts.store ?? cfg.watchlist.storeFile;
        // The van's store with the daemon stopped: audited in the van's log (kernel actor), under
        // the van's lock (refused while an lfr run holds it).
        const purged = await offline(cfg, () => {
          const onVan = !opts.store || samePath(opts.store, cfg.watchlist.storeFile);
          const audit = onVan ? openVanAudit(cfg) : null;
          try {
            const done = purgeWatchlist(storeFile, 'manual', audit ? (e) => audit.record(e.type, scalarFields({ ...e, offline: true }), kernelActor()) : undefined);
            if (!done) audit?.record('watchlist.purged', { reason: 'manual', bundleSha256: null, nothingToPurge: true, offline: true }, kernelActor());
            return done;
          } finally {
            audit?.close();
          }
        });
        emit(opts, () => (purged ? `watchlist ${storeFile} purged` : `no watchlist at ${storeFile}`), () => ({ purged, storeFile }));
      }),
    );
}

function importText(r: ImportReport): string {
  const lines = [
    `watchlist imported into ${r.storeFile}: ${r.composition.subjects} subjects enrolled from ${r.imagesTotal} images in ${r.seconds.toFixed(1)} s; ${r.rejected.length} image(s) rejected`,
    ...describe(r.composition),
  ];
  if (r.rejected.length) {
    lines.push('rejected images:');
    for (const x of r.rejected) lines.push(`  ${x.subjectRef}  ${x.image}: ${x.code}: ${x.reason}`);
  }
  if (r.notEnrolled.length) lines.push(`not enrolled (no usable image): ${r.notEnrolled.join(', ')}`);
  return lines.join('\n');
}

/** Same file, also through a symlink or a relative path (the van's store named with --store). */
function samePath(a: string, b: string): boolean {
  const real = (p: string): string => {
    try {
      return realpathSync(p);
    } catch {
      try {
        return path.join(realpathSync(path.dirname(p)), path.basename(p));
      } catch {
        return path.resolve(p);
      }
    }
  };
  return real(a) === real(b);
}

/** An event's scalar fields (counts, ids, hashes) for the audit log; never a nested object. */
function scalarFields(e: object): Record<string, string | number | boolean | null> {
  const out: Record<string, string | number | boolean | null> = {};
  for (const [k, v] of Object.entries(e)) {
    if (k === 'type' || k === 'actor') continue;
    if (v === null || ['string', 'number', 'boolean'].includes(typeof v)) out[k] = v as string | number | boolean | null;
  }
  return out;
}
