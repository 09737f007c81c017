// Image file -> embedding for the evaluation commands, with a per-run cache (an LFW image appears
// in many pairs) and failures counted by reason instead of aborting the run. No quality gate is
// applied: the protocol scores every image, and a gate would silently drop hard pairs.
import { decodeImageFile, ImageError } from '../../vision/decode.js';
import type { FaceDetection, FaceEngine, QualityGateSettings } from '../../vision/types.js';

/** A gate that passes everything: eval measures the models, not the gates. */
export const OPEN_GATE: QualityGateSettings = { minInterEyePx: 0, minSharpness: 0, maxYawDeg: 90, maxPitchDeg: 90, minDetectorScore: 0 };

export type FailureReason = 'unreadable' | 'no_face';

export type EmbedResult = { ok: true; embedding: Float32Array; faces: number } | { ok: false; reason: FailureReason; message: string };

/**
 * The subject of a dataset photo. LFW images are 250x250 crops centred on the labelled person,
 * often with bystanders at the edges, so: among detections whose box contains the image centre,
 * the largest; if none contains it, the one whose box centre is nearest the image centre.
 */
export function pickCentralFace(dets: readonly FaceDetection[], width: number, height: number): FaceDetection | undefined {
  const cx = width / 2;
  const cy = height / 2;
  let best: FaceDetection | undefined;
  let bestArea = -1;
  for (const d of dets) {
    const b = d.box;
    if (cx >= b.x && cx <= b.x + b.width && cy >= b.y && cy <= b.y + b.height && b.width * b.height > bestArea) {
      best = d;
      bestArea = b.width * b.height;
    }
  }
  if (best) return best;
  let bestDist = Infinity;
  for (const d of dets) {
    const dist = Math.hypot(d.box.x + d.box.width / 2 - cx, d.box.y + d.box.height / 2 - cy);
    if (dist < bestDist) {
      best = d;
      bestDist = dist;
    }
  }
  return best;
}

export interface EmbedStats {
  images: number;
  failures: Record<FailureReason, number>;
  /** Images in which more than one face was found (the central one was used). */
  multiFace: number;
  totalMs: number;
}

export class ImageEmbedder {
  private readonly cache = new Map<string, EmbedResult>();
  readonly stats: EmbedStats = { images: 0, failures: { unreadable: 0, no_face: 0 }, multiFace: 0, totalMs: 0 };

  constructor(
    private readonly engine: FaceEngine,
    private readonly now: () => number = () => performance.now(),
  ) {}

  async embed(file: string): Promise<EmbedResult> {
    const hit = this.cache.get(file);
    if (hit) return hit;
    const t0 = this.now();
    const res = await this.compute(file);
    this.stats.totalMs += this.now() - t0;
    this.stats.images++;
    if (!res.ok) this.stats.failures[res.reason]++;
    else if (res.faces > 1) this.stats.multiFace++;
    this.cache.set(file, res);
    return res;
  }

  private async compute(file: string): Promise<EmbedResult> {
    let img;
    try {
      img = await decodeImageFile(file);
    } catch (err) {
      if (err instanceof ImageError) return { ok: false, reason: 'unreadable', message: err.message };
      throw err;
    }
    const dets = await this.engine.detect(img);
    const face = pickCentralFace(dets, img.width, img.height);
    if (!face) return { ok: false, reason: 'no_face', message: `no face found in ${file}` };
    const { aligned } = this.engine.analyse(img, face, OPEN_GATE);
    return { ok: true, embedding: await this.engine.embed(aligned), faces: dets.length };
  }

  /** Mean wall time per processed image. */
  msPerImage(): number {
    return this.stats.images ? this.stats.totalMs / this.stats.images : 0;
  }

  /** Wipe every cached embedding (the run is over). */
  clear(): void {
    for (const r of this.cache.values()) if (r.ok) r.embedding.fill(0);
    this.cache.clear();
  }
}
