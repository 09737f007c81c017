// `lfr demo`: the product's main job on built-in material. Builds a video from the MIT demo
// photos of @vladmandic/face-api, serves it from a local RTSP server (scripts/rtsp-server.py),
// generates demo keys, builds and imports a signed, encrypted watchlist bundle of ONE person in
// the photos, runs the real daemon on that camera and prints each alert as it is raised; stops
// after --seconds or on Ctrl-C. Alerts go to the console (no broker needed), not to MQTT.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Command } from 'commander';
import { loadConfig, parseConfig } from '../config/load.js';
import { createLogger } from '../log.js';
import { Daemon } from '../daemon.js';
import { createFaceEngine } from '../vision/engine.js';
import { RtspServer, rtspServerAvailable } from '../tools/rtsp-server.js';
import { buildDemoBundle, cropReferenceFace, demoPhoto, makeDemoVideo } from '../tools/demo/kit.js';
import type { AlertCandidate } from '../alerts/types.js';
import { wipe } from '../crypto/secure.js';
import { visionCliError } from './faces.js';
import { runUntilSignal } from './run.js';
import { action, CliError, emit, EXIT } from './output.js';

export function register(program: Command): void {
  program
    .command('demo')
    .description('live demo: local RTSP camera (video of MIT demo photos) -> daemon -> alerts printed as they are raised')
    .option('--seconds <n>', 'stop after this many seconds (Ctrl-C stops earlier)', '30')
    .option('--keep', 'keep the demo folder (video, keys, bundle, state) and print its path')
    .option('--json', 'one JSON summary object as the last stdout line')
    .action(
      action(async (opts: { seconds: string; keep?: boolean; json?: boolean }) => {
        const seconds = Number(opts.seconds);
        if (!(seconds > 0)) throw new CliError('--seconds must be a positive number', EXIT.usage);
        if (!rtspServerAvailable()) throw new CliError('the demo RTSP server needs GStreamer RTSP server bindings for python3: run bash scripts/setup.sh', EXIT.notReady);
        const say = (s: string): void => {
          if (!opts.json) process.stdout.write(`${s}\n`);
        };
        const base = loadConfig(program.opts<{ config?: string }>().config);
        const dir = mkdtempSync(path.join(tmpdir(), 'lfr-demo-'));
        let server: RtspServer | null = null;
        const alerts: Array<{ camera: string; subjectRef: string; score: number; latencyMs: number }> = [];
        try {
          say('preparing: reference face, demo video, keys, signed watchlist bundle ...');
          const engine = await createFaceEngine(base, createLogger({ level: 'warn' })).catch(visionCliError);
          const ref = await cropReferenceFace(engine, demoPhoto(1), base.quality.enrolment).finally(() => engine.close());
          const wl = await buildDemoBundle(dir, ref);
          wipe(ref);
          const video = path.join(dir, 'demo.mp4');
          // Nobody, the watchlisted person in a group, nobody, other people (not on the list).
          await makeDemoVideo(video, ['black:2', `${demoPhoto(1)}:5`, 'black:2', `${demoPhoto(5)}:4`]);
          server = await RtspServer.start({ mounts: { '/demo': `file:${video}` } });
          say(`camera: ${server.url('/demo')} (looping)`);
          const cfg = parseConfig({
            ...base,
            paths: { ...base.paths, stateDir: path.join(dir, 'state'), runtimeDir: path.join(dir, 'run') },
            // Absolute: parseConfig (unlike loadConfig) does not resolve paths, and a relative store would
            // land in the caller's working directory and outlive the demo.
            watchlist: { ...base.watchlist, storeFile: path.join(dir, 'run', 'watchlist.db'), vanKeyFile: wl.vanKeyFile, trustedSigningKeys: [wl.signingPubFile] },
            cameras: [{ name: 'demo', url: server.url('/demo') }],
          });
          const log = createLogger({ level: 'warn' });
          const daemon = new Daemon({
            config: cfg,
            log,
            alerts: {
              async raise(c: AlertCandidate) {
                const id = `demo-${alerts.length + 1}`;
                const latencyMs = Date.now() - c.capturedAt;
                alerts.push({ camera: c.camera, subjectRef: c.subjectRef, score: c.score, latencyMs });
                say(`ALERT ${new Date(c.capturedAt).toISOString()} camera=${c.camera} subject=${c.subjectRef} (${c.category}) score=${c.score.toFixed(3)} threshold=${c.threshold} frame-to-alert=${latencyMs} ms face=${c.faceJpeg.length} B`);
                for (const b of [c.faceJpeg, c.contextJpeg, c.referenceJpeg]) wipe(b);
                return id;
              },
            },
          });
          const controller = new AbortController();
          const done = runUntilSignal(daemon, controller, new Promise((r) => setTimeout(r, seconds * 1000).unref()));
          await daemon.start(controller.signal);
          const rep = await daemon.watchlist.importFile(wl.bundle);
          say(`watchlist imported: ${rep.composition.subjects} subject; running for ${seconds} s (Ctrl-C stops)`);
          await done;
          const st = daemon.status();
          const cam = st.cameras[0];
          say(`stopped: ${st.counters.framesAnalysed} frames analysed, ${st.counters.facesAnalysed} faces (counted, not stored), ${st.counters.tracks} tracks, ${st.counters.alerts} alerts; camera ${cam?.state ?? '?'} ${cam ? `${cam.decoded} decoded, ${cam.dropped} dropped` : ''}`);
          if (opts.json) emit({ json: true }, () => '', () => ({ alerts, counters: st.counters, camera: cam ?? null, dir: opts.keep ? dir : null }));
          return alerts.length > 0 ? EXIT.ok : EXIT.failure;
        } finally {
          await server?.stop();
          if (opts.keep) say(`demo folder kept: ${dir}`);
          else rmSync(dir, { recursive: true, force: true });
        }
      }),
    );
}
