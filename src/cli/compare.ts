// `lfr compare A B [--json]`: cosine similarity of the faces in two photos and the decision at
// config match.threshold. Each image must hold exactly one face that passes the enrolment gate;
// otherwise a plain message and exit 3. The tool assists a human: it prints a score, not a name.
import type { Command } from 'commander';
import { loadConfig } from '../config/load.js';
import { silentLogger } from '../log.js';
import { cosine } from '../vision/embedder.js';
import { createFaceEngine } from '../vision/engine.js';
import { analyseStill, faceSummary } from '../vision/still.js';
import type { AnalysedFace } from '../vision/types.js';
import { visionCliError } from './faces.js';
import { action, CliError, emit, EXIT } from './output.js';

function theOneFace(file: string, faces: AnalysedFace[], gate: string): AnalysedFace {
  if (faces.length === 0) throw new CliError(`no face found in ${file}`, EXIT.badInput);
  const usable = faces.filter((f) => f.quality.ok);
  if (faces.length > 1) {
    throw new CliError(`${file} shows ${faces.length} faces (${usable.length} usable); compare needs exactly one face per image, crop the photo first`, EXIT.badInput);
  }
  const face = faces[0]!;
  if (!face.quality.ok) {
    throw new CliError(`the face in ${file} fails the ${gate} quality gate`, EXIT.badInput, face.quality.reasons.map((r) => r.message));
  }
  return face;
}

export function register(program: Command): void {
  program
    .command('compare')
    .argument('<a>', 'first image')
    .argument('<b>', 'second image')
    .option('--json', 'machine-readable output')
    .option('--gate <gate>', 'quality gate each face must pass: enrolment or live', 'enrolment')
    .description('similarity of the single face in each of two images, and the decision at match.threshold')
    .action(
      action(async (a: string, b: string, opts: { json?: boolean; gate: string }) => {
        if (opts.gate !== 'enrolment' && opts.gate !== 'live') throw new CliError(`--gate must be "enrolment" or "live", not "${opts.gate}"`, EXIT.usage);
        const cfg = loadConfig(program.opts<{ config?: string }>().config);
        const gates = cfg.quality[opts.gate];
        const engine = await createFaceEngine(cfg, silentLogger()).catch(visionCliError);
        try {
          const ra = await analyseStill(engine, a, gates).catch(visionCliError);
          const rb = await analyseStill(engine, b, gates).catch(visionCliError);
          const fa = theOneFace(a, ra.faces, opts.gate);
          const fb = theOneFace(b, rb.faces, opts.gate);
          const ea = await engine.embed(fa.aligned);
          const eb = await engine.embed(fb.aligned);
          const similarity = cosine(ea, eb);
          ea.fill(0);
          eb.fill(0);
          const threshold = cfg.match.threshold;
          const match = similarity >= threshold;
          emit(
            opts,
            () =>
              `similarity ${similarity.toFixed(4)} (threshold ${threshold}): ${match ? 'POSSIBLE MATCH (a person must review)' : 'no match'}`,
            () => ({ a, b, similarity, threshold, match, models: engine.models, faces: { a: faceSummary(fa), b: faceSummary(fb) } }),
          );
          return EXIT.ok;
        } finally {
          await engine.close();
        }
      }),
    );
}
