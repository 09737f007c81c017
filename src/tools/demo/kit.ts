// Demo material built from the MIT-licensed demo photos of @vladmandic/face-api (an npm package,
// never ../shared): a reference face cropped from one photo, an H.264 video of the photos
// (scripts/make-demo-video.sh), keys and a signed, encrypted watchlist bundle of one person.
// Used by `lfr demo`, the end-to-end tests and `lfr bench live`'s smoke mode.
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, statfsSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import sharp from '../../vision/sharp.js';
import type { Config } from '../../config/schema.js';
import { INSTALL_ROOT } from '../../paths.js';
import { decodeImageFile } from '../../vision/decode.js';
import { cropRect } from '../../vision/jpeg.js';
import type { FaceEngine } from '../../vision/types.js';
import { generateKeyFiles, readPublicKey, readSigningSecretKey } from '../../crypto/keys.js';
import { buildBundle } from '../../watchlist/builder.js';

export { DEMO_PHOTO_DIR, demoPhoto } from './photos.js';

/**
 * JPEG of one face of a demo photo: the best face passing the given gate, cropped with a wide
 * margin so the bundle's "one main face" rule sees it alone.
 */
export async function cropReferenceFace(engine: FaceEngine, photo: string, gates: Config['quality']['enrolment']): Promise<Buffer> {
  const img = await decodeImageFile(photo);
  const dets = await engine.detect(img);
  const ok = dets.map((d) => engine.analyse(img, d, { ...gates, minSharpness: 0 })).filter((f) => f.quality.ok);
  const best = ok.sort((a, b) => b.quality.interEyePx - a.quality.interEyePx)[0];
  if (!best) throw new Error(`no usable face in ${path.basename(photo)}`);
  const r = cropRect(img, best.detection.box, 0.35);
  return sharp(img.data, { raw: { width: img.width, height: img.height, channels: 3 } }).extract(r).resize({ width: 400 }).jpeg({ quality: 92 }).toBuffer();
}

/** Run scripts/make-demo-video.sh OUT SEGMENT... (PHOTO:SECONDS | black:SECONDS). */
export function makeDemoVideo(out: string, segments: string[], size = '1280x720'): Promise<void> {
  return new Promise((resolve, reject) => {
    const p = spawn('bash', [path.join(INSTALL_ROOT, 'scripts', 'make-demo-video.sh'), out, '--size', size, ...segments], { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    p.stderr.on('data', (d: Buffer) => (err += d.toString()));
    p.on('error', reject);
    p.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`make-demo-video failed (${code}): ${err.trim().slice(-400)}`))));
  });
}

export interface DemoWatchlist {
  bundle: string;
  vanKeyFile: string;
  signingPubFile: string;
}

/** Keys (force signing key, van key) and a bundle holding one subject with `reference`. */
export async function buildDemoBundle(dir: string, reference: Buffer, subjectRef = 'DEMO-1'): Promise<DemoWatchlist> {
  const keys = path.join(dir, 'keys');
  generateKeyFiles('signing', keys, 'force');
  generateKeyFiles('van', keys, 'van');
  const src = path.join(dir, 'bundle-src');
  mkdirSync(src, { recursive: true });
  writeFileSync(path.join(src, 'ref.jpg'), reference);
  writeFileSync(path.join(src, 'watchlist.csv'), `subject_ref,category,reason,images\n${subjectRef},wanted,demo subject,ref.jpg\n`);
  const bundle = path.join(dir, 'demo.lfrwl');
  await buildBundle({
    csvFile: path.join(src, 'watchlist.csv'),
    imagesDir: src,
    signer: readSigningSecretKey(path.join(keys, 'force.key')),
    vanPublicKey: readPublicKey(path.join(keys, 'van.pub'), 'van').publicKey,
    outFile: bundle,
    limits: { maxBundleBytes: 1e8, maxImageBytes: 1e7, maxSubjects: 10 },
    now: new Date(),
  });
  return { bundle, vanKeyFile: path.join(keys, 'van.key'), signingPubFile: path.join(keys, 'force.pub') };
}

/**
 * A rig van's runtime folder (watchlist store, alert keys, uploads; `lfr demo`, `lfr bench
 * tablet`): on a tmpfs like /run/lfr on a van, so the daemon's storage check passes and a purge
 * leaves nothing on a disk. /dev/shm is a tmpfs on every Linux we run on; where it is not, the
 * folder goes under the rig's temp folder `dir` and the deployment starts degraded (the caller
 * says so).
 */
export function runtimeDirFor(dir: string, prefix: string): { runDir: string; onTmpfs: boolean } {
  try {
    if (Number(statfsSync('/dev/shm').type) === 0x01021994) return { runDir: mkdtempSync(path.join('/dev/shm', prefix)), onTmpfs: true };
  } catch {
    // no /dev/shm: fall through
  }
  return { runDir: path.join(dir, 'run'), onTmpfs: false };
}
