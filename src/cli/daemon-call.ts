// Talking to the running daemon from a CLI command: one place that turns control-socket failures
// into plain CLI errors, and that tells whether a daemon is there at all (watchlist import and
// purge go THROUGH it when it runs, so the change is audited under the caller's OS user).
import { callDaemon, ControlRequestError, DaemonNotRunning, sendFileToDaemon } from '../control/client.js';
import { controlSocketPath } from '../control/protocol.js';
import type { Config } from '../config/schema.js';
import { NotARegularFile } from '../util/files.js';
import { existsSync } from 'node:fs';
import { AlreadyRunning, RunLock } from '../run-lock.js';
import { CliError, EXIT } from './output.js';

function cliError(err: unknown): never {
  if (err instanceof DaemonNotRunning) throw new CliError(`${err.message}: start it with "systemctl start lfr"`, EXIT.notReady);
  if (err instanceof NotARegularFile) throw new CliError(err.message, EXIT.badInput);
  if (err instanceof ControlRequestError) throw new CliError(err.message, err.code === 'bad_request' || err.code === 'refused' ? EXIT.badInput : EXIT.failure);
  throw err;
}

/** True when a daemon answers on this config's control socket. Any other failure (EACCES) is an error, never "no daemon". */
export async function daemonRunning(cfg: Config): Promise<boolean> {
  try {
    await callDaemon(controlSocketPath(cfg.paths.runtimeDir), 'ping', {}, 10_000);
    return true;
  } catch (err) {
    if (err instanceof DaemonNotRunning) return false;
    return cliError(err);
  }
}

export async function askDaemon<T>(cfg: Config, method: string, params: Record<string, unknown>, timeoutMs = 30_000): Promise<T> {
  return callDaemon<T>(controlSocketPath(cfg.paths.runtimeDir), method, params, timeoutMs).catch(cliError);
}

/** Send a file (opened here, as the caller: no symlink, FIFO or device) with the request. */
export async function sendFile<T>(cfg: Config, method: string, params: Record<string, unknown>, file: string): Promise<T> {
  // The daemon's own limit plus a margin for the upload itself.
  const timeoutMs = (cfg.watchlist.importTimeoutSeconds + 60) * 1000;
  return sendFileToDaemon<T>(controlSocketPath(cfg.paths.runtimeDir), method, params, file, timeoutMs).catch(cliError);
}

/**
 * Work on the van's own files with no daemon answering (the CLI's offline mode), holding the van's
 * lock meanwhile: refused while an `lfr run` holds it, even one whose control socket is gone.
 */
export async function offline<T>(cfg: Config, fn: () => Promise<T> | T): Promise<T> {
  let lock: RunLock | null = null;
  if (existsSync(cfg.paths.runtimeDir)) {
    lock = RunLock.forRuntimeDir(cfg.paths.runtimeDir);
    try {
      lock.acquire();
    } catch (err) {
      if (err instanceof AlreadyRunning) throw new CliError(`${err.message}, but its control socket does not answer: nothing was changed. Restart it ("systemctl restart lfr") and try again`, EXIT.notReady);
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'EACCES' || code === 'EPERM') throw new CliError(`cannot tell whether lfr is running (${code} on ${lock.file}): nothing was changed; run this as the lfr user`, EXIT.failure);
      throw err;
    }
  }
  try {
    return await fn();
  } finally {
    lock?.release();
  }
}
