// The TF.js -> ONNX converter on a small graph built here (every op the converter knows, float32
// and float16-quantised weights), checked node by node against TensorFlow.js itself (the dev
// dependency tfjs-core + CPU backend); an op it does not know is refused by name, and a conversion
// that differs from TF.js is refused naming the first op that differs. No file from ../shared.
import test from 'ava';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { checkConversion } from '../../src/tools/tfjs2onnx/check.js';
import { convertTfjsGraph, UnsupportedOpError } from '../../src/tools/tfjs2onnx/convert.js';
import { readTfjsGraphModel, TfjsModelError, type TfjsNode } from '../../src/tools/tfjs2onnx/tfjs-model.js';

const b64 = (s: string): string => Buffer.from(s).toString('base64');
const T = { T: { type: 'DT_FLOAT' } };
const conv = (strides: number, pad: string) => ({ strides: { list: { i: ['1', String(strides), String(strides), '1'] } }, padding: { s: b64(pad) }, data_format: { s: b64('NHWC') }, dilations: { list: { i: ['1', '1', '1', '1'] } }, explicit_paddings: { list: {} } });
const fused = (...ops: string[]) => ({ fused_ops: { list: { s: ops.map(b64) } }, num_args: { i: String(ops.length > 0 ? 1 : 0) }, epsilon: { f: 0 } });

/** A deterministic pseudo-random generator (the repo's tests never depend on Math.random). */
function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32) * 2 - 1;
}

interface W {
  name: string;
  shape: number[];
  data: number[];
  dtype?: 'float32' | 'int32';
  half?: boolean;
}

function toHalf(v: number): number {
  const f = new Float32Array([v]);
  const x = new Uint32Array(f.buffer)[0]!;
  const sign = (x >>> 16) & 0x8000;
  const exp = ((x >>> 23) & 0xff) - 127 + 15;
  const mant = (x >>> 13) & 0x3ff;
  if (exp <= 0) return sign;
  if (exp >= 31) return sign | 0x7c00;
  return sign | (exp << 10) | mant;
}

async function writeModel(dir: string, nodes: TfjsNode[], weights: W[]): Promise<string> {
  const bufs: Buffer[] = [];
  const specs = weights.map((w) => {
    if (w.half) {
      const b = Buffer.alloc(w.data.length * 2);
      w.data.forEach((v, i) => b.writeUInt16LE(toHalf(v), i * 2));
      bufs.push(b);
      return { name: w.name, shape: w.shape, dtype: 'float32', quantization: { dtype: 'float16', original_dtype: 'float32' } };
    }
    const b = Buffer.alloc(w.data.length * 4);
    w.data.forEach((v, i) => (w.dtype === 'int32' ? b.writeInt32LE(v, i * 4) : b.writeFloatLE(v, i * 4)));
    bufs.push(b);
    return { name: w.name, shape: w.shape, dtype: w.dtype ?? 'float32' };
  });
  const constNodes: TfjsNode[] = weights.map((w) => ({ name: w.name, op: 'Const', attr: { dtype: { type: w.dtype === 'int32' ? 'DT_INT32' : 'DT_FLOAT' }, value: { tensor: { dtype: w.dtype === 'int32' ? 'DT_INT32' : 'DT_FLOAT', tensorShape: { dim: w.shape.map((s) => ({ size: String(s) })) } } } } as never }));
  await writeFile(path.join(dir, 'w.bin'), Buffer.concat(bufs));
  const file = path.join(dir, 'model.json');
  await writeFile(file, JSON.stringify({ format: 'graph-model', generatedBy: 'test', convertedBy: 'test', modelTopology: { node: [...constNodes, ...nodes], library: {}, versions: {} }, weightsManifest: [{ paths: ['w.bin'], weights: specs }] }));
  return file;
}

