// The handler table the daemon mounts on its ControlServer. Input checking of the wire format
// lives here; the rules live in DeploymentService. Mounting:
//   new ControlServer(controlSocketPath(cfg.paths.runtimeDir), controlHandlers({...}), log)
import { ControlError, type ControlHandler } from './protocol.js';
import type { DeploymentService } from '../deployment/service.js';
import type { HealthReport } from '../health/types.js';
import type { StatusSummary } from '../health/status.js';

export interface HandlerDeps {
  deployments: DeploymentService;
  health: () => Promise<HealthReport>;
  status: () => StatusSummary | Promise<StatusSummary>;
  /** Import a watchlist bundle outside a deployment (USB auto-import). Optional until wired. */
  importWatchlist?: (file: string, actor: string, source: string) => Promise<unknown>;
  /** Called after a deployment started or ended (e.g. HealthMonitor.publish, so tablets see it at once). */
  afterChange?: () => void | Promise<void>;
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

export function controlHandlers(d: HandlerDeps): Record<string, ControlHandler> {
  const h: Record<string, ControlHandler> = {
    ping: () => ({ pong: true }),
    status: () => d.status(),
    health: () => d.health(),
    'deployment.start': (p, actor) => {
      const endsAt = p.endsAt;
      const threshold = p.threshold;
      if (typeof endsAt !== 'number') throw new ControlError('"endsAt" must be a time in ms', 'bad_request');
      const targetFpir = p.targetFpir;
      if (threshold !== undefined && typeof threshold !== 'number') throw new ControlError('"threshold" must be a number', 'bad_request');
      if (targetFpir !== undefined && typeof targetFpir !== 'number') throw new ControlError('"targetFpir" must be a number', 'bad_request');
      if (threshold === undefined && targetFpir === undefined) throw new ControlError('"threshold" or "targetFpir" is required', 'bad_request');
      const officer = str(p, 'authorisingOfficer', false);
      const reason = str(p, 'reason', false);
      const watchlistFile = str(p, 'watchlistFile', false);
      return after(d, d.deployments.startDeployment(
        { authorisationRef: str(p, 'authorisationRef')!, location: str(p, 'location')!, ...(threshold !== undefined ? { threshold } : {}), ...(targetFpir !== undefined ? { targetFpir } : {}), endsAt, ...(watchlistFile ? { watchlistFile } : {}), ...(officer ? { authorisingOfficer: officer } : {}), ...(reason ? { reason } : {}) },
        actor,
      ));
    },
    'deployment.end': (_p, actor) => after(d, d.deployments.endDeployment('ended_by_operator', actor)),
  };
  if (d.importWatchlist) {
    const imp = d.importWatchlist;
    h['watchlist.import'] = (p, actor) => imp(str(p, 'file')!, actor, str(p, 'source', false) ?? 'cli');
  }
  return h;
}
