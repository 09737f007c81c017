// The handler table the daemon mounts on its ControlServer. Input checking of the wire format
// lives here; the rules live in DeploymentService. Mounting:
//   new ControlServer(controlSocketPath(cfg.paths.runtimeDir), controlHandlers({...}), log)
import { ControlError, type ControlEntry } from './protocol.js';
import type { DeploymentService } from '../deployment/service.js';
import type { StartRequest } from '../deployment/types.js';
import type { HealthReport } from '../health/types.js';
import type { StatusSummary } from '../health/status.js';
import type { PoolAudit } from '../vision/buffers.js';

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
}

const str = (p: Record<string, unknown>, k: string, required = true): string | undefined => {
  const v = p[k];
  if (v === undefined || v === null || v === '') {
    if (required) throw new ControlError(`missing "${k}"`, 'bad_request');
    return undefined;
  }
  if (typeof v !== 'string') throw new ControlError(`"${k}" must be text`, 'bad_request');
  return v;
};

async function after<T>(d: HandlerDeps, p: Promise<T>): Promise<T> {
  const r = await p;
  try {
    await d.afterChange?.();
  } catch {
    /* publishing is best effort; the periodic health loop publishes again */
  }
  return r;
}

const SOURCES = new Set(['cli', 'usb']);

/** A bundle, CSV, store or import refusal is the caller's bad input: a plain message, not a daemon failure. */
function refusal(err: unknown): never {
  const e = err as { name?: string; message?: string };
  if (e && ['ImportError', 'BundleError', 'CsvError', 'StoreError', 'KeyFileError'].includes(e.name ?? '')) throw new ControlError(e.message ?? 'refused', 'refused');
  throw err;
}

function startRequest(p: Record<string, unknown>): StartRequest {
  const endsAt = p.endsAt;
  const threshold = p.threshold;
  if (typeof endsAt !== 'number') throw new ControlError('"endsAt" must be a time in ms', 'bad_request');
  const targetFpir = p.targetFpir;
  if (threshold !== undefined && typeof threshold !== 'number') throw new ControlError('"threshold" must be a number', 'bad_request');
  if (targetFpir !== undefined && typeof targetFpir !== 'number') throw new ControlError('"targetFpir" must be a number', 'bad_request');
  if (threshold === undefined && targetFpir === undefined) throw new ControlError('"threshold" or "targetFpir" is required', 'bad_request');
  if (p.watchlistFile !== undefined) throw new ControlError('"watchlistFile" is not accepted: send the bundle\'s bytes with the request (lfr deployment start --watchlist FILE does)', 'bad_request');
  const officer = str(p, 'authorisingOfficer', false);
  const reason = str(p, 'reason', false);
  const expect = str(p, 'expectBundleSha256', false);
  if (p.allowDegraded !== undefined && typeof p.allowDegraded !== 'boolean') throw new ControlError('"allowDegraded" must be true or false', 'bad_request');
  return { authorisationRef: str(p, 'authorisationRef')!, location: str(p, 'location')!, ...(threshold !== undefined ? { threshold } : {}), ...(targetFpir !== undefined ? { targetFpir } : {}), endsAt, ...(expect ? { expectBundleSha256: expect } : {}), ...(officer ? { authorisingOfficer: officer } : {}), ...(reason ? { reason } : {}), ...(p.allowDegraded === true ? { allowDegraded: true } : {}) };
}

export function controlHandlers(d: HandlerDeps): Record<string, ControlEntry> {
  const h: Record<string, ControlEntry> = {
    ping: () => ({ pong: true }),
    status: () => d.status(),
    health: () => d.health(),
    // The bundle for this deployment, when one is given, travels as bytes after the request
    // (the daemon never opens a path a request names); the request is checked BEFORE a byte is
    // accepted, so a refused start imports nothing.
    'deployment.start': {
      upload: true,
      optional: true,
      maxBytes: d.upload?.maxBytes ?? 2e9,
      timeoutMs: d.upload?.timeoutMs ?? 30 * 60_000,
      precheck: (p) => d.deployments.checkStart(startRequest(p)),
      run: (p, actor, file) => after(d, d.deployments.startDeployment({ ...startRequest(p), ...(file ? { watchlistFile: file } : {}) }, actor).catch(refusal)),
    },
    'deployment.end': (_p, actor) => after(d, d.deployments.endDeployment('ended_by_operator', actor)),
  };
  if (d.bufferAudit) {
    const audit = d.bufferAudit;
    h['buffers.audit'] = async () => ({ pools: await audit() });
  }
  if (d.importWatchlist) {
    const imp = d.importWatchlist;
    const wl = d.watchlist;
    const source = (p: Record<string, unknown>): string => {
      const s = str(p, 'source', false) ?? 'cli';
      if (!SOURCES.has(s)) throw new ControlError('"source" must be cli or usb', 'bad_request');
      return s;
    };
    // The bundle travels as bytes after the request line: the daemon never opens a path a
    // request names (a FIFO, a device, a symlink, a mount only the caller can see).
    h['watchlist.import'] = {
      upload: true,
      maxBytes: d.upload?.maxBytes ?? 2e9,
      timeoutMs: d.upload?.timeoutMs ?? 30 * 60_000,
      precheck: (p, actor) => {
        try {
          // The daemon knows only that the request came over its socket; cli/usb is the client's word.
          wl?.refuseIfLocked({ actor, source: 'control-socket', claimedSource: source(p) });
        } catch (err) {
          throw new ControlError((err as Error).message, 'refused');
        }
      },
      run: (p, actor, file) => imp(file!, actor, source(p)).catch(refusal),
    };
  }
  if (d.watchlist) {
    const wl = d.watchlist;
    h['watchlist.purge'] = async (_p, actor) => ({ purged: await wl.purge('manual', actor) });
  }
  return h;
}
