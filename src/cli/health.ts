// `lfr health [--json]`: one line per check, OK / WARN / FAIL with a plain reason; exit 1 on FAIL.
// Asks the running daemon (its live view of cameras, broker, alerts and audit); when none runs,
// checks what it can from outside (system, models, watchlist store, camera and broker reachability).
import type { Command } from 'commander';
import { loadConfig } from '../config/load.js';
import { systemClock } from '../lifecycle.js';
import { callDaemon, DaemonNotRunning } from '../control/client.js';
import { controlSocketPath } from '../control/protocol.js';
import { HealthService } from '../health/gather.js';
import { formatReport } from '../health/probes.js';
import type { HealthReport } from '../health/types.js';
import { action, emit, EXIT } from './output.js';

async function daemonAnswers(socket: string): Promise<boolean> {
  try {
    await callDaemon(socket, 'ping', {}, 5_000);
    return true;
  } catch {
    return false;
  }
}

export function register(program: Command): void {
  program
    .command('health')
    .description('check the van: system, clock, cameras, broker, models, watchlist, alert retention, audit chain')
    .option('--json', 'machine-readable output')
    .option('--local', 'do not ask the daemon; probe from this process')
    .action(
      action(async (opts: { json?: boolean; local?: boolean }) => {
        const cfg = loadConfig(program.opts<{ config?: string }>().config);
        let report: HealthReport | null = null;
        if (!opts.local) {
          try {
            report = await callDaemon<HealthReport>(controlSocketPath(cfg.paths.runtimeDir), 'health', {}, 60_000);
          } catch (err) {
            if (!(err instanceof DaemonNotRunning)) throw err;
          }
        }
        // --local (or a daemon that did not answer health): probe from here; still say whether
        // the daemon is up, by a ping on its control socket.
        report ??= await new HealthService(cfg, systemClock, null, await daemonAnswers(controlSocketPath(cfg.paths.runtimeDir))).report();
        emit(opts, () => formatReport(report), () => report);
        return report.level === 'FAIL' ? EXIT.failure : EXIT.ok;
      }),
    );
}
