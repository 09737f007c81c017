import test from 'ava';
import { attr, decodeModel, DT, encodeModel, floatData, int64Tensor, makeTensor, num, type QModel, type QNode } from '../../src/vision/onnx-graph.js';
import { upgradeToOpset13 } from '../../src/tools/quant/opset.js';
import { activationTensors, insertQdq, quantizeWeights, uint8Params } from '../../src/tools/quant/qdq.js';
import { topK } from '../../src/match/search/topk.js';
import { quantizeRow } from '../../src/match/search/ort-gemm.js';

const node = (opType: string, input: string[], output: string[], attribute: QNode['attribute'] = []): QNode => ({ opType, input, output, name: output[0], attribute });
const floatIn = (name: string) => ({ name, type: { tensorType: { elemType: DT.FLOAT } } });

/** input -> Conv(w1,b1) -> Relu -> Conv(w2) -> Reshape -> output */
function tinyCnn(): QModel {
  const w1 = makeTensor('w1', DT.FLOAT, [2, 1, 1, 1], Float32Array.of(0.5, -2));
  const b1 = makeTensor('b1', DT.FLOAT, [2], Float32Array.of(0.1, -0.1));
  const w2 = makeTensor('w2', DT.FLOAT, [1, 2, 1, 1], Float32Array.of(1, 1));
  const shape = int64Tensor('shape', [1, -1]);
  return {
    irVersion: 7,
    opsetImport: [{ domain: '', version: 13 }],
    metadataProps: [],
    graph: {
      node: [node('Conv', ['x', 'w1', 'b1'], ['c1']), node('Relu', ['c1'], ['r1']), node('Conv', ['r1', 'w2'], ['c2']), node('Reshape', ['c2', 'shape'], ['y'])],
      initializer: [w1, b1, w2, shape],
      input: [floatIn('x')],
      output: [floatIn('y')],
      valueInfo: [],
    },
  };
}

test('uint8 parameters always represent 0 exactly and cover the range', (t) => {
  const p = uint8Params({ min: -1, max: 3 });
  t.is(p.zeroPoint, Math.round(1 / p.scale));
  t.true(Math.abs(p.scale - 4 / 255) < 1e-9);
  // A range that excludes 0 is widened to include it (padding and Relu outputs are 0).
  t.is(uint8Params({ min: 2, max: 5 }).zeroPoint, 0);
  t.deepEqual(uint8Params({ min: 0, max: 0 }), { scale: 1, zeroPoint: 0 });
});

test('per-channel int8 weights: each channel uses its own max and reconstructs within half a step', (t) => {
  const w = Float32Array.of(1, -0.5, 0.25, 100, -50, 1);
  const { q, scales } = quantizeWeights(w, [2, 3], 0, true, false);
  t.is(scales.length, 2);
  t.is(q[0], 127);
  t.is(q[3], 127);
  for (let i = 0; i < w.length; i++) t.true(Math.abs(q[i]! * scales[Math.floor(i / 3)]! - w[i]!) <= scales[Math.floor(i / 3)]! / 2 + 1e-6);
  // Per tensor, the small channel loses almost all its resolution: the reason for per-channel.
  const pt = quantizeWeights(w, [2, 3], 0, false, false);
  t.is(pt.scales.length, 1);
  t.is(pt.q[2], 0);
  t.is(quantizeWeights(w, [2, 3], 0, true, true).q[0], 63, 'reduce-range uses 7 bits');
});

test('activation selection: Relu absorbs its Conv output, the tensor feeding the output stays float', (t) => {
  const picked = activationTensors(tinyCnn().graph);
  t.deepEqual(picked, ['x', 'r1']);
});

