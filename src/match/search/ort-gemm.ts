// Watchlist scoring as one matrix product in ONNX Runtime: the template matrix is a constant of a
// tiny ONNX graph, so MLAS runs it with packed weights and the CPU's best kernel (AVX-512 VNNI /
// AVX2 / ARM64 sdot for int8). Two precisions:
//   f32   MatMul(probes [n,d], T' [d,rows])                      exact cosine
//   int8  MatMulInteger(q(probes), q(T')) x probe scale x row scale   per-row symmetric int8;
//         4x less memory traffic than f32, the bound for a single probe over 100k rows
// Scores come back as one Float32Array of n x rows, so the caller keeps ids and top-k.
// Templates are biometric data: the backend keeps only the session (the only copy of the
// quantised matrix is inside ONNX Runtime) and releases it on clear().
import * as ort from 'onnxruntime-node';
import { DT, encodeModel, makeTensor, type QModel } from '../../vision/onnx-graph.js';
import type { Lease } from '../../buffers/pools.js';

export type GemmPrecision = 'f32' | 'int8';

export interface GemmIndexOptions {
  precision: GemmPrecision;
  intraOpThreads: number;
}

/** Symmetric int8 of one vector: q = round(v / s), s = max|v| / qmax. Returns s. */
export function quantizeRow(v: Float32Array, off: number, dim: number, out: Int8Array, outOff: number, stride = 1, qmax = 127): number {
  let m = 0;
  for (let j = 0; j < dim; j++) m = Math.max(m, Math.abs(v[off + j]!));
  const s = m > 0 ? m / qmax : 1;
  for (let j = 0; j < dim; j++) out[outOff + j * stride] = Math.round(v[off + j]! / s);
  return s;
}

function gemmModel(precision: GemmPrecision, matrix: Float32Array, rows: number, dim: number): { bytes: Uint8Array; rowScale?: Float32Array } {
  let weight;
  let rowScale: Float32Array | undefined;
  if (precision === 'f32') {
    const t = new Float32Array(dim * rows);
    for (let r = 0; r < rows; r++) for (let j = 0; j < dim; j++) t[j * rows + r] = matrix[r * dim + j]!;
    weight = makeTensor('templates', DT.FLOAT, [dim, rows], t);
  } else {
    const t = new Int8Array(dim * rows);
    rowScale = new Float32Array(rows);
    // 7-bit templates (|q| <= 63), as for the int8 models: without VNNI, MLAS's u8 x s8 kernel
    // (vpmaddubsw) adds pairs of products into int16 with saturation, and 255 x 127 x 2 > 32767
    // would clip high scores on AVX2 CPUs; 255 x 63 x 2 = 32130 cannot. The exact float re-rank
    // of the candidates makes the reported scores exact either way.
    for (let r = 0; r < rows; r++) rowScale[r] = quantizeRow(matrix, r * dim, dim, t, r, rows, 63);
    weight = makeTensor('templates', DT.INT8, [dim, rows], t);
  }
  // uint8 probes with zero point 128 (u8 x s8): the pairing MLAS has VNNI/AVX2 kernels for;
  // s8 x s8 measured 25x slower on onnxruntime 1.22 (40 vs 1.6 ms over 100k rows).
  const elem = precision === 'f32' ? DT.FLOAT : DT.UINT8;
  const extra = precision === 'f32' ? [] : [makeTensor('probe_zero_point', DT.UINT8, [], Uint8Array.of(128))];
  const model: QModel = {
    irVersion: 8,
    opsetImport: [{ domain: '', version: 13 }],
    producerName: 'lfr-edge search',
    metadataProps: [],
    graph: {
      name: 'search',
      node: [{ opType: precision === 'f32' ? 'MatMul' : 'MatMulInteger', input: precision === 'f32' ? ['probes', 'templates'] : ['probes', 'templates', 'probe_zero_point'], output: ['scores'], name: 'score', attribute: [] }],
      initializer: [weight, ...extra],
      input: [{ name: 'probes', type: { tensorType: { elemType: elem, shape: { dim: [{ dimParam: 'n' }, { dimValue: dim }] } } } }],
      output: [{ name: 'scores', type: { tensorType: { elemType: precision === 'f32' ? DT.FLOAT : DT.INT32 } } }],
      valueInfo: [],
    },
  };
  return { bytes: encodeModel(model), rowScale };
}

export class OrtGemmIndex {
  private session: ort.InferenceSession | undefined;
  private rowScale: Float32Array | undefined;
  private rows = 0;
  private dim = 0;

  constructor(private readonly opts: GemmIndexOptions) {}

  get name(): string {
    return `ort-gemm-${this.opts.precision}`;
  }

  async load(matrix: Float32Array, rows: number, dim: number): Promise<void> {
    await this.clear();
    if (rows === 0) return;
    const { bytes, rowScale } = gemmModel(this.opts.precision, matrix, rows, dim);
    this.session = await ort.InferenceSession.create(bytes, { intraOpNumThreads: this.opts.intraOpThreads, interOpNumThreads: 1, graphOptimizationLevel: 'all' });
    bytes.fill(0);
    this.rowScale = rowScale;
    this.rows = rows;
    this.dim = dim;
  }

  /**
   * Scores of n probes (n x dim, row-major) against every row: n x rows. The quantised probe
   * copies come from `lease` (pool "probe", wiped at the frame's release) when given, else they
   * are zeroed before returning.
   */
  async score(probes: Float32Array, n: number, lease?: Lease): Promise<Float32Array> {
    const { session, rows, dim } = this;
    if (!session) return new Float32Array(0);
    if (probes.length < n * dim) throw new RangeError(`expected ${n} probes of ${dim} values`);
    if (this.opts.precision === 'f32') {
      const out = await session.run({ probes: new ort.Tensor('float32', probes.subarray(0, n * dim), [n, dim]) });
      return out.scores!.data as Float32Array;
    }
    const qb = lease ? lease.u8('probe', n * dim) : new Uint8Array(n * dim);
    const q = new Int8Array(qb.buffer, qb.byteOffset, n * dim);
    const ps = new Float32Array(n);
    for (let i = 0; i < n; i++) ps[i] = quantizeRow(probes, i * dim, dim, q, i * dim);
    const u = lease ? lease.u8('probe', n * dim) : new Uint8Array(n * dim);
    for (let i = 0; i < u.length; i++) u[i] = q[i]! + 128;
    let out;
    try {
      out = await session.run({ probes: new ort.Tensor('uint8', u, [n, dim]) });
    } finally {
      if (!lease) {
        qb.fill(0);
        u.fill(0);
      }
    }
    const acc = out.scores!.data as Int32Array;
    const scores = new Float32Array(n * rows);
    const rs = this.rowScale!;
    for (let i = 0; i < n; i++) {
      const s = ps[i]!;
      const base = i * rows;
      for (let r = 0; r < rows; r++) scores[base + r] = acc[base + r]! * s * rs[r]!;
    }
    return scores;
  }

  async clear(): Promise<void> {
    const s = this.session;
    this.session = undefined;
    this.rowScale?.fill(0);
    this.rowScale = undefined;
    this.rows = 0;
    if (s) await s.release();
  }
}
