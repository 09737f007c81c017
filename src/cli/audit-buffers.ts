// `lfr audit buffers [--json]`: for an auditor, on the running van. Asks the daemon to count
// every buffer that holds pixels or features of a face (decoded frames, detector, landmark and
// embedder inputs, aligned crops, quality scratch, embeddings, quantised probes), per pool, on
// the main thread and in every inference worker: how many, how many bytes, how many in use, and
// how many RELEASED buffers are not all zero (a face that was not wiped). Counts only: no byte of
// content ever leaves the daemon. Exit 1 when a released buffer is not zero.
import type { Command } from 'commander';
import { loadConfig } from '../config/load.js';
import { callDaemon, DaemonNotRunning } from '../control/client.js';
import { controlSocketPath } from '../control/protocol.js';
import type { PoolAudit } from '../buffers/pools.js';
import { action, CliError, emit, EXIT } from './output.js';

export function summarise(pools: readonly PoolAudit[]): { buffers: number; bytes: number; inUse: number; released: number; releasedNotZero: number } {
  const sum = (k: keyof PoolAudit): number => pools.reduce((t, p) => t + (p[k] as number), 0);
  return { buffers: sum('buffers'), bytes: sum('bytes'), inUse: sum('inUse'), released: sum('released'), releasedNotZero: sum('releasedNotZero') };
}

export function registerBuffers(audit: Command, program: Command): void {
  audit
    .command('buffers')
    .description('count the daemon\'s face buffers (main thread and inference workers) and check every released one is zero; counts only, never content')
    .option('--json', 'machine-readable output')
    .action(
      action(async (opts: { json?: boolean }) => {
        const cfg = loadConfig(program.opts<{ config?: string }>().config);
        let pools: PoolAudit[];
        try {
          pools = (await callDaemon<{ pools: PoolAudit[] }>(controlSocketPath(cfg.paths.runtimeDir), 'buffers.audit', {}, 30_000)).pools;
        } catch (err) {
          if (err instanceof DaemonNotRunning) throw new CliError('the lfr daemon is not running: there are no buffers to audit', EXIT.notReady);
          throw err;
        }
        const s = summarise(pools);
        const ok = s.releasedNotZero === 0;
        emit(
          opts,
          () =>
            [
              'thread     pool              buffers   bytes        in use  released  released not zero',
              ...pools.map((p) => `${p.thread.padEnd(11)}${p.pool.padEnd(18)}${String(p.buffers).padEnd(10)}${String(p.bytes).padEnd(13)}${String(p.inUse).padEnd(8)}${String(p.released).padEnd(10)}${p.releasedNotZero}`),
              ok ? `every released buffer is zero (${s.released} of ${s.buffers} buffers released, ${s.bytes} bytes in all)` : `NOT WIPED: ${s.releasedNotZero} released buffer(s) still hold data`,
            ].join('\n'),
          () => ({ ok, ...s, pools }),
        );
        return ok ? EXIT.ok : EXIT.failure;
      }),
    );
}
