// Calibration inputs from face images the project can obtain (the face-api demo photos shipped in
// node_modules, enrolment images). The detector sees whole photos resized to its input size; the
// embedder sees 112x112 faces aligned by the float vision engine, and their mirror images (the
// live pipeline embeds both with vision.mirrorAugment).
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import type { Config } from '../../config/schema.js';
import type { Logger } from '../../log.js';
import { INSTALL_ROOT } from '../../paths.js';
import { decodeImageFile } from '../../vision/decode.js';
import { createFaceEngine } from '../../vision/engine.js';
import type { ModelInput } from '../../vision/manifest.js';
import { fullRoi, toTensor } from '../../vision/preprocess.js';
import { ort } from '../../vision/session.js';
import type { RgbImage } from '../../vision/types.js';
import type { CalibrationFeed } from './calibrate.js';

/** The default calibration set: face photos every install has (MIT, @vladmandic/face-api). */
export { DEMO_PHOTO_DIR, DEMO_PHOTOS } from '../demo/photos.js';

const IMAGE_EXT = /\.(jpe?g|png|webp)$/i;

/** Image files of `dirs`, sorted by name so calibration (and the model bytes) are reproducible. */
export async function listImages(dirs: readonly string[], pattern: RegExp = IMAGE_EXT): Promise<string[]> {
  const files: string[] = [];
  for (const dir of dirs) {
    const names = await readdir(dir);
    files.push(...names.filter((n) => pattern.test(n)).sort().map((n) => path.join(dir, n)));
  }
  return files;
}

function feed(img: RgbImage, input: ModelInput, flipX = false): CalibrationFeed {
  const c = input.channelOrder === 'GREY' ? 1 : 3;
  const data = toTensor(img, fullRoi(img), input, { flipX });
  const dims = input.layout === 'NCHW' ? [1, c, input.height, input.width] : [1, input.height, input.width, c];
  return { [input.name]: new ort.Tensor('float32', data, dims) };
}

/** Whole photos at the detector's nominal input size. */
export async function* detectorFeeds(files: readonly string[], input: ModelInput): AsyncGenerator<CalibrationFeed> {
  for (const f of files) yield feed(await decodeImageFile(f), input);
}

/** Aligned faces (and mirrors) found in `files` by the float engine of `config`. */
export async function alignedFaces(files: readonly string[], config: Config, log: Logger): Promise<RgbImage[]> {
  const engine = await createFaceEngine(config, log);
  const faces: RgbImage[] = [];
  try {
    for (const f of files) {
      const img = await decodeImageFile(f);
      for (const det of await engine.detect(img)) {
        faces.push(engine.analyse(img, det, config.quality.enrolment).aligned);
      }
    }
  } finally {
    await engine.close();
  }
  return faces;
}

export function* embedderFeeds(faces: readonly RgbImage[], input: ModelInput): Generator<CalibrationFeed> {
  for (const face of faces) {
    yield feed(face, input);
    yield feed(face, input, true);
  }
}
