// Face embedder (manifest decoder "embedding"): aligned 112x112 face -> L2-normalised vector.
// Normalisation, channel order and layout come from the manifest. With vision.mirrorAugment the
// embedding of the face and of its mirror image are averaged before normalising (a common,
// cheap accuracy gain; it doubles the embedder cost, measured by lfr eval / lfr bench).
import type { ModelContext } from './detectors/factory.js';
import { fullRoi, toTensor } from './preprocess.js';
import { ort } from './session.js';
import type { RgbImage } from './types.js';

/** In-place L2 normalisation; returns the input. A zero vector stays zero. */
export function l2normalize(v: Float32Array): Float32Array {
  let s = 0;
  for (let i = 0; i < v.length; i++) s += v[i]! * v[i]!;
  if (s > 0) {
    const inv = 1 / Math.sqrt(s);
    for (let i = 0; i < v.length; i++) v[i]! *= inv;
  }
  return v;
}

/** Cosine similarity of two L2-normalised vectors (their dot product). */
export function cosine(a: Float32Array, b: Float32Array): number {
  if (a.length !== b.length) throw new RangeError(`embedding sizes differ: ${a.length} vs ${b.length}`);
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]! * b[i]!;
  return s;
}

export interface Embedder {
  readonly id: string;
  readonly size: number;
  embed(aligned: RgbImage): Promise<Float32Array>;
  close(): Promise<void>;
}

export async function createEmbedder(ctx: ModelContext, mirror: boolean): Promise<Embedder> {
  const { entry } = ctx;
  if (entry.decoder.name !== 'embedding') throw new Error(`model ${entry.id}: unknown embedder decoder "${entry.decoder.name}"`);
  const params = entry.decoder.params;
  const output = typeof params.output === 'string' ? params.output : 'output';
  const size = typeof params.size === 'number' ? params.size : 512;
  const session = await ctx.openSession(ctx.bytes);
  const { width: W, height: H, layout } = entry.input;
  const C = entry.input.channelOrder === 'GREY' ? 1 : 3;
  const dims = layout === 'NCHW' ? [1, C, H, W] : [1, H, W, C];

  const run = async (aligned: RgbImage, flipX: boolean): Promise<Float32Array> => {
    const data = toTensor(aligned, fullRoi(aligned), entry.input, { flipX });
    const out = await session.run({ [entry.input.name]: new ort.Tensor('float32', data, dims) });
    const v = out[output]?.data as Float32Array | undefined;
    if (!v || v.length !== size) throw new Error(`embedder ${entry.id}: expected ${size} outputs, got ${v?.length ?? 0}`);
    return v;
  };

  return {
    id: entry.id,
    size,
    async embed(aligned) {
      const v = await run(aligned, false);
      if (mirror) {
        const m = await run(aligned, true);
        l2normalize(v);
        l2normalize(m);
        for (let i = 0; i < size; i++) v[i]! += m[i]!;
        m.fill(0);
      }
      return l2normalize(v);
    },
    async close() {
      await session.release();
    },
  };
}
