// `lfr deployment start|end|report|list` and `lfr usb-import DIR`. Start and end talk to the
// running daemon (it owns the watchlist and the matcher); report and list read the records
// directly, so a results report can be produced on a box whose daemon is stopped.
import { staleLine } from '../health/status.js';
import { accessSync, closeSync, constants, existsSync, fsyncSync, openSync, renameSync, rmSync, statSync, writeSync } from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { loadConfig } from '../config/load.js';
import { callDaemon, ControlRequestError, DaemonNotRunning } from '../control/client.js';
import { controlSocketPath } from '../control/protocol.js';
import { findBundle, UsbError } from '../control/usb.js';
import { endsWords, parseEndsAt, PolicyError } from '../deployment/policy.js';
import { formatReport, reportCsv, reportHtml } from '../deployment/report.js';
import { DeploymentStore, deploymentsFile } from '../deployment/store.js';
import type { DeploymentRecord, DeploymentReport } from '../deployment/types.js';
import { action, CliError, emit, EXIT } from './output.js';
import { sendFile } from './daemon-call.js';

/** Control-socket failures as plain CLI errors. */
async function ask<T>(socket: string, method: string, params: Record<string, unknown>, timeoutMs: number): Promise<T> {
  try {
    return await callDaemon<T>(socket, method, params, timeoutMs);
  } catch (err) {
    if (err instanceof DaemonNotRunning) throw new CliError(`${err.message}: start it with "systemctl start lfr"`, EXIT.notReady);
    // A van that is not ready (a camera not live, the broker down) is not bad input: exit 1.
    if (err instanceof ControlRequestError) throw new CliError(err.message, err.code === 'bad_request' ? EXIT.badInput : EXIT.failure);
    throw err;
  }
}

/**
 * Where `--out` may write: an existing, writable folder on a mounted filesystem other than the root
 * disk (the USB stick or report disk). Never created: a missing mount point would put the report,
 * silently, on the van's own disk. Checked BEFORE the deployment is ended.
 */
export function checkOutDir(dir: string, rootDir = '/'): string {
  const abs = path.resolve(dir);
  let st;
  try {
    st = statSync(abs);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new CliError(code === 'ENOENT' ? `--out ${abs} does not exist: mount the report stick or disk first (lfr never creates it: a missing mount point would put the report on the van's own disk)` : `--out ${abs} cannot be used (${code})`, EXIT.badInput);
  }
  if (!st.isDirectory()) throw new CliError(`--out ${abs} is not a folder`, EXIT.badInput);
  if (st.dev === statSync(rootDir).dev) throw new CliError(`--out ${abs} is on the root disk, not on a mounted report stick or disk: mount it (e.g. /media/reports) and give its folder`, EXIT.badInput);
  try {
    accessSync(abs, constants.W_OK);
  } catch {
    throw new CliError(`--out ${abs} is not writable by ${process.env.SUDO_USER ?? process.env.USER ?? 'this user'} (mounted read-only?)`, EXIT.badInput);
  }
  return abs;
}

/**
 * Record on the van which version went to the stick, so that a later version (a late decision)
 * is reported as making that copy stale (`lfr status`, `lfr deployment report`). Best effort: a
 * user who may read but not write the records is told, the files are written all the same.
 */
function markWritten(file: string, r: DeploymentReport): string | null {
  try {
    const store = new DeploymentStore(file).open();
    try {
      store.markWritten(r.deploymentId, r.version, Date.now());
    } finally {
      store.close();
    }
    return null;
  } catch (err) {
    return `note: the van could not record that version ${r.version} was written (${(err as Error).message}); it will not warn when this copy goes stale`;
  }
}

