// Per-face cost of the still pipeline (detect incl. landmarks, align + quality, embed), for
// `lfr bench`. Build the engine with vision.intraOpThreads = 1 to measure one thread, which is
// how the live pipeline runs several cameras side by side. Medians, not means: the first runs
// warm caches and a shared box has noisy neighbours.
import type { FaceEngine, QualityGateSettings, RgbImage } from '../../vision/types.js';

export interface PerFaceBench {
  images: number;
  iterations: number;
  /** Faces found per pass over all images. */
  faces: number;
  /** Median ms of engine.detect() per image (detector + landmark model for each face). */
  detectMsPerImage: number;
  /** Median ms of engine.analyse() per face (alignment warp + quality). */
  analyseMsPerFace: number;
  /** Median ms of engine.embed() per face (includes the mirror pass when mirrorAugment is on). */
  embedMsPerFace: number;
  /** detect time shared over the faces of a pass + analyse + embed: the cost of one face. */
  perFaceMs: number;
  /**
   * Process CPU time (all threads, including ONNX Runtime's) over the timed passes per face. Less
   * sensitive than wall time to other processes on a shared machine.
   */
  cpuMsPerFace: number;
}

const median = (v: number[]): number => {
  if (v.length === 0) return 0;
  const s = [...v].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

/** One warm-up pass, then `iterations` timed passes over `images`. */
export async function benchPerFace(engine: FaceEngine, images: RgbImage[], iterations: number, gates?: QualityGateSettings): Promise<PerFaceBench> {
  const g: QualityGateSettings = gates ?? { minInterEyePx: 0, minSharpness: 0, maxYawDeg: 90, maxPitchDeg: 90, minDetectorScore: 0 };
  const detectMs: number[] = [];
  const analyseMs: number[] = [];
  const embedMs: number[] = [];
  const passDetect: number[] = [];
  let faces = 0;
  let cpuStart = process.cpuUsage();
  let timedFaces = 0;
  for (let it = -1; it < iterations; it++) {
    const timed = it >= 0;
    if (it === 0) cpuStart = process.cpuUsage();
    let passMs = 0;
    let passFaces = 0;
    for (const img of images) {
      const t0 = performance.now();
      const dets = await engine.detect(img);
      const t1 = performance.now();
      if (timed) detectMs.push(t1 - t0);
      passMs += t1 - t0;
      passFaces += dets.length;
      for (const d of dets) {
        const t2 = performance.now();
        const a = engine.analyse(img, d, g);
        const t3 = performance.now();
        const e = await engine.embed(a.aligned);
        const t4 = performance.now();
        e.fill(0);
        if (timed) {
          analyseMs.push(t3 - t2);
          embedMs.push(t4 - t3);
        }
      }
    }
    if (timed) {
      passDetect.push(passFaces > 0 ? passMs / passFaces : 0);
      timedFaces += passFaces;
    }
    faces = passFaces;
  }
  const cpu = process.cpuUsage(cpuStart);
  const analyseMsPerFace = median(analyseMs);
  const embedMsPerFace = median(embedMs);
  return {
    images: images.length,
    iterations,
    faces,
    detectMsPerImage: median(detectMs),
    analyseMsPerFace,
    embedMsPerFace,
    perFaceMs: median(passDetect) + analyseMsPerFace + embedMsPerFace,
    cpuMsPerFace: timedFaces > 0 ? (cpu.user + cpu.system) / 1000 / timedFaces : 0,
  };
}
