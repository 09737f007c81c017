// `lfr models quantize` behind the CLI: quantise one manifest model (detector or embedder) with
// calibration inputs made from face photos, and write `<stem>.int8.onnx` next to the float file.
// The manifest entry to add is returned, not written: models/manifest.json is reviewed by hand
// (a hash in it is a statement that those bytes were checked).
import { createHash } from 'node:crypto';
import { writeFile, rename } from 'node:fs/promises';
import path from 'node:path';
import type { Config } from '../../config/schema.js';
import type { Logger } from '../../log.js';
import { readVerifiedModel, type Manifest, type ModelEntry } from '../../vision/manifest.js';
import type { CalibrationFeed } from './calibrate.js';
import { alignedFaces, detectorFeeds, embedderFeeds } from './calib-data.js';
import { quantizeModel, type QuantizeOptions, type QuantizeResult } from './quantize.js';

export const int8FileName = (floatFile: string): string => floatFile.replace(/\.onnx$/i, '') + '.int8.onnx';
export const int8Id = (floatId: string): string => `${floatId}-int8`;

/** Tensor names the application reads, from the manifest decoder params (keys ending "output"). */
export function applicationOutputs(entry: ModelEntry): string[] | undefined {
  const names = Object.entries(entry.decoder.params)
    .filter(([k, v]) => /output$/i.test(k) && typeof v === 'string')
    .map(([, v]) => v as string);
  return names.length > 0 ? names : undefined;
}

export async function calibrationFeeds(entry: ModelEntry, images: readonly string[], config: Config, log: Logger): Promise<CalibrationFeed[]> {
  const feeds: CalibrationFeed[] = [];
  if (entry.role === 'detector') {
    for await (const f of detectorFeeds(images, entry.input)) feeds.push(f);
  } else if (entry.role === 'embedder') {
    // Faces are found and aligned by the float models whatever the config selects, so calibration
    // (and the written bytes) never depend on an earlier int8 file, which may be absent.
    const float = (id: string) => id.replace(/-int8$/, '');
    const cfg: Config = { ...config, vision: { ...config.vision, detector: float(config.vision.detector), embedder: entry.id } };
    const faces = await alignedFaces(images, cfg, log);
    feeds.push(...embedderFeeds(faces, entry.input));
    for (const f of faces) f.data.fill(0);
  } else {
    throw new Error(`model ${entry.id} is a ${entry.role}; only detectors and embedders are quantised`);
  }
  if (feeds.length === 0) throw new Error(`no calibration input for ${entry.id}: no faces found in ${images.length} image(s)`);
  return feeds;
}

export interface QuantizedModel {
  entry: ModelEntry;
  file: string;
  result: QuantizeResult;
}

export async function quantizeEntry(
  modelsDir: string,
  manifest: Manifest,
  entry: ModelEntry,
  images: readonly string[],
  config: Config,
  opts: QuantizeOptions,
  log: Logger,
): Promise<QuantizedModel> {
  const floatBytes = await readVerifiedModel(modelsDir, entry);
  const feeds = await calibrationFeeds(entry, images, config, log);
  const result = await quantizeModel(floatBytes, feeds, { ...opts, outputs: opts.outputs ?? applicationOutputs(entry) });
  const fileName = int8FileName(entry.file);
  const file = path.join(modelsDir, fileName);
  // Write then rename, so a crash never leaves a half-written model under the final name.
  await writeFile(`${file}.tmp`, result.bytes, { mode: 0o644 });
  await rename(`${file}.tmp`, file);
  const sha256 = createHash('sha256').update(result.bytes).digest('hex');
  const id = int8Id(entry.id);
  const existing = manifest.models.find((m) => m.id === id);
  const newEntry: ModelEntry = {
    ...entry,
    id,
    file: fileName,
    source: { file: fileName },
    sha256,
    notes: `Static int8 QDQ of ${entry.id} (u8 activations per tensor, s8 weights per channel${opts.reduceRange ? ' in 7 bits (no int16 saturation on x86 without VNNI)' : ' in 8 bits (VNNI/ARM64 only)'}, opset 13), made by "lfr models quantize --model ${entry.id}" calibrated on ${feeds.length} input(s) from ${images.length} image(s).${existing && existing.sha256 !== sha256 ? ' NOTE: differs from the manifest hash.' : ''}`,
  };
  return { entry: newEntry, file, result };
}
