// Per-face cost of the still pipeline (detect incl. landmarks, align + quality, embed), for
// `lfr bench`. Build the engine with vision.intraOpThreads = 1 to measure one thread, which is
// how the live pipeline runs several cameras side by side. Medians, not means: the first runs
// warm caches and a shared box has noisy neighbours.
import type { FaceDetection, FaceEngine, QualityGateSettings, RgbImage } from '../../vision/types.js';
import type { FaceEngineWithInfo } from '../../vision/engine.js';
import { BufferPools } from '../../buffers/pools.js';
import { ort } from '../../vision/session.js';

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

export interface BatchingBench {
  facesPerPass: number;
  /** Landmarks: every face of a photo as one batch vs one run per face (median ms per face). */
  landmarksBatchedMsPerFace: number;
  landmarksSeparateMsPerFace: number;
  /** Embedding with mirrorAugment: face + mirror as one batch of two vs two runs (ms per face). */
  mirrorBatchedMsPerFace: number;
  mirrorSeparateMsPerFace: number;
  /**
   * Detection batched across cameras: N same-size frames in one detector run vs N runs, ms per
   * frame, at the live input size. `maxAbsDiff`: largest difference of a score, batch vs single.
   */
  detector: { inputWidth: number; inputHeight: number; batch: number; batchedMsPerFrame: number; separateMsPerFrame: number; maxAbsDiff: number } | null;
}

/**
 * The fewer-bigger-runs figures (issue 13 item 2), each pair alternated pass by pass in one
 * process so a shared box's noise hits both alike. Uses the engine's own model runners.
 */
export async function benchBatching(engine: FaceEngineWithInfo, images: RgbImage[], iterations: number, detector?: { session: ort.InferenceSession; inputName: string; width: number; height: number; batch: number }): Promise<BatchingBench> {
  const g: QualityGateSettings = { minInterEyePx: 0, minSharpness: 0, maxYawDeg: 90, maxPitchDeg: 90, minDetectorScore: 0 };
  const work: Array<{ img: RgbImage; boxes: FaceDetection['box'][]; aligned: RgbImage[] }> = [];
  for (const img of images) {
    const dets = await engine.detect(img);
    work.push({ img, boxes: dets.map((d) => d.box), aligned: dets.map((d) => engine.analyse(img, d, g).aligned) });
  }
  const faces = work.reduce((n, w) => n + w.boxes.length, 0);
  const lmB: number[] = [], lmS: number[] = [], emB: number[] = [], emS: number[] = [];
  const lm = engine.parts.landmarker;
  const emb = engine.parts.embedder;
  const dest = new Float32Array(emb.size);
  const lease = new BufferPools('bench').lease();
  try {
    for (let it = -1; it < iterations; it++) {
      const t = { lmB: 0, lmS: 0, emB: 0, emS: 0 };
      // Alternate which variant goes first, so neither always runs on a warmer cache.
      const order = it % 2 === 0 ? [true, false] : [false, true];
      for (const batched of order) {
        for (const w of work) {
          if (lm && w.boxes.length > 0) {
            const t0 = performance.now();
            if (batched) await lm.locateAll(w.img, w.boxes, lease);
            else for (const b of w.boxes) await lm.locate(w.img, b);
            if (batched) t.lmB += performance.now() - t0;
            else t.lmS += performance.now() - t0;
          }
          for (const a of w.aligned) {
            const t0 = performance.now();
            await emb.embedInto([a], [dest], lease, batched ? 2 : 1);
            if (batched) t.emB += performance.now() - t0;
            else t.emS += performance.now() - t0;
          }
        }
      }
      if (it >= 0 && faces > 0) {
        lmB.push(t.lmB / faces);
        lmS.push(t.lmS / faces);
        emB.push(t.emB / faces);
        emS.push(t.emS / faces);
      }
    }
  } finally {
    lease.release();
    dest.fill(0);
    for (const w of work) for (const a of w.aligned) a.data.fill(0);
  }
  return {
    facesPerPass: faces,
    landmarksBatchedMsPerFace: median(lmB),
    landmarksSeparateMsPerFace: median(lmS),
    mirrorBatchedMsPerFace: median(emB),
    mirrorSeparateMsPerFace: median(emS),
    detector: detector ? await benchDetectorBatch(detector, iterations) : null,
  };
}

/** The detector network alone on random frames: one run of `batch` frames vs `batch` runs. */
async function benchDetectorBatch(d: { session: ort.InferenceSession; inputName: string; width: number; height: number; batch: number }, iterations: number): Promise<NonNullable<BatchingBench['detector']>> {
  const per = 3 * d.width * d.height;
  const data = new Float32Array(per * d.batch);
  for (let i = 0; i < data.length; i++) data[i] = Math.sin(i * 0.37) * 0.8;
  const run = (n: number, off: number) => d.session.run({ [d.inputName]: new ort.Tensor('float32', data.subarray(off * per, (off + n) * per), [n, 3, d.height, d.width]) });
  const b: number[] = [], s: number[] = [];
  let maxAbsDiff = 0;
  for (let it = -1; it < iterations; it++) {
    const t0 = performance.now();
    const all = await run(d.batch, 0);
    const t1 = performance.now();
    const singles = [];
    for (let k = 0; k < d.batch; k++) singles.push(await run(1, k));
    const t2 = performance.now();
    if (it < 0) {
      const name = d.session.outputNames[0]!;
      const bb = all[name]!.data as Float32Array;
      singles.forEach((r, k) => {
        const v = r[name]!.data as Float32Array;
        for (let i = 0; i < v.length; i++) maxAbsDiff = Math.max(maxAbsDiff, Math.abs(v[i]! - bb[k * v.length + i]!));
      });
      continue;
    }
    b.push((t1 - t0) / d.batch);
    s.push((t2 - t1) / d.batch);
  }
  return { inputWidth: d.width, inputHeight: d.height, batch: d.batch, batchedMsPerFrame: median(b), separateMsPerFrame: median(s), maxAbsDiff };
}