/** The report in every format: <id>[-vN].json, .txt, .csv (one row) and .html. */
function writeReport(dir: string, r: DeploymentReport, tz: string): string[] {
  const base = path.join(dir, r.version > 1 ? `${r.deploymentId}-v${r.version}` : r.deploymentId);
  const files: Array<[string, string]> = [
    [`${base}.json`, `${JSON.stringify(r, null, 2)}\n`],
    [`${base}.txt`, `${formatReport(r, tz)}\n`],
    [`${base}.csv`, reportCsv(r, tz)],
    [`${base}.html`, reportHtml(r, tz)],
  ];
  // Every file is written whole as NAME.part first, and only then are they all renamed: a stick
  // pulled (or full) mid-write leaves .part files, never a report that looks complete but is cut.
  const parts: string[] = [];
  try {
    for (const [f, body] of files) {
      parts.push(`${f}.part`);
      const fd = openSync(`${f}.part`, 'w', 0o644);
      try {
        writeSync(fd, body);
        fsyncSync(fd);
      } finally {
        closeSync(fd);
      }
    }
    for (const [f] of files) renameSync(`${f}.part`, f);
  } catch (err) {
    for (const p of parts) {
      try {
        rmSync(p, { force: true });
      } catch {
        // not a file we wrote (a folder of that name): leave it
      }
    }
    throw new CliError(`the report could not be written to ${dir} (${(err as NodeJS.ErrnoException).code ?? err}); it is kept in the van's records, unchanged: write it again with "lfr deployment report ${r.deploymentId} --out DIR"`, EXIT.failure);
  }
  return files.map(([f]) => f);
}

