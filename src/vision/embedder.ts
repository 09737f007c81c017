// Face embedder (manifest decoder "embedding"): aligned 112x112 face -> L2-normalised vector.
// Normalisation, channel order and layout come from the manifest. With vision.mirrorAugment the
// embedding of the face and of its mirror image are averaged before normalising (a common,
// cheap accuracy gain; it doubles the embedder cost, measured by lfr eval / lfr bench). The face
// and its mirror run as one batch of two (`lfr bench vision` measures the batched and separate
// runs side by side).
import type { ModelContext } from './detectors/factory.js';
import { withLease, type Lease } from '../buffers/pools.js';
import { batchable } from './graph-rewrite.js';
import { fullRoi, tensorLength, toTensor } from './preprocess.js';
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
  /**
   * Embed several aligned faces into `dest` (one L2-normalised vector each, e.g. the owned
   * "embedding" buffers of the frame). Images (each face, and its mirror with mirrorAugment) run
   * in batches of `batch` (default: the face and its mirror as one run of two). Input tensors and
   * the raw outputs come from `lease` and are wiped when it is released.
   */
  embedInto(aligned: readonly RgbImage[], dest: readonly Float32Array[], lease?: Lease, batch?: number): Promise<void>;
  close(): Promise<void>;
}

export async function createEmbedder(ctx: ModelContext, mirror: boolean): Promise<Embedder> {
  const { entry } = ctx;
  if (entry.decoder.name !== 'embedding') throw new Error(`model ${entry.id}: unknown embedder decoder "${entry.decoder.name}"`);
  const params = entry.decoder.params;
  const output = typeof params.output === 'string' ? params.output : 'output';
  const size = typeof params.size === 'number' ? params.size : 512;
  const session = await ctx.openSession(batchable(ctx.bytes, entry.input.name));
  const { width: W, height: H, layout } = entry.input;
  const C = entry.input.channelOrder === 'GREY' ? 1 : 3;
  const per = tensorLength(entry.input);
  const dims = (n: number) => (layout === 'NCHW' ? [n, C, H, W] : [n, H, W, C]);
  const perFace = mirror ? 2 : 1;
  const defaultBatch = perFace;

  /** One run over `n` images: items[i] = [face index, mirrored]. */
  const run = async (aligned: readonly RgbImage[], items: Array<[number, boolean]>, lease: Lease): Promise<Float32Array> => {
    const n = items.length;
    const data = lease.f32('embedder-input', per * n);
    items.forEach(([f, flipX], i) => toTensor(aligned[f]!, fullRoi(aligned[f]!), entry.input, { flipX, out: data.subarray(i * per, (i + 1) * per) }));
    const raw = lease.f32('embedder-output', size * n);
    // Pre-allocated output: ONNX Runtime writes the features into our owned buffer; the binding
    // still returns a copy, zeroed at once below.
    const out = await session.run({ [entry.input.name]: new ort.Tensor('float32', data, dims(n)) }, { [output]: new ort.Tensor('float32', raw, [n, size]) });
    const copy = out[output]?.data as Float32Array | undefined;
    if (copy && copy.buffer !== raw.buffer) copy.fill(0);
    if (!copy || copy.length !== size * n) throw new Error(`embedder ${entry.id}: expected ${size * n} outputs, got ${copy?.length ?? 0}`);
    return raw;
  };

  const embedInto = async (aligned: readonly RgbImage[], dest: readonly Float32Array[], lease?: Lease, batch = defaultBatch): Promise<void> => {
    if (dest.length !== aligned.length) throw new RangeError('embedInto: one destination per face');
    await withLease(lease, async (l) => {
      const items: Array<[number, boolean]> = [];
      for (let f = 0; f < aligned.length; f++) {
        items.push([f, false]);
        if (mirror) items.push([f, true]);
      }
      for (const d of dest) d.fill(0);
      const step = Math.max(1, Math.floor(batch));
      for (let i = 0; i < items.length; i += step) {
        const chunk = items.slice(i, i + step);
        const raw = await run(aligned, chunk, l);
        // Each image's vector is normalised before the face and its mirror are summed (the
        // averaging the accuracy figures were measured with), then the sum is normalised.
        chunk.forEach(([f], k) => {
          const v = raw.subarray(k * size, (k + 1) * size);
          l2normalize(v);
          const d = dest[f]!;
          for (let j = 0; j < size; j++) d[j]! += v[j]!;
        });
      }
      for (const d of dest) l2normalize(d);
    });
  };

  return {
    id: entry.id,
    size,
    async embed(aligned) {
      const v = new Float32Array(size);
      await embedInto([aligned], [v]);
      return v;
    },
    embedInto,
    async close() {
      await session.release();
    },
  };
}
