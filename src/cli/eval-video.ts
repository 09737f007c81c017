// `lfr eval video --video FILE --gallery DIR [--json]`: the live decision path over a video file
// (src/tools/eval/video.ts). Registered under `lfr eval` by one line in src/cli/eval.ts.
import { access } from 'node:fs/promises';
import type { Command } from 'commander';
import { loadConfig } from '../config/load.js';
import { silentLogger } from '../log.js';
import { DatasetError, readIdentityFolders } from '../tools/eval/datasets.js';
import { createFaceEngine } from '../vision/engine.js';
import { enrolIdentities, evalVideo, type VideoEvalReport } from '../tools/eval/video.js';
import { visionCliError } from './faces.js';
import { action, CliError, emit, EXIT } from './output.js';

function human(r: VideoEvalReport, video: string): string {
  const lines = [
    `video ${video}: ${r.framesAnalysed} frames analysed, ${r.faces} faces, ${r.tracks} tracks, ${r.embedded} embeddings (${(r.wallMs / 1000).toFixed(1)} s)`,
    `gallery: ${r.gallery.identities} identities, ${r.gallery.templates} templates (${r.gallery.failedImages} images unusable); threshold ${r.threshold}`,
    `${r.alerts.length} alert(s)`,
  ];
  for (const a of r.alerts) lines.push(`  ${(a.timeMs / 1000).toFixed(1).padStart(7)} s  track ${String(a.track).padEnd(4)} ${a.identity}  score ${a.score.toFixed(3)}`);
  return lines.join('\n');
}

export function registerEvalVideo(ev: Command, program: Command): void {
  ev.command('video')
    .requiredOption('--video <file>', 'video file (MP4/MOV, decoded through GStreamer like a camera)')
    .requiredOption('--gallery <dir>', 'folder of <identity>/<images>, enrolled directly (evaluation only)')
    .option('--min-images <n>', 'enrol only identities with at least this many images', '1')
    .option('--max-images <n>', 'enrol at most this many images of each identity (the first by file name); default all')
    .option('--json', 'machine-readable output: one JSON object as the last stdout line')
    .description('the live path (tracker, alert policy, configured threshold) over a video file')
    .action(
      action(async (opts: { video: string; gallery: string; minImages: string; maxImages?: string; json?: boolean }) => {
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
        const cfg = loadConfig(program.opts<{ config?: string }>().config);
        const engine = await createFaceEngine(cfg, silentLogger()).catch(visionCliError);
        try {
          const { gallery, failed } = await enrolIdentities(engine, ids.identities.filter((i) => i.images.length >= minImages).map((i) => ({ ...i, images: i.images.slice(0, maxImages) })));
          try {
            const r = await evalVideo({ config: cfg, engine, log: silentLogger(), video: opts.video, gallery, failedImages: failed }).catch((err: unknown) => {
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
