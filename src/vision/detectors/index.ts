// Explicit registry: manifest `decoder.name` of a detector -> adapter factory (no discovery by
// scanning, GUIDE "things to avoid"). To add a detector: write src/vision/detectors/NAME.ts
// exporting a DetectorFactory, add one import and one line here, and an entry in
// models/manifest.json whose decoder.name is the key.
import type { DetectorFactory } from './factory.js';
import { createRfbDetector } from './rfb.js';

export const DETECTOR_FACTORIES: Readonly<Record<string, DetectorFactory>> = {
  'ultraface-ssd': createRfbDetector,
};

export type { DetectorFactory, ModelContext } from './factory.js';