/** A 16x16x3 graph touching every op the converter supports. */
function smallGraph(): { nodes: TfjsNode[]; weights: W[] } {
  const r = lcg(7);
  const rnd = (n: number, s = 0.5) => Array.from({ length: n }, () => r() * s);
  const weights: W[] = [
    { name: 'c1/w', shape: [3, 3, 3, 8], data: rnd(216), half: true },
    { name: 'c1/b', shape: [8], data: rnd(8) },
    { name: 'dw/w', shape: [3, 3, 8, 1], data: rnd(72) },
    { name: 'dw/b', shape: [8], data: rnd(8) },
    { name: 'c2/w', shape: [1, 1, 8, 8], data: rnd(64) },
    { name: 'dw2/w', shape: [3, 3, 8, 1], data: rnd(72) },
    { name: 'alpha', shape: [8], data: rnd(8) },
    { name: 'six', shape: [], data: [6] },
    { name: 'zero', shape: [], data: [0] },
    { name: 'pads', shape: [4, 2], data: [0, 0, 1, 1, 1, 1, 0, 0], dtype: 'int32' },
    { name: 'axes12', shape: [2], data: [1, 2], dtype: 'int32' },
    { name: 'fc/w', shape: [8, 6], data: rnd(48) },
    { name: 'fc/b', shape: [6], data: rnd(6) },
    { name: 'fc2/w', shape: [6, 4], data: rnd(24) },
    { name: 'shape', shape: [2], data: [-1, 4], dtype: 'int32' },
    { name: 'axis1', shape: [1], data: [1], dtype: 'int32' },
    { name: 'eps', shape: [], data: [1e-10] },
  ];
  const n = (name: string, op: string, input: string[], attr: Record<string, unknown> = {}): TfjsNode => ({ name, op, input, attr: { ...T, ...attr } as never });
  const nodes: TfjsNode[] = [
    { name: 'x', op: 'Placeholder', attr: { dtype: { type: 'DT_FLOAT' }, shape: { shape: { dim: [{ size: '-1' }, { size: '16' }, { size: '16' }, { size: '3' }] } } } as never },
    n('c1', '_FusedConv2D', ['x', 'c1/w', 'c1/b'], { ...conv(2, 'SAME'), ...fused('BiasAdd', 'Relu') }),
    n('dw', 'FusedDepthwiseConv2dNative', ['c1', 'dw/w', 'dw/b'], { ...conv(1, 'SAME'), ...fused('BiasAdd') }),
    // PReLU as TF exports it: relu(x) + alpha * (x - |x|) * 0.5 (here without the 0.5).
    n('relu', 'Relu', ['dw']),
    n('abs', 'Abs', ['dw']),
    n('sub', 'Sub', ['dw', 'abs']),
    n('mul', 'Mul', ['sub', 'alpha']),
    n('prelu', 'AddV2', ['relu', 'mul']),
    n('clipmin', 'Minimum', ['prelu', 'six']),
    n('clip', 'Maximum', ['clipmin', 'zero']),
    n('pad', 'Pad', ['clip', 'pads']),
    n('c2', 'Conv2D', ['pad', 'c2/w'], conv(1, 'VALID')),
    n('dw2', 'DepthwiseConv2dNative', ['c2', 'dw2/w'], conv(2, 'VALID')),
    n('add', 'Add', ['dw2', 'dw2']),
    n('gap', 'Mean', ['add', 'axes12'], { keep_dims: { b: false }, Tidx: { type: 'DT_INT32' } }),
    n('fc', '_FusedMatMul', ['gap', 'fc/w', 'fc/b'], { ...fused('BiasAdd'), transpose_a: { b: false }, transpose_b: { b: false } }),
    n('sig', 'Sigmoid', ['fc']),
    n('fc2', 'MatMul', ['sig', 'fc2/w'], { transpose_a: { b: false }, transpose_b: { b: false } }),
    n('resh', 'Reshape', ['fc2', 'shape'], { Tshape: { type: 'DT_INT32' } }),
    n('soft', 'Softmax', ['resh']),
    n('sq', 'Square', ['resh']),
    n('sum', 'Sum', ['sq', 'axis1'], { keep_dims: { b: true }, Tidx: { type: 'DT_INT32' } }),
    n('max', 'Maximum', ['sum', 'eps']),
    n('rsqrt', 'Rsqrt', ['max']),
    n('emb', 'Mul', ['resh', 'rsqrt']),
  ];
  return { nodes, weights };
}

function inputs(count: number): Float32Array[] {
  const r = lcg(11);
  return Array.from({ length: count }, () => Float32Array.from({ length: 16 * 16 * 3 }, () => (r() + 1) * 0.5));
}

test('every supported op converts and matches TensorFlow.js node by node within 1e-4', async (t) => {
  const dir = await mkdtemp(path.join(tmpdir(), 'lfr-tfjs-'));
  try {
    const g = smallGraph();
    const m = await readTfjsGraphModel(await writeModel(dir, g.nodes, g.weights));
    const conv = convertTfjsGraph(m, { outputs: ['emb', 'soft'] });
    t.deepEqual(conv.outputs, ['emb', 'soft']);
    t.is(conv.inputs[0]!.name, 'x');
    const r = await checkConversion(m, inputs(3), { outputs: ['emb', 'soft'] });
    t.is(r.firstFailure, undefined, JSON.stringify(r.firstFailure));
    t.is(r.nodesCompared, g.nodes.length - 1);
    t.true(r.worst!.relDiff < 1e-4, JSON.stringify(r.worst));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('a conversion that differs from TensorFlow.js is refused, naming the first op that differs', async (t) => {
  const dir = await mkdtemp(path.join(tmpdir(), 'lfr-tfjs-'));
  try {
    const g = smallGraph();
    const m = await readTfjsGraphModel(await writeModel(dir, g.nodes, g.weights));
    // The converter reads the parsed weights, TF.js the raw bytes: change one parsed value.
    const w = m.weights.get('c2/w')!;
    w.data[0]! += 0.5;
    const r = await checkConversion(m, inputs(1), { outputs: ['emb', 'soft'] });
    t.truthy(r.firstFailure);
    t.is(r.firstFailure!.node, 'c2');
    t.is(r.firstFailure!.op, 'Conv2D');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('an op the converter does not know is refused by name; a non-graph model is refused', async (t) => {
  const dir = await mkdtemp(path.join(tmpdir(), 'lfr-tfjs-'));
  try {
    const g = smallGraph();
    g.nodes.push({ name: 'weird', op: 'Conv3D', input: ['emb'], attr: T as never });
    const m = await readTfjsGraphModel(await writeModel(dir, g.nodes, g.weights));
    const err = t.throws(() => convertTfjsGraph(m, { outputs: ['weird'] }), { instanceOf: UnsupportedOpError });
    t.regex(err!.message, /Conv3D.*weird/);
    const layers = path.join(dir, 'layers.json');
    await writeFile(layers, JSON.stringify({ format: 'layers-model', modelTopology: {}, weightsManifest: [] }));
    await t.throwsAsync(() => readTfjsGraphModel(layers), { instanceOf: TfjsModelError, message: /not a TensorFlow.js graph model/ });
    await writeFile(path.join(dir, 'w.bin'), Buffer.alloc(8));
    await t.throwsAsync(() => readTfjsGraphModel(path.join(dir, 'model.json')), { instanceOf: TfjsModelError, message: /runs past the end/ });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
