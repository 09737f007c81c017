// `lfr demo`: the product's main job on built-in material: the whole van (broker, daemon, alert
// store with retention, audit log, tablet page) built by the one composition root, a camera
// showing a watchlisted person, a deployment started and ended. The work is in
// src/tools/demo/run.ts; this file parses options and prints.
import type { Command } from 'commander';
import { loadConfig } from '../config/load.js';
import { rtspServerAvailable } from '../tools/rtsp-server.js';
import { MOSQUITTO } from '../tools/broker.js';
import { runDemo } from '../tools/demo/run.js';
import { visionCliError } from './faces.js';
import { action, CliError, emit, EXIT } from './output.js';

export function register(program: Command): void {
  program
    .command('demo')
    .description('live demo of the whole van: local broker, RTSP camera (video of MIT demo photos), daemon, tablet page, a deployment; alerts printed as they are raised')
    .option('--seconds <n>', 'how long the deployment runs (Ctrl-C stops earlier)', '30')
    .option('--retention <s>', 'seconds an alert is kept (the running daemon purges it)', '15')
    .option('--keep', 'keep the demo folder (video, keys, bundle, state) and print its path')
    .option('--json', 'one JSON summary object as the last stdout line')
    .action(
      action(async (opts: { seconds: string; retention: string; keep?: boolean; json?: boolean }) => {
        const seconds = Number(opts.seconds);
        const retentionSeconds = Number(opts.retention);
        if (!(seconds > 0)) throw new CliError('--seconds must be a positive number', EXIT.usage);
        if (!(retentionSeconds >= 1 && retentionSeconds <= 86_400)) throw new CliError('--retention must be 1 to 86400 seconds', EXIT.usage);
        if (!rtspServerAvailable()) throw new CliError('the demo RTSP server needs GStreamer RTSP server bindings for python3: run bash scripts/setup.sh', EXIT.notReady);
        if (!MOSQUITTO) throw new CliError('the demo needs mosquitto: run bash scripts/setup.sh', EXIT.notReady);
        const say = (s: string): void => {
          if (!opts.json) process.stdout.write(`${s}\n`);
        };
        const base = loadConfig(program.opts<{ config?: string }>().config);
        let stop: () => void = () => undefined;
        const interrupted = new Promise<void>((resolve) => (stop = resolve));
        process.once('SIGINT', stop);
        process.once('SIGTERM', stop);
        const r = await runDemo({ base, seconds, retentionSeconds, keep: Boolean(opts.keep), say, interrupted }).catch(visionCliError);
        if (opts.json) emit({ json: true }, () => '', () => r);
        return r.alertsRaised > 0 && r.auditIntact ? EXIT.ok : EXIT.failure;
      }),
    );
}
