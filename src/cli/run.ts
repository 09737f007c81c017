// `lfr run`: the daemon in the foreground (systemd Type=notify runs exactly this). SIGINT and
// SIGTERM stop it in order (cameras first, outbox drained briefly, stores closed, logger
// flushed); a second signal during the stop exits at once with status 1.
import type { Command } from 'commander';
import { loadConfig } from '../config/load.js';
import { createLogger } from '../log.js';
import { Daemon } from '../daemon.js';
import { AlreadyRunning } from '../run-lock.js';
import { action, CliError, EXIT } from './output.js';

/** Run a started daemon until SIGINT/SIGTERM (or `until` resolves), then stop it. */
export async function runUntilSignal(daemon: Daemon, controller: AbortController, until?: Promise<void>): Promise<void> {
  let stopping = false;
  const stopped = new Promise<void>((resolve) => {
    const onSignal = (sig: NodeJS.Signals): void => {
      if (stopping) {
        process.stderr.write(`lfr: second ${sig} during shutdown, exiting now\n`);
        process.exit(1);
      }
      stopping = true;
      controller.abort();
      resolve();
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
    until?.then(() => resolve(), () => resolve());
  });
  await stopped;
  stopping = true;
  await daemon.stop();
}

export function register(program: Command): void {
  program
    .command('run')
    .description('run the daemon in the foreground (cameras -> match -> alerts); stops on SIGINT/SIGTERM')
    .action(
      action(async () => {
        const cfg = loadConfig(program.opts<{ config?: string }>().config);
        const log = createLogger({ level: cfg.log.level });
        const daemon = new Daemon({ config: cfg, log });
        const controller = new AbortController();
        const signalled = runUntilSignal(daemon, controller);
        try {
          await daemon.start(controller.signal);
        } catch (err) {
          // A second `lfr run`: it has touched nothing (the lock is the first part) and says so plainly.
          if (err instanceof AlreadyRunning) {
            await daemon.stop();
            throw new CliError(err.message, EXIT.failure);
          }
          log.error({ err }, 'daemon start failed');
          await daemon.stop();
          throw err;
        }
        await signalled;
        return EXIT.ok;
      }),
    );
}
