// `lfr status [--json]`: the running deployment and its counts, health at a glance, cameras.
// Exit 4 (not ready) when the daemon is not running, after printing the last deployment on record.
import { existsSync } from 'node:fs';
import type { Command } from 'commander';
import { loadConfig } from '../config/load.js';
import { callDaemon, DaemonNotRunning } from '../control/client.js';
import { controlSocketPath } from '../control/protocol.js';
import { formatStatus, type StatusSummary } from '../health/status.js';
import { DeploymentStore, deploymentsFile } from '../deployment/store.js';
import { action, emit, EXIT } from './output.js';

export function register(program: Command): void {
  program
    .command('status')
    .description('the running deployment and its counts, cameras and health at a glance')
    .option('--json', 'machine-readable output')
    .action(
      action(async (opts: { json?: boolean }) => {
        const cfg = loadConfig(program.opts<{ config?: string }>().config);
        try {
          const s = await callDaemon<StatusSummary>(controlSocketPath(cfg.paths.runtimeDir), 'status', {}, 15_000);
          emit(opts, () => formatStatus(s), () => ({ running: true, ...s }));
          return EXIT.ok;
        } catch (err) {
          if (!(err instanceof DaemonNotRunning)) throw err;
        }
        const file = deploymentsFile(cfg);
        let last = null;
        if (existsSync(file)) {
          const store = new DeploymentStore(file, true).open();
          try {
            last = store.list(1)[0] ?? null;
          } finally {
            store.close();
          }
        }
        emit(
          opts,
          () => `the lfr daemon is not running (systemctl status lfr)${last ? `\nlast deployment: ${last.id} (${last.authorisationRef}) ${last.endedAt ? `ended ${new Date(last.endedAt).toISOString()}` : 'did not end cleanly: it will be ended when the daemon starts'}` : ''}`,
          () => ({ running: false, lastDeployment: last ? { id: last.id, authorisationRef: last.authorisationRef, endedAt: last.endedAt ? new Date(last.endedAt).toISOString() : null } : null }),
        );
        return EXIT.notReady;
      }),
    );
}
