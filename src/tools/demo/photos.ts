// The MIT-licensed demo photos shipped inside @vladmandic/face-api (an npm package, never
// ../shared): 6 photos, about 3 faces each. The one place that knows where they are; the demo,
// the benches and the quantiser's default calibration set all read them from here.
import path from 'node:path';
import { INSTALL_ROOT } from '../../paths.js';

export const DEMO_PHOTO_DIR = path.join(INSTALL_ROOT, 'node_modules', '@vladmandic', 'face-api', 'demo');

/** The folder also holds UI screenshots; only the sample photos are faces. */
export const DEMO_PHOTOS = /^sample\d+\.jpg$/;

export const demoPhoto = (n: number): string => path.join(DEMO_PHOTO_DIR, `sample${n}.jpg`);