test('QDQ insertion: weights become int8 + DequantizeLinear(axis 0), bias int32 with product scale', (t) => {
  const m = tinyCnn();
  const stats = insertQdq(m, new Map([['x', { min: -1, max: 1 }], ['r1', { min: 0, max: 4 }]]), { perChannel: true, reduceRange: false });
  t.deepEqual(stats, { activations: 2, weights: 2, biases: 1 });
  const g = m.graph;
  t.falsy(g.initializer.find((i) => i.name === 'w1'), 'the float weight is dropped');
  const wq = g.initializer.find((i) => i.name === 'w1_quantized')!;
  t.is(wq.dataType, DT.INT8);
  const wdq = g.node.find((n) => n.output[0] === 'w1_dequantized')!;
  t.is(num(attr(wdq, 'axis')?.i), 0);
  const bq = g.initializer.find((i) => i.name === 'b1_quantized')!;
  t.is(bq.dataType, DT.INT32);
  const bs = floatData(g.initializer.find((i) => i.name === 'b1_scale')!);
  const xs = uint8Params({ min: -1, max: 1 }).scale;
  t.true(Math.abs(bs[1]! - xs * (2 / 127)) < 1e-9);
  // Every reader of a quantised tensor now reads its dequantised copy; order stays topological.
  const conv1 = g.node.find((n) => n.name === 'c1')!;
  t.is(conv1.input[0], 'x_dequantized');
  const seen = new Set([...g.input.map((i) => i.name), ...g.initializer.map((i) => i.name!)]);
  for (const n of g.node) {
    for (const i of n.input) t.true(!i || seen.has(i), `${n.opType} reads ${i} before it exists`);
    for (const o of n.output) seen.add(o);
  }
  // And the result still encodes and decodes.
  t.is(decodeModel(encodeModel(m)).graph.node.length, g.node.length);
});

test('opset 9 -> 13: Unsqueeze/Slice attributes become inputs, Softmax keeps its 2-D meaning', (t) => {
  const m: QModel = {
    irVersion: 6,
    opsetImport: [{ domain: '', version: 9 }],
    metadataProps: [],
    graph: {
      node: [
        node('Unsqueeze', ['x'], ['u'], [{ name: 'axes', ints: [0] }]),
        node('Slice', ['u'], ['s'], [{ name: 'starts', ints: [0] }, { name: 'ends', ints: [9.3e18] }, { name: 'axes', ints: [1] }]),
        node('Softmax', ['s'], ['y'], [{ name: 'axis', i: 2 }]),
      ],
      initializer: [],
      input: [floatIn('x')],
      output: [floatIn('y')],
      valueInfo: [],
    },
  };
  t.is(upgradeToOpset13(m), 3);
  t.is(num(m.opsetImport[0]!.version), 13);
  t.is(num(m.irVersion), 7);
  t.deepEqual(m.graph.node.map((n) => n.opType), ['Unsqueeze', 'Slice', 'Shape', 'Flatten', 'Softmax', 'Reshape']);
  const ends = m.graph.initializer.find((i) => i.name === 's_ends')!;
  const v = new BigInt64Array(new Uint8Array(ends.rawData!).buffer)[0];
  t.is(v, 2n ** 63n - 1n, 'INT64_MAX survives the trip through a double');
  t.is(m.graph.node.at(-1)!.output[0], 'y', 'the output keeps its name');
  const old: QModel = { irVersion: 6, opsetImport: [{ domain: '', version: 9 }], metadataProps: [], graph: { node: [node('Upsample', ['x'], ['z'])], initializer: [], input: [floatIn('x')], output: [floatIn('z')], valueInfo: [] } };
  t.throws(() => upgradeToOpset13(old), { message: /Upsample/ }, 'an op whose meaning changed and is not converted is refused');
});

test('top-k matches a full sort; grouped, each group counts once by its best row', (t) => {
  const scores = Float32Array.from({ length: 1000 }, (_, i) => Math.sin(i * 12.9898) * 0.5);
  const sorted = [...scores].map((s, row) => ({ row, score: s })).sort((a, b) => b.score - a.score);
  t.deepEqual(topK(scores, scores.length, 5).map((h) => h.row), sorted.slice(0, 5).map((h) => h.row));
  t.deepEqual(topK(scores, scores.length, 5, 0).map((h) => h.score), sorted.slice(0, 5).map((h) => h.score));
  // Rows 0 and 2 belong to subject 7: it appears once, with its best row (2).
  const s2 = Float32Array.of(0.9, 0.5, 0.95, 0.7);
  const group = Int32Array.of(7, 1, 7, 2);
  t.deepEqual(topK(s2, 4, 2, 0, group), [{ row: 2, score: s2[2]! }, { row: 3, score: s2[3]! }]);
  t.deepEqual(topK(s2, 4, 0), []);
});

test('int8 row quantisation is symmetric with max |v| at 127', (t) => {
  const v = Float32Array.of(0.5, -0.25, 0.1);
  const q = new Int8Array(3);
  const s = quantizeRow(v, 0, 3, q, 0);
  t.deepEqual([...q], [127, -63, 25]); // Math.round: -63.5 -> -63
  t.true(Math.abs(s - 0.5 / 127) < 1e-9);
});
