// `lfr models list|verify|quantize`: what models/manifest.json lists, whether each file is present
// with the right SHA-256, and int8 QDQ quantisation of a detector or embedder (no Python).
import type { Command } from 'commander';
import { loadConfig } from '../config/load.js';
import { silentLogger } from '../log.js';
import { DEFAULT_CALIBRATION } from '../tools/quant/calibrate.js';
import { DEMO_PHOTO_DIR, DEMO_PHOTOS, listImages } from '../tools/quant/calib-data.js';
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { DEFAULT_QUANTIZE } from '../tools/quant/quantize.js';
import { compareEngines } from '../tools/quant/gate.js';
import { quantizeEntry } from '../tools/quant/service.js';
import { modelsDirOf } from '../vision/engine.js';
import { loadManifest, ModelError, readVerifiedModel } from '../vision/manifest.js';
import { action, CliError, emit, EXIT } from './output.js';
import { readCalibration } from '../match/fpir.js';
import { registerConvertTfjs } from './models-convert.js';

const asCliError = (err: unknown): never => {
  if (err instanceof ModelError) throw new CliError(err.message, EXIT.badInput);
  throw err;
};

export function register(program: Command): void {
  const models = program.command('models').description('list, verify and quantise the ONNX models of models/manifest.json');
  const setup = async () => {
    const cfg = loadConfig(program.opts<{ config?: string }>().config);
    const dir = modelsDirOf(cfg);
    const manifest = await loadManifest(dir).catch(asCliError);
    return { cfg, dir, manifest };
  };

  registerConvertTfjs(models);
  models
    .command('list')
    .option('--json', 'machine-readable output')
    .description('models in the manifest, and which ones the config selects')
    .action(
      action(async (opts: { json?: boolean }) => {
        const { cfg, manifest } = await setup();
        const selected = new Set([cfg.vision.detector, cfg.vision.landmarker, cfg.vision.embedder]);
        const rows = manifest.models.map((m) => ({ id: m.id, role: m.role, file: m.file, selected: selected.has(m.id) }));
        emit(opts, () => rows.map((r) => `${r.selected ? '*' : ' '} ${r.id.padEnd(28)} ${r.role.padEnd(11)} ${r.file}`).join('\n'), () => ({ models: rows }));
      }),
    );

  models
    .command('verify')
    .option('--json', 'machine-readable output')
    .description('check every model file against its SHA-256 (exit 3 if any is missing or differs)')
    .action(
      action(async (opts: { json?: boolean }) => {
        const { dir, manifest } = await setup();
        const results: { id: string; ok: boolean; problem?: string }[] = [];
        for (const m of manifest.models) {
          try {
            await readVerifiedModel(dir, m);
            // The impostor calibration must belong to these bytes (threshold-from-FPIR).
            if (m.calibration) await readCalibration(dir, m);
            results.push({ id: m.id, ok: true });
          } catch (err) {
            results.push({ id: m.id, ok: false, problem: (err as Error).message });
          }
        }
        const bad = results.filter((r) => !r.ok);
        emit(opts, () => results.map((r) => `${r.ok ? 'ok  ' : 'FAIL'} ${r.id}${r.problem ? `: ${r.problem}` : ''}`).join('\n'), () => ({ ok: bad.length === 0, models: results }));
        return bad.length === 0 ? EXIT.ok : EXIT.badInput;
      }),
    );

  models
    .command('quantize')
    .requiredOption('--model <id...>', 'manifest id(s) of the float detector/embedder to quantise')
    .option('--calib <dir...>', 'folders of face photos for calibration (default: the face-api demo photos)')
    .option('--method <m>', 'activation range: percentile or minmax', DEFAULT_CALIBRATION.method)
    .option('--percentile <p>', 'upper percentile for --method percentile', String(DEFAULT_CALIBRATION.percentile))
    .option('--full-range', '8-bit weights: only for vans whose CPU has VNNI or ARM64 dot products (AVX2 without VNNI saturates; docs/performance.md)')
    .option('--json', 'machine-readable output')
    .description('write <file>.int8.onnx next to each float model and print the manifest entry to add')
    .action(
      action(async (opts: { model: string[]; calib?: string[]; method: string; percentile: string; fullRange?: boolean; json?: boolean }) => {
        if (opts.method !== 'percentile' && opts.method !== 'minmax') throw new CliError(`--method must be percentile or minmax, not "${opts.method}"`, EXIT.usage);
        const p = Number(opts.percentile);
        if (!(p > 50 && p <= 100)) throw new CliError(`--percentile must be in (50, 100], not "${opts.percentile}"`, EXIT.usage);
        const { cfg, dir, manifest } = await setup();
        const images = await (opts.calib ? listImages(opts.calib) : listImages([DEMO_PHOTO_DIR], DEMO_PHOTOS)).catch((err: NodeJS.ErrnoException) => {
          throw new CliError(`cannot list calibration images: ${err.code ?? err.message}`, EXIT.badInput);
        });
        if (images.length === 0) throw new CliError('no calibration images (.jpg, .png, .webp) found', EXIT.badInput);
        const out: { id: string; file: string; sha256: string; stats: unknown; manifestEntry: unknown }[] = [];
        for (const id of opts.model) {
          const entry = manifest.models.find((m) => m.id === id);
          if (!entry) throw new CliError(`no model "${id}" in the manifest`, EXIT.badInput);
          if (entry.role !== 'detector' && entry.role !== 'embedder') throw new CliError(`model "${id}" is a ${entry.role}; only detectors and embedders are quantised`, EXIT.badInput);
          const q = await quantizeEntry(dir, manifest, entry, images, cfg, { ...DEFAULT_QUANTIZE, reduceRange: opts.fullRange !== true, calibration: { ...DEFAULT_CALIBRATION, method: opts.method, percentile: p } }, silentLogger()).catch(asCliError);
          out.push({ id: q.entry.id, file: q.file, sha256: q.entry.sha256, stats: q.result.stats, manifestEntry: q.entry });
        }
        emit(
          opts,
          () => out.map((o) => `wrote ${o.file}\n  sha256 ${o.sha256}\n  ${JSON.stringify(o.stats)}\n  manifest entry to add:\n${JSON.stringify(o.manifestEntry)}`).join('\n'),
          () => ({ models: out }),
        );
      }),
    );

  models
    .command('compare')
    .requiredOption('--images <dir>', 'evaluation photos: a folder of images, or of folders of images (LFW images/)')
    .option('--detector <id>', 'int8 (or other) detector to compare with the configured one')
    .option('--embedder <id>', 'int8 (or other) embedder to compare with the configured one')
    .option('--limit <n>', 'use only the first n images (sorted by path)', '500')
    .option('--json', 'machine-readable output')
    .description('accuracy gate: float vs int8 embedding cosine on the same aligned faces, and detector recall')
    .action(
      action(async (opts: { images: string; detector?: string; embedder?: string; limit: string; json?: boolean }) => {
        const limit = Number(opts.limit);
        if (!Number.isInteger(limit) || limit < 1) throw new CliError(`--limit must be a positive integer, not "${opts.limit}"`, EXIT.usage);
        const { cfg } = await setup();
        const b = { ...cfg, vision: { ...cfg.vision, detector: opts.detector ?? cfg.vision.detector, embedder: opts.embedder ?? cfg.vision.embedder } };
        const top = await readdir(opts.images, { withFileTypes: true }).catch((err: NodeJS.ErrnoException) => {
          throw new CliError(`cannot read ${opts.images}: ${err.code ?? err.message}`, EXIT.badInput);
        });
        const dirs = top.some((d) => d.isDirectory()) ? top.filter((d) => d.isDirectory()).map((d) => path.join(opts.images, d.name)).sort() : [opts.images];
        const files = (await listImages(dirs)).slice(0, limit);
        if (files.length === 0) throw new CliError(`no images in ${opts.images}`, EXIT.badInput);
        const r = await compareEngines(files, cfg, b, silentLogger()).catch(asCliError);
        emit(
          opts,
          () =>
            `${r.images} images, ${r.faces} faces\nembedding cosine ${JSON.stringify(r.models.a.embedder)} vs ${JSON.stringify(r.models.b.embedder)}: mean ${r.meanCosine.toFixed(4)}, min ${r.minCosine.toFixed(4)}\n` +
            `detector recall (images with a face): ${r.models.a.detector} ${(r.recall.a * 100).toFixed(2)}%, ${r.models.b.detector} ${(r.recall.b * 100).toFixed(2)}%`,
          () => r,
        );
      }),
    );
}
