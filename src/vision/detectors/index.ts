// Explicit registry: manifest `decoder.name` of a detector -> adapter factory (no discovery by
// scanning, GUIDE "things to avoid"). To add a detector: write src/vision/detectors/NAME.ts
// exporting a DetectorFactory, add one import and one line here, and an entry in
// models/manifest.json whose decoder.name is the key.
import type { DetectorFactory } from './factory.js';
import { createBlazeFaceDetector } from './blazeface.js';
import { createRfbDetector } from './rfb.js';
import { createScrfdDetector } from './scrfd.js';
import { createYunetDetector } from './yunet.js';

export const DETECTOR_FACTORIES: Readonly<Record<string, DetectorFactory>> = {
  'ultraface-ssd': createRfbDetector,
  blazeface: createBlazeFaceDetector,
  yunet: createYunetDetector,
  scrfd: createScrfdDetector,
};

export type { DetectorFactory, ModelContext } from './factory.js';