export function register(program: Command): void {
  const cfgOf = () => loadConfig(program.opts<{ config?: string }>().config);
  const dep = program.command('deployment').description('start and end a deployment; results reports');

  dep
    .command('start')
    .requiredOption('--authorisation <ref>', 'reference of the written authorisation')
    .requiredOption('--location <text>', 'where the zone of recognition is')
    .option('--watchlist <file>', 'watchlist bundle approved for this deployment (omit to use the one imported from the USB stick)')
    .option('--threshold <t>', 'fixed similarity threshold, recorded with the deployment (0..1); default: config match.threshold (or match.targetFpir when set)')
    .option('--target-fpir <f>', 'derive the threshold from the false-alert rate accepted per face searched, e.g. 1e-4, for this watchlist\'s size (default: config match.targetFpir)')
    .requiredOption('--ends-at <time>', 'authorised end: ISO time, HH:MM, or +8h (at most 24 h away)')
    .option('--officer <name>', 'the authorising officer')
    .option('--reason <text>', 'purpose of the deployment, as authorised')
    .option('--allow-degraded', 'start although a camera is not live or the broker is down (recorded in the deployment and its report)')
    .option('--json', 'machine-readable output')
    .description('record the authorisation, import the watchlist, then start analysis')
    .action(
      action(async (o: { authorisation: string; location: string; watchlist?: string; threshold?: string; targetFpir?: string; endsAt: string; officer?: string; reason?: string; allowDegraded?: boolean; json?: boolean }) => {
        const cfg = cfgOf();
        let endsAt: number;
        try {
          endsAt = parseEndsAt(o.endsAt, Date.now());
        } catch (err) {
          if (err instanceof PolicyError) throw new CliError(err.message, EXIT.badInput);
          throw err;
        }
        if (o.threshold !== undefined && o.targetFpir !== undefined) throw new CliError('give either --threshold or --target-fpir, not both', EXIT.usage);
        // Neither flag: the daemon uses its config (match.targetFpir when set, else match.threshold)
        // and records that the threshold came from the config.
        let basis: { threshold: number } | { targetFpir: number } | Record<string, never> = {};
        if (o.threshold !== undefined) {
          const threshold = Number(o.threshold);
          if (o.threshold.trim() === '' || !Number.isFinite(threshold) || threshold <= 0 || threshold >= 1) throw new CliError(`--threshold "${o.threshold}" must be a number between 0 and 1`, EXIT.badInput);
          basis = { threshold };
        } else if (o.targetFpir !== undefined) {
          const targetFpir = Number(o.targetFpir);
          if (!Number.isFinite(targetFpir) || targetFpir < 1e-8 || targetFpir > 0.1) throw new CliError(`--target-fpir "${o.targetFpir}" must be a rate between 1e-8 and 0.1 (e.g. 1e-4)`, EXIT.badInput);
          basis = { targetFpir };
        }
        // The bundle travels to the daemon as bytes with the start request (opened here, as the
        // operator: no symlink, FIFO or device; visible whatever the daemon's mount namespace).
        const params = { authorisationRef: o.authorisation, location: o.location, ...basis, endsAt, ...(o.officer ? { authorisingOfficer: o.officer } : {}), ...(o.reason ? { reason: o.reason } : {}), ...(o.allowDegraded ? { allowDegraded: true } : {}) };
        // Importing thousands of reference images takes minutes on a CPU-only box.
        const rec = o.watchlist ? await sendFile<DeploymentRecord>(cfg, 'deployment.start', params, path.resolve(o.watchlist)) : await ask<DeploymentRecord>(controlSocketPath(cfg.paths.runtimeDir), 'deployment.start', params, 30 * 60_000);
        emit(
          o,
          () =>
            [
              `deployment ${rec.id} started`,
              `  authorisation ${rec.authorisationRef}${rec.authorisingOfficer ? ` (${rec.authorisingOfficer})` : ''} at ${rec.location}`,
              `  threshold ${rec.threshold}${rec.thresholdBasis?.targetFpir != null ? ` (from target FPIR ${rec.thresholdBasis.targetFpir} with ${rec.thresholdBasis.templates} templates)` : ''}${rec.thresholdSource === 'config' ? ' (from the config: match.' + (rec.thresholdBasis?.targetFpir != null ? 'targetFpir' : 'threshold') + ')' : ''}`,
              `  ${endsWords(rec.endsAt, Date.now())}${rec.endsAt < endsAt ? ' (moved earlier: the watchlist expires then)' : ''}`,
              rec.thresholdBasis
                ? `  expected false alerts: about ${rec.thresholdBasis.expectedFalseAlertsPer10k} per 10,000 faces of passers-by${rec.thresholdBasis.extrapolated ? ' (model estimate from the fitted impostor tail: see docs/accuracy.md)' : rec.thresholdBasis.support < 10 ? ` (rests on ${rec.thresholdBasis.support} impostor scores: rough)` : ''}`
                : '  expected false alerts: unknown (no impostor calibration for this embedder)',
              `  watchlist ${rec.watchlist.subjects} people: ${Object.entries(rec.watchlist.categories).map(([k, v]) => `${k} ${v}`).join(', ')}; bundle ${rec.watchlist.bundleSha256.slice(0, 16)}…`,
              ...(rec.watchlist.notEnrolled ? [`  ${rec.watchlist.notEnrolled} person(s) on the bundle could not be enrolled (no usable image)`] : []),
              ...(rec.degraded?.length ? [`  WARNING: started DEGRADED (recorded): ${rec.degraded.join('; ')}`] : []),
            ].join('\n'),
          () => rec,
        );
      }),
    );

  dep
    .command('end')
    .option('--out <dir>', 'also write the report (<id>.json, .txt, .csv, .html) into this folder: an existing folder on a mounted stick or disk, not the root disk')
    .option('--json', 'machine-readable output')
    .description('stop analysis, purge the watchlist and print the results report')
    .action(
      action(async (o: { out?: string; json?: boolean }) => {
        const cfg = cfgOf();
        const out = o.out ? checkOutDir(o.out) : null;
        const r = await ask<DeploymentReport>(controlSocketPath(cfg.paths.runtimeDir), 'deployment.end', {}, 5 * 60_000);
        const files = out ? writeReport(out, r, cfg.van.timeZone) : [];
        const note = out ? markWritten(deploymentsFile(cfg), r) : null;
        emit(o, () => [formatReport(r, cfg.van.timeZone), ...files.map((f) => `written: ${f}`), ...(note ? [note] : [])].join('\n'), () => r);
        return r.watchlistPurged ? EXIT.ok : EXIT.failure;
      }),
    );

  const openStore = () => {
    const file = deploymentsFile(cfgOf());
    if (!existsSync(file)) throw new CliError(`no deployment has been recorded yet (${file} does not exist)`, EXIT.badInput);
    return new DeploymentStore(file, true).open();
  };

  dep
    .command('report')
    .argument('[id]', 'deployment id (default: the latest ended deployment)')
    .option('--out <dir>', 'also write the report (<id>[-vN].json, .txt, .csv, .html) into this folder on a mounted stick or disk')
    .option('--report-version <n>', 'an earlier version of the report (a late decision makes a new one; default: the latest)')
    .option('--format <f>', 'what to print: text (default), csv or html (--json prints the JSON)', 'text')
    .option('--json', 'machine-readable output')
    .description('print the results report of a finished deployment (regenerated, with a new version, when a decision arrives after the end)')
    .action(
      action((id: string | undefined, o: { out?: string; reportVersion?: string; format: string; json?: boolean }) => {
        if (!['text', 'csv', 'html'].includes(o.format)) throw new CliError('--format must be text, csv or html', EXIT.usage);
        const version = o.reportVersion === undefined ? undefined : Number(o.reportVersion);
        if (version !== undefined && (!Number.isInteger(version) || version < 1)) throw new CliError('--report-version must be a whole number from 1', EXIT.usage);
        const out = o.out ? checkOutDir(o.out) : null;
        const store = openStore();
        try {
          const target = id ?? store.list(50).find((d) => d.endedAt !== null)?.id;
          if (!target) throw new CliError('no finished deployment on record', EXIT.badInput);
          const r = store.report(target, version);
          if (!r) throw new CliError(store.get(target) ? (version ? `deployment ${target} has no report version ${version}` : `deployment ${target} has not ended yet`) : `no deployment ${target}`, EXIT.badInput);
          const tz = cfgOf().van.timeZone;
          const files = out ? writeReport(out, r, tz) : [];
          const note = out ? markWritten(deploymentsFile(cfgOf()), r) : null;
          // After writing the latest version the stick is current; otherwise say if it is stale.
          const stale = out && version === undefined ? [] : store.staleCopies(target).map(staleLine);
          if (o.format !== 'text' && !o.json) {
            process.stdout.write(o.format === 'csv' ? reportCsv(r, tz) : reportHtml(r, tz));
            for (const f of files) process.stderr.write(`written: ${f}\n`);
            for (const l of [...stale, ...(note ? [note] : [])]) process.stderr.write(`${l}\n`);
            return;
          }
          emit(o, () => [formatReport(r, tz), ...files.map((f) => `written: ${f}`), ...stale, ...(note ? [note] : [])].join('\n'), () => ({ ...r, ...(stale.length ? { staleOnStick: store.staleCopies(target)[0] } : {}) }));
        } finally {
          store.close();
        }
      }),
    );

  dep
    .command('list')
    .option('--json', 'machine-readable output')
    .description('recent deployments, newest first')
    .action(
      action((o: { json?: boolean }) => {
        const store = openStore();
        try {
          const rows = store.list(50);
          emit(
            o,
            () => rows.map((d) => `${d.id}  ${d.authorisationRef}  ${new Date(d.startedAt).toISOString()}  ${d.endedAt ? `ended (${d.endReason})` : 'RUNNING'}  ${d.location}`).join('\n') || 'no deployments',
            () => ({ deployments: rows.map((d) => ({ id: d.id, authorisationRef: d.authorisationRef, location: d.location, startedAt: new Date(d.startedAt).toISOString(), endedAt: d.endedAt ? new Date(d.endedAt).toISOString() : null, endReason: d.endReason, photoCheck: d.photoCheck ?? null })) }),
          );
        } finally {
          store.close();
        }
      }),
    );

  program
    .command('usb-import')
    .argument('<dir>', 'mount point of the USB stick (or any folder standing in for it)')
    .option('--json', 'machine-readable output')
    .description('import the one watchlist bundle (*.lfrwl) found on a USB stick into the running daemon (run by lfr-usb-import@.service)')
    .action(
      action(async (dir: string, o: { json?: boolean }) => {
        const cfg = cfgOf();
        let file: string;
        try {
          file = findBundle(path.resolve(dir));
        } catch (err) {
          if (err instanceof UsbError) throw new CliError(err.message, EXIT.badInput);
          throw err;
        }
        // Read here, inside lfr-usb-import@.service where the stick is mounted, and sent as bytes:
        // the daemon's own mount namespace need not see the stick at all.
        const result = await sendFile<{ composition: { subjects: number; bundleSha256: string; notEnrolled?: number } }>(cfg, 'watchlist.import', { source: 'usb' }, file);
        const c = result.composition;
        const missed = c.notEnrolled ? `; ${c.notEnrolled} of the ${c.subjects + c.notEnrolled} on the bundle could NOT be enrolled (no usable image): they will not be matched` : '';
        emit(o, () => `imported ${path.basename(file)} from ${dir}: ${c.subjects} people enrolled${missed}, bundle ${c.bundleSha256.slice(0, 16)}`, () => ({ file, ...result }));
      }),
    );
}
