// `lfr eval video --video FILE --gallery DIR [--json]`: the live decision path over a video file
// (src/tools/eval/video.ts). Registered under `lfr eval` by one line in src/cli/eval.ts.
import { access, readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { loadConfig } from '../config/load.js';
import { silentLogger } from '../log.js';
import { DatasetError, readIdentityFolders } from '../tools/eval/datasets.js';
import { createFaceEngine } from '../vision/engine.js';
import { enrolIdentities, evalVideo, type VideoEvalReport } from '../tools/eval/video.js';
import { parseTruth, type TruthSpan } from '../tools/eval/truth.js';
import { visionCliError } from './faces.js';
import { action, CliError, emit, EXIT } from './output.js';

function human(r: VideoEvalReport, video: string): string {
  const lines = [
    `video ${video}: ${r.framesAnalysed} frames analysed, ${r.faces} faces, ${r.tracks} tracks, ${r.embedded} embeddings (${(r.wallMs / 1000).toFixed(1)} s)`,
    `gallery: ${r.gallery.identities} identities, ${r.gallery.templates} templates (${r.gallery.failedImages} images unusable); threshold ${r.threshold}`,
    `${r.alerts.length} alert(s)`,
  ];
  if (r.noFaces) lines.push('no face was detected in this video: nothing to search');
  for (const a of r.alerts) lines.push(`  ${(a.timeMs / 1000).toFixed(1).padStart(7)} s  track ${String(a.track).padEnd(4)} ${a.identity}  score ${a.score.toFixed(3)}`);
  const t = r.truth;
  if (t) {
    lines.push(`truth: ${t.alerted} alerted, ${t.missed} missed, ${t.wrongIdentityAlerts} wrong-identity alert(s), ${t.identitySwitches} identity switch(es) (tracks holding two people); ${r.splits} track split(s) by appearance; ${t.unattributedFaces} face sighting(s) at span edges not attributed`);
    for (const p of t.people) {
      const state = p.alerted === null ? 'not on the watchlist' : p.alerted ? `alerted after ${(p.timeToAlertMs! / 1000).toFixed(1)} s` : 'MISSED';
      lines.push(`  ${p.person.padEnd(28)} ${state.padEnd(22)} wrong alerts ${p.wrongAlerts}  switches ${p.switches}`);
    }
  }
  return lines.join('\n');
}

export function registerEvalVideo(ev: Command, program: Command): void {
  ev.command('video')
    .requiredOption('--video <file>', 'video file (MP4/MOV, decoded through GStreamer like a camera)')
    .requiredOption('--gallery <dir>', 'folder of <identity>/<images>, enrolled directly (evaluation only)')
    .option('--min-images <n>', 'enrol only identities with at least this many images', '1')
    .option('--max-images <n>', 'enrol at most this many images of each identity (the first by file name); default all')
    .option('--truth <file>', 'JSON array of who is on screen when ({"identity", "start", "end", "box"?}, docs/accuracy.md): per person alerted / missed, time to alert, wrong-identity alerts, identity switches')
    .option('--json', 'machine-readable output: one JSON object as the last stdout line')
    .description('the live path (tracker, alert policy, configured threshold) over a video file')
    .action(
      action(async (opts: { video: string; gallery: string; minImages: string; maxImages?: string; truth?: string; json?: boolean }) => {
        const minImages = Number(opts.minImages);
        if (!Number.isInteger(minImages) || minImages < 1) throw new CliError('--min-images must be a positive integer', EXIT.usage);
        const maxImages = opts.maxImages === undefined ? Infinity : Number(opts.maxImages);
        if (!(maxImages === Infinity || (Number.isInteger(maxImages) && maxImages >= 1))) throw new CliError('--max-images must be a positive integer', EXIT.usage);
        await access(opts.video).catch(() => {
          throw new CliError(`cannot read video ${opts.video}`, EXIT.badInput);
        });
        const ids = await readIdentityFolders(opts.gallery).catch((err: unknown) => {
          if (err instanceof DatasetError) throw new CliError(err.message, EXIT.badInput);
          throw err;
        });
        const enrolled = ids.identities.filter((i) => i.images.length >= minImages).map((i) => ({ ...i, images: i.images.slice(0, maxImages) }));
        // The truth is read whole before anything is evaluated: a bad line stops the run.
        let truth: TruthSpan[] | undefined;
        if (opts.truth !== undefined) {
          const text = await readFile(opts.truth, 'utf8').catch((err: NodeJS.ErrnoException) => {
            throw new CliError(`cannot read truth file ${opts.truth}: ${err.code ?? err.message}`, EXIT.badInput);
          });
          try {
            truth = parseTruth(text, opts.truth, new Set(enrolled.map((i) => i.name)));
          } catch (err) {
            if (err instanceof DatasetError) throw new CliError(err.message, EXIT.badInput);
            throw err;
          }
        }
        const cfg = loadConfig(program.opts<{ config?: string }>().config);
        const engine = await createFaceEngine(cfg, silentLogger()).catch(visionCliError);
        try {
          const { gallery, failed } = await enrolIdentities(engine, enrolled);
          try {
            const r = await evalVideo({ config: cfg, engine, log: silentLogger(), video: opts.video, gallery, failedImages: failed, ...(truth ? { truth } : {}) }).catch((err: unknown) => {
              throw new CliError((err as Error).message, EXIT.badInput);
            });
            emit(opts, () => human(r, opts.video), () => r);
          } finally {
            gallery.clear();
          }
          return EXIT.ok;
        } finally {
          await engine.close();
        }
      }),
    );
}
