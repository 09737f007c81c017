// `lfr faces IMAGE [--json] [--gate enrolment|live]`: find the faces in a still and say, for each,
// whether it passes the quality gate and why not. Exit 0 when at least one face is found
// (whatever its quality: the report is the result); exit 3 (bad input) for a missing file, a
// non-image, a truncated image, or an image with no face at all, so scripts can tell "nothing
// usable here" from a success.
import type { Command } from 'commander';
import { loadConfig } from '../config/load.js';
import { silentLogger } from '../log.js';
import { ImageError } from '../vision/decode.js';
import { createFaceEngine } from '../vision/engine.js';
import { ModelError } from '../vision/manifest.js';
import { analyseStill, faceSummary } from '../vision/still.js';
import { action, CliError, emit, EXIT } from './output.js';

/** Map vision errors to CLI errors with plain messages (no stack traces). */
export function visionCliError(err: unknown): never {
  if (err instanceof ImageError) throw new CliError(err.message, EXIT.badInput);
  if (err instanceof ModelError) throw new CliError(err.message, EXIT.notReady);
  throw err;
}

export function register(program: Command): void {
  program
    .command('faces')
    .argument('<image>', 'image file (JPEG, PNG, WebP, ...)')
    .option('--json', 'machine-readable output')
    .option('--gate <gate>', 'quality gate: enrolment or live', 'enrolment')
    .description('find faces in a still image: boxes, landmarks, quality and reasons for rejection')
    .action(
      action(async (image: string, opts: { json?: boolean; gate: string }) => {
        if (opts.gate !== 'enrolment' && opts.gate !== 'live') throw new CliError(`--gate must be "enrolment" or "live", not "${opts.gate}"`, EXIT.usage);
        const cfg = loadConfig(program.opts<{ config?: string }>().config);
        const engine = await createFaceEngine(cfg, silentLogger()).catch(visionCliError);
        try {
          const res = await analyseStill(engine, image, cfg.quality[opts.gate]).catch(visionCliError);
          const faces = res.faces.map(faceSummary);
          const usable = res.faces.filter((f) => f.quality.ok).length;
          emit(
            opts,
            () => {
              const lines = [`${image}: ${res.image.width}x${res.image.height}, ${faces.length} face(s), ${usable} pass the ${opts.gate} gate`];
              res.faces.forEach((f, i) => {
                const b = f.detection.box;
                const q = f.quality;
                lines.push(
                  `  face ${i + 1}: box ${Math.round(b.x)},${Math.round(b.y)} ${Math.round(b.width)}x${Math.round(b.height)} score ${f.detection.score.toFixed(3)}` +
                    ` eyes ${q.interEyePx.toFixed(0)} px, sharpness ${q.sharpness.toFixed(0)}, yaw ${q.yawDeg.toFixed(0)} pitch ${q.pitchDeg.toFixed(0)} roll ${q.rollDeg.toFixed(0)}: ` +
                    (q.ok ? 'OK' : 'REJECTED'),
                );
                for (const r of q.reasons) lines.push(`    - ${r.message}`);
              });
              if (faces.length === 0) lines.push('  no face found');
              return lines.join('\n');
            },
            () => ({ file: image, width: res.image.width, height: res.image.height, gate: opts.gate, models: engine.models, faces, usable }),
          );
          if (faces.length === 0) process.stderr.write(`lfr: no face found in ${image}\n`);
          return faces.length === 0 ? EXIT.badInput : EXIT.ok;
        } finally {
          await engine.close();
        }
      }),
    );
}
