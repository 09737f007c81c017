// Real faces for van tests, from the MIT demo photos of @vladmandic/face-api (never ../shared):
// reference crops (what a station would enrol) and short H.264 videos for the RTSP cameras. Made
// once per test process and cached: the models take a few seconds to load.
import path from 'node:path';
import os from 'node:os';
import { mkdtempSync } from 'node:fs';
import { parseConfig } from '../../src/config/load.js';
import { silentLogger } from '../../src/log.js';
import { createFaceEngine } from '../../src/vision/engine.js';
import { cropReferenceFace, demoPhoto, makeDemoVideo } from '../../src/tools/demo/kit.js';

const refs = new Map<number, Promise<Buffer>>();

/** A reference JPEG of the best face of demo photo n (1..6), passing the enrolment gate. */
export function referenceFace(n: number): Promise<Buffer> {
  let p = refs.get(n);
  if (!p) {
    p = (async () => {
      const cfg = parseConfig({});
      const engine = await createFaceEngine(cfg, silentLogger());
      try {
        return await cropReferenceFace(engine, demoPhoto(n), cfg.quality.enrolment);
      } finally {
        await engine.close();
      }
    })();
    refs.set(n, p);
  }
  return p;
}

let videoDir: string | null = null;

/** An H.264 video of segments "PHOTO_N:SECONDS" or "black:SECONDS" (scripts/make-demo-video.sh). */
export async function demoVideo(name: string, segments: Array<[number | 'black', number]>, size = '1280x720'): Promise<string> {
  videoDir ??= mkdtempSync(path.join(os.tmpdir(), 'lfr-videos-'));
  const out = path.join(videoDir, `${name}.mp4`);
  await makeDemoVideo(out, segments.map(([p, s]) => `${p === 'black' ? 'black' : demoPhoto(p)}:${s}`), size);
  return out;
}

export { demoPhoto };
