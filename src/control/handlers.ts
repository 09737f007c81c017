// The handler table the daemon mounts on its ControlServer. Every request's params are parsed by
// a schema (schemas.ts, zod); a refusal's reason is audited (control.refused), built from the
// schema, never echoing the payload. The rules live in DeploymentService, whose own errors
// (deployment/errors.ts) become wire codes here (wire-errors.ts). Mounting:
//   new ControlServer(controlSocketPath(cfg.paths.runtimeDir), controlHandlers({...}), log)
import { ControlError, type ControlEntry } from './protocol.js';
import type { DeploymentService } from '../deployment/service.js';
import type { StartRequest } from '../deployment/types.js';
import type { HealthReport } from '../health/types.js';
import type { StatusSummary } from '../health/status.js';
import type { PoolAudit } from '../buffers/pools.js';
import type { z } from 'zod';
import { describeIssues, ImportParams, NoParams, StartParams } from './schemas.js';
import { wired } from './wire-errors.js';

export interface HandlerDeps {
  deployments: DeploymentService;
  health: () => Promise<HealthReport>;
  status: () => StatusSummary | Promise<StatusSummary>;
  /** Import a watchlist bundle (CLI and USB: the file arrives as bytes, see UploadHandler). */
  importWatchlist?: (file: string, actor: string, source: string) => Promise<unknown>;
  /** The watchlist component: the deployment lock (refused before a byte is uploaded) and purge. */
  watchlist?: {
    refuseIfLocked(req: { actor?: string; source?: string; claimedSource?: string }): void;
    purge(reason: 'manual', actor: string): Promise<boolean>;
  };
  /** Upload limits of watchlist.import (config watchlist.maxBundleBytes, importTimeoutSeconds). */
  upload?: { maxBytes: number; timeoutMs: number };
  /** Called after a deployment started or ended (e.g. HealthMonitor.publish, so tablets see it at once). */
  afterChange?: () => void | Promise<void>;
  /** The buffer pools that hold faces, main thread and inference workers: counts only, never content. */
  bufferAudit?: () => Promise<PoolAudit[]>;
  /** A request refused by its schema (the daemon audits it as control.refused: method, reason, peer). */
  onRefused?: (method: string, reason: string, actor: string) => void;
}

/** Params parsed by the method's schema, or refused (and the refusal reported) with a reason from the schema. */
function parsed<T>(d: HandlerDeps, method: string, schema: z.ZodType<T>, p: Record<string, unknown>, actor: string): T {
  const r = schema.safeParse(p);
  if (r.success) return r.data;
  const reason = describeIssues(r.error.issues);
  try {
    d.onRefused?.(method, reason, actor);
  } catch {
    /* the audit logs its own failure; the caller still gets the refusal */
  }
  throw new ControlError(`bad request: ${reason}`, 'bad_request');
}

async function after<T>(d: HandlerDeps, p: Promise<T>): Promise<T> {
  const r = await p;
  try {
    await d.afterChange?.();
  } catch {
    /* publishing is best effort; the periodic health loop publishes again */
  }
  return r;
}

/** A bundle, CSV, store or import refusal is the caller's bad input: a plain message, not a daemon failure. */
function refusal(err: unknown): never {
  const e = err as { name?: string; message?: string };
  if (e && ['ImportError', 'BundleError', 'CsvError', 'StoreError', 'KeyFileError'].includes(e.name ?? '')) throw new ControlError(e.message ?? 'refused', 'refused');
  throw err;
}

function startRequest(d: HandlerDeps, p: Record<string, unknown>, actor: string): StartRequest {
  // A path is never accepted (the daemon opens no path a request names): said plainly, before the schema.
  if (p.watchlistFile !== undefined) throw new ControlError('"watchlistFile" is not accepted: send the bundle\'s bytes with the request (lfr deployment start --watchlist FILE does)', 'bad_request');
  const { bytes: _bytes, ...req } = parsed(d, 'deployment.start', StartParams, p, actor);
  const out: StartRequest = { authorisationRef: req.authorisationRef, location: req.location, endsAt: req.endsAt };
  if (req.threshold !== undefined) out.threshold = req.threshold;
  if (req.targetFpir !== undefined) out.targetFpir = req.targetFpir;
  if (req.expectBundleSha256) out.expectBundleSha256 = req.expectBundleSha256;
  if (req.authorisingOfficer) out.authorisingOfficer = req.authorisingOfficer;
  if (req.reason) out.reason = req.reason;
  if (req.allowDegraded === true) out.allowDegraded = true;
  return out;
}

export function controlHandlers(d: HandlerDeps): Record<string, ControlEntry> {
  const h: Record<string, ControlEntry> = {
    ping: (p, actor) => (parsed(d, 'ping', NoParams, p, actor), { pong: true }),
    status: (p, actor) => (parsed(d, 'status', NoParams, p, actor), d.status()),
    health: (p, actor) => (parsed(d, 'health', NoParams, p, actor), d.health()),
    // The bundle for this deployment, when one is given, travels as bytes after the request
    // (the daemon never opens a path a request names); the request is checked BEFORE a byte is
    // accepted, so a refused start imports nothing.
    'deployment.start': {
      upload: true,
      optional: true,
      maxBytes: d.upload?.maxBytes ?? 2e9,
      timeoutMs: d.upload?.timeoutMs ?? 30 * 60_000,
      precheck: (p, actor) => wired(() => d.deployments.checkStart(startRequest(d, p, actor), actor)),
      run: (p, actor, file) => after(d, wired(() => d.deployments.startDeployment({ ...startRequest(d, p, actor), ...(file ? { watchlistFile: file } : {}) }, actor)).catch(refusal)),
    },
    'deployment.end': (p, actor) => (parsed(d, 'deployment.end', NoParams, p, actor), after(d, wired(() => d.deployments.endDeployment('ended_by_operator', actor)))),
  };
  if (d.bufferAudit) {
    const audit = d.bufferAudit;
    h['buffers.audit'] = async (p, actor) => (parsed(d, 'buffers.audit', NoParams, p, actor), { pools: await audit() });
  }
  if (d.importWatchlist) {
    const imp = d.importWatchlist;
    const wl = d.watchlist;
    const source = (p: Record<string, unknown>, actor: string): string => parsed(d, 'watchlist.import', ImportParams, p, actor).source ?? 'cli';
    // The bundle travels as bytes after the request line: the daemon never opens a path a
    // request names (a FIFO, a device, a symlink, a mount only the caller can see).
    h['watchlist.import'] = {
      upload: true,
      maxBytes: d.upload?.maxBytes ?? 2e9,
      timeoutMs: d.upload?.timeoutMs ?? 30 * 60_000,
      precheck: (p, actor) => {
        const claimedSource = source(p, actor);
        try {
          // The daemon knows only that the request came over its socket; cli/usb is the client's word.
          wl?.refuseIfLocked({ actor, source: 'control-socket', claimedSource });
        } catch (err) {
          throw new ControlError((err as Error).message, 'refused');
        }
      },
      run: (p, actor, file) => imp(file!, actor, source(p, actor)).catch(refusal),
    };
  }
  if (d.watchlist) {
    const wl = d.watchlist;
    h['watchlist.purge'] = async (p, actor) => (parsed(d, 'watchlist.purge', NoParams, p, actor), { purged: await wl.purge('manual', actor) });
  }
  return h;
}
