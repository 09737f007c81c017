// The frame-level face pipeline the live matcher talks to: detect, align and gate every face of
// a frame, then embed the faces the matcher picks. Two implementations: the inference worker
// pool (src/vision/pool/, the daemon's), and localFrameAnalysis below, which runs a FaceEngine on
// the calling thread (tools, evaluation, unit tests). Either way every buffer of the frame is
// held by the frame's lease and wiped at its one release point.
import { wipe } from '../crypto/secure.js';
import type { Frame } from '../ingest/frame.js';
import type { FrameEngine, FrameFace } from './engine.js';
import type { FaceEngine, QualityGateSettings, RgbImage } from './types.js';

export type { FrameFace };

export interface AnalysedFrame {
  /** Every face of the frame: box, landmarks, quality (numbers only). */
  faces: FrameFace[];
  /** Embed faces (indexes into `faces`) into `dest`, owned buffers of the frame's lease. */
  embed(indices: readonly number[], dest: readonly Float32Array[]): Promise<void>;
}

export interface FrameAnalysis {
  readonly embeddingSize: number;
  analyseFrame(frame: Frame, gates: QualityGateSettings): Promise<AnalysedFrame>;
}

const isFrameEngine = (e: FaceEngine): e is FaceEngine & FrameEngine => typeof (e as Partial<FrameEngine>).analyseFrame === 'function';

/** Run a FaceEngine on this thread, buffers from the frame's lease. */
export function localFrameAnalysis(engine: FaceEngine): FrameAnalysis {
  return {
    embeddingSize: engine.embeddingSize,
    async analyseFrame(frame, gates) {
      const lease = frame.lease;
      if (isFrameEngine(engine)) {
        const { faces, aligned } = await engine.analyseFrame(frame.image, gates, lease);
        return { faces, embed: (idx, dest) => engine.embedInto(idx.map((i) => aligned[i]!), dest, lease) };
      }
      // A plain FaceEngine (a scripted one in tests): its crops and vectors are wiped by the lease.
      const dets = await engine.detect(frame.image);
      const analysed = dets.map((d) => engine.analyse(frame.image, d, gates));
      lease.onRelease(() => analysed.forEach((a) => wipe(a.aligned.data)));
      return {
        faces: analysed.map((a) => ({ detection: a.detection, quality: a.quality })),
        async embed(idx, dest) {
          for (let k = 0; k < idx.length; k++) {
            const v = await engine.embed(analysed[idx[k]!]!.aligned as RgbImage);
            dest[k]!.set(v);
            wipe(v);
          }
        },
      };
    },
  };
}
