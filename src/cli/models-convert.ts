// `lfr models convert-tfjs --model model.json --out model.onnx [--check IMAGE ...]`: a TensorFlow.js
// graph model to ONNX (src/tools/tfjs2onnx), checked node by node against TensorFlow.js's own
// output on real face photos before the file is written. A conversion that differs beyond the
// tolerance is refused, naming the first op that differs. Registered under `lfr models` by one line.
import { rename, writeFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { decodeImageFile } from '../vision/decode.js';
import { areaCrop } from '../vision/resample.js';
import { fullRoi } from '../vision/preprocess.js';
import { encodeModel } from '../vision/onnx-graph.js';
import { checkConversion, CheckUnavailableError, DEFAULT_TOLERANCE } from '../tools/tfjs2onnx/check.js';
import { convertTfjsGraph, UnsupportedOpError } from '../tools/tfjs2onnx/convert.js';
import { readTfjsGraphModel, TfjsModelError } from '../tools/tfjs2onnx/tfjs-model.js';
import { DEMO_PHOTO_DIR, DEMO_PHOTOS, listImages } from '../tools/quant/calib-data.js';
import { action, CliError, emit, EXIT } from './output.js';

export function registerConvertTfjs(models: Command): void {
  models
    .command('convert-tfjs')
    .requiredOption('--model <model.json>', 'TensorFlow.js graph model (its weight files beside it)')
    .requiredOption('--out <file.onnx>', 'where to write the ONNX model')
    .option('--check <images...>', 'face photos to check the conversion on (default: the demo photos of @vladmandic/face-api)')
    .option('--input-scale <s>', 'pixel values fed to both runtimes in the check are 0..255 times this', '1')
    .option('--output <names...>', 'graph outputs (TF node names); default: the model\'s signature outputs')
    .option('--tolerance <t>', `largest relative difference allowed per node (default ${DEFAULT_TOLERANCE})`)
    .option('--json', 'machine-readable output: one JSON object as the last stdout line')
    .description('convert a TensorFlow.js graph model to ONNX, checked node by node against TensorFlow.js')
    .action(
      action(async (opts: { model: string; out: string; check?: string[]; inputScale: string; output?: string[]; tolerance?: string; json?: boolean }) => {
        const scale = Number(opts.inputScale);
        const tol = opts.tolerance === undefined ? DEFAULT_TOLERANCE : Number(opts.tolerance);
        if (!Number.isFinite(scale) || scale <= 0) throw new CliError(`--input-scale must be a positive number, not "${opts.inputScale}"`, EXIT.usage);
        if (!(tol > 0 && tol < 1)) throw new CliError(`--tolerance must be between 0 and 1, not "${opts.tolerance}"`, EXIT.usage);
        try {
          const m = await readTfjsGraphModel(opts.model);
          const conv = convertTfjsGraph(m, { outputs: opts.output });
          const shape = conv.inputs[0]?.shape ?? [];
          const [, h, w, c] = shape;
          if (conv.inputs.length !== 1 || typeof h !== 'number' || typeof w !== 'number' || c !== 3) throw new CliError(`the model's input must be one N x H x W x 3 image tensor, not ${JSON.stringify(conv.inputs)}`, EXIT.badInput);
          const images = opts.check ?? (await listImages([DEMO_PHOTO_DIR], DEMO_PHOTOS));
          const inputs: Float32Array[] = [];
          for (const f of images) {
            const img = await decodeImageFile(f);
            const small = areaCrop(img, fullRoi(img), w, h);
            inputs.push(Float32Array.from(small.data, (v) => v * scale));
          }
          const check = await checkConversion(m, inputs, { outputs: opts.output, tolerance: tol });
          if (check.firstFailure) {
            const f = check.firstFailure;
            throw new CliError(`conversion refused: op ${f.op} (node ${f.node}) differs from TensorFlow.js by ${f.relDiff.toExponential(2)} of its scale (tolerance ${tol}); nothing written`, EXIT.failure);
          }
          await writeFile(`${opts.out}.part`, encodeModel(conv.model));
          await rename(`${opts.out}.part`, opts.out);
          emit(
            opts,
            () =>
              [
                `${opts.model} -> ${opts.out}: input ${conv.inputs[0]!.name} ${JSON.stringify(shape)}, outputs ${conv.outputs.join(', ')}`,
                `  ops: ${Object.entries(conv.ops).map(([k, v]) => `${k} ${v}`).join(', ')}`,
                `  checked on ${check.inputs} photo(s), ${check.nodesCompared} nodes: largest difference ${check.worst ? `${check.worst.relDiff.toExponential(2)} (${check.worst.op} ${check.worst.node})` : 'none'}, outputs ${check.outputsWorst.toExponential(2)}; tolerance ${tol}`,
              ].join('\n'),
            () => ({ model: opts.model, out: opts.out, inputs: conv.inputs, outputs: conv.outputs, ops: conv.ops, check }),
          );
          return EXIT.ok;
        } catch (err) {
          if (err instanceof TfjsModelError) throw new CliError(err.message, EXIT.badInput);
          if (err instanceof UnsupportedOpError) throw new CliError(`conversion refused: ${err.message}`, EXIT.badInput);
          if (err instanceof CheckUnavailableError) throw new CliError(err.message, EXIT.notReady);
          throw err;
        }
      }),
    );
}
