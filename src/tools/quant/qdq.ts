// Static QDQ quantisation of an opset-13 float graph, in the format ONNX Runtime fuses into integer
// kernels (QLinearConv, QLinearAdd, ...): activations uint8 asymmetric per tensor, Conv/Gemm/MatMul
// weights int8 symmetric per output channel (DequantizeLinear with `axis`), Conv biases int32 with
// scale = input scale x weight scale. uint8 x int8 is the pairing MLAS runs fastest on x86
// (VNNI / AVX2 u8s8) and ARM64 (sdot/udot); weights are 7-bit by default (reduceRange) so the
// AVX2 kernels cannot saturate.
import { DT, consumers, elemTypes, floatData, makeTensor, nameAllocator, producers, tensorDims, intAttr, type QGraph, type QModel, type QNode, type QTensor } from '../../vision/onnx-graph.js';

export interface Range {
  min: number;
  max: number;
}

export interface QdqOptions {
  /** Per-output-channel weight scales (else one scale per tensor). */
  perChannel: boolean;
  /**
   * 7-bit weights: avoids the int16 saturation of u8s8 on x86 CPUs without VNNI (SSE4.1, AVX2,
   * AVX-512 before VNNI: vpmaddubsw adds two u8 x s8 products into a saturating int16), so the
   * model computes the same on every CPU. The default (quantize.ts); full range only where the
   * target CPU is known to have VNNI or ARM64 dot products.
   */
  reduceRange: boolean;
  /** Node names (or output tensor names) left in float. */
  exclude?: readonly string[];
  /**
   * The tensors the application reads (default: the graph outputs). For the RFB detector these
   * are the raw heads the vision code cuts the graph at: they and the baked-in box decoding
   * after them stay float.
   */
  outputs?: readonly string[];
}

/** Ops with an integer kernel in ONNX Runtime when their inputs come through DequantizeLinear. */
const QUANT_IN = new Set(['Conv', 'Gemm', 'MatMul', 'Add', 'Concat', 'MaxPool', 'AveragePool', 'GlobalAveragePool']);
/** Ops whose output is quantised so the following op can run integer too. */
const QUANT_OUT = new Set(['Conv', 'Gemm', 'MatMul', 'Add', 'Concat', 'Relu', 'PRelu', 'LeakyRelu', 'Sigmoid', 'MaxPool', 'AveragePool', 'GlobalAveragePool']);
/**
 * Ops between the last layers and the outputs that only move or normalise data: a tensor that
 * reaches an output through these alone stays float (quantising a head's output to 256 levels
 * costs accuracy and saves next to no time).
 */
const OUTPUT_TAIL = new Set(['Reshape', 'Flatten', 'Squeeze', 'Unsqueeze', 'Transpose', 'Identity', 'Concat', 'Softmax', 'Shape']);
/** Weight input index of ops with per-channel weights, and the channel axis. */
const WEIGHT_OPS: Record<string, { index: number; axis: (n: QNode) => number }> = {
  Conv: { index: 1, axis: () => 0 },
  // Gemm computes A x B' when transB = 1, so the output channel is then axis 0 of B.
  Gemm: { index: 1, axis: (n) => (n.attribute.find((a) => a.name === 'transB')?.i ? 0 : 1) },
  MatMul: { index: 1, axis: () => 1 },
};

/**
 * The float activation tensors to quantise: inputs of integer-capable ops and outputs of
 * quantisable ops, except tensors that feed only a graph output through data-movement ops (the
 * embedding itself and the detector's raw heads keep full precision). A Conv/Add output read only
 * by a Relu is skipped: the Relu output's QuantizeLinear (zero point 0) absorbs the Relu.
 */
export function activationTensors(graph: QGraph, opts: Pick<QdqOptions, 'exclude' | 'outputs'> = {}): string[] {
  const types = elemTypes(graph);
  const cons = consumers(graph);
  const prod = producers(graph);
  const inits = new Set(graph.initializer.map((t) => t.name));
  const outputs = new Set(opts.outputs ?? graph.output.map((o) => o.name));
  const excluded = new Set(opts.exclude ?? []);
  // Everything computed from an application output (baked-in post-processing) stays float.
  const downstream = new Set<string>();
  for (const n of graph.node) {
    if (n.input.some((i) => outputs.has(i) || downstream.has(i))) for (const o of n.output) downstream.add(o);
  }
  const constantDerived = new Set<string>();
  for (const n of graph.node) {
    if (n.opType === 'Constant' || (n.input.length > 0 && n.input.every((i) => !i || inits.has(i) || constantDerived.has(i)))) {
      for (const o of n.output) constantDerived.add(o);
    }
  }
  const reachesOutputRaw = (t: string, depth = 0): boolean => {
    if (outputs.has(t)) return true;
    if (depth > 8) return false;
    // Reading only the shape of a tensor does not depend on its precision.
    const cs = (cons.get(t) ?? []).filter((c) => c.opType !== 'Shape');
    return cs.length > 0 && cs.every((c) => OUTPUT_TAIL.has(c.opType) && c.output.every((o) => reachesOutputRaw(o, depth + 1)));
  };
  const candidates = [...graph.input.map((i) => i.name), ...graph.node.flatMap((n) => n.output)];
  const picked: string[] = [];
  for (const t of candidates) {
    if (inits.has(t) || constantDerived.has(t) || downstream.has(t) || types.get(t) !== DT.FLOAT) continue;
    const p = prod.get(t);
    if (excluded.has(t) || (p?.name && excluded.has(p.name))) continue;
    const cs = cons.get(t) ?? [];
    if (cs.length === 0 || reachesOutputRaw(t)) continue;
    const feedsInt = cs.some((c) => QUANT_IN.has(c.opType) && !(c.name && excluded.has(c.name)));
    const fromQuant = p !== undefined && QUANT_OUT.has(p.opType);
    if (!feedsInt && !fromQuant) continue;
    if (p && (p.opType === 'Conv' || p.opType === 'Add') && cs.length === 1 && cs[0]!.opType === 'Relu') continue;
    picked.push(t);
  }
  return picked;
}

/** uint8 asymmetric parameters covering [min, max] and always 0 (so padding and Relu are exact). */
export function uint8Params(r: Range): { scale: number; zeroPoint: number } {
  const lo = Math.min(0, r.min);
  const hi = Math.max(0, r.max);
  if (!(hi > lo)) return { scale: 1, zeroPoint: 0 };
  const scale = (hi - lo) / 255;
  const zeroPoint = Math.min(255, Math.max(0, Math.round(-lo / scale)));
  return { scale, zeroPoint };
}

/** Symmetric int8 per-channel quantisation of a weight tensor along `axis`. */
export function quantizeWeights(w: Float32Array, dims: number[], axis: number, perChannel: boolean, reduceRange: boolean): { q: Int8Array; scales: Float32Array } {
  const qmax = reduceRange ? 63 : 127;
  const channels = perChannel ? dims[axis]! : 1;
  const inner = perChannel ? dims.slice(axis + 1).reduce((a, b) => a * b, 1) : w.length;
  const maxAbs = new Float32Array(channels);
  const channelOf = (i: number) => (perChannel ? Math.floor(i / inner) % channels : 0);
  for (let i = 0; i < w.length; i++) {
    const c = channelOf(i);
    const a = Math.abs(w[i]!);
    if (a > maxAbs[c]!) maxAbs[c] = a;
  }
  const scales = new Float32Array(channels);
  for (let c = 0; c < channels; c++) scales[c] = maxAbs[c]! > 0 ? maxAbs[c]! / qmax : 1;
  const q = new Int8Array(w.length);
  for (let i = 0; i < w.length; i++) q[i] = Math.max(-qmax, Math.min(qmax, Math.round(w[i]! / scales[channelOf(i)]!)));
  return { q, scales };
}

export interface QdqStats {
  activations: number;
  weights: number;
  biases: number;
}

/** Insert QuantizeLinear/DequantizeLinear pairs for `ranges` and quantise weights. Mutates `model`. */
export function insertQdq(model: QModel, ranges: ReadonlyMap<string, Range>, opts: QdqOptions): QdqStats {
  const g = model.graph;
  const fresh = nameAllocator(g);
  const inits = new Map(g.initializer.map((t) => [t.name!, t]));
  const excluded = new Set(opts.exclude ?? []);
  const stats: QdqStats = { activations: 0, weights: 0, biases: 0 };
  const actScale = new Map<string, number>();
  const dequantOf = new Map<string, string>();
  const newInits: QTensor[] = [];
  const scalar = (base: string, dataType: number, data: Float32Array | Uint8Array | Int8Array | Int32Array, dims: number[]) => {
    const t = makeTensor(fresh(base), dataType, dims, data);
    newInits.push(t);
    return t.name!;
  };

  // Activation Q/DQ pairs, emitted right after the producer (or first, for graph inputs).
  const pairs = new Map<string, QNode[]>();
  for (const [t, r] of ranges) {
    const { scale, zeroPoint } = uint8Params(r);
    const s = scalar(`${t}_scale`, DT.FLOAT, Float32Array.of(scale), []);
    const z = scalar(`${t}_zero_point`, DT.UINT8, Uint8Array.of(zeroPoint), []);
    const q = fresh(`${t}_quantized`);
    const dq = fresh(`${t}_dequantized`);
    pairs.set(t, [
      { opType: 'QuantizeLinear', input: [t, s, z], output: [q], name: fresh(`${t}_QuantizeLinear`), attribute: [] },
      { opType: 'DequantizeLinear', input: [q, s, z], output: [dq], name: fresh(`${t}_DequantizeLinear`), attribute: [] },
    ]);
    actScale.set(t, scale);
    dequantOf.set(t, dq);
    stats.activations++;
  }

  // Weights and biases: int8/int32 initializers followed by a DequantizeLinear, placed first.
  const weightNodes: QNode[] = [];
  const weightDone = new Map<string, { dq: string; scales: Float32Array }>();
  for (const n of g.node) {
    const spec = WEIGHT_OPS[n.opType];
    if (!spec || (n.name && excluded.has(n.name))) continue;
    const wName = n.input[spec.index];
    const w = wName ? inits.get(wName) : undefined;
    const xScale = actScale.get(n.input[0] ?? '');
    if (!w || w.dataType !== DT.FLOAT || xScale === undefined) continue;
    let done = weightDone.get(wName!);
    if (!done) {
      const dims = tensorDims(w);
      const axis = spec.axis(n);
      const { q, scales } = quantizeWeights(floatData(w), dims, axis, opts.perChannel, opts.reduceRange);
      const qName = scalar(`${wName}_quantized`, DT.INT8, q, dims);
      const perCh = scales.length > 1;
      const s = scalar(`${wName}_scale`, DT.FLOAT, scales, perCh ? [scales.length] : []);
      const z = scalar(`${wName}_zero_point`, DT.INT8, new Int8Array(scales.length), perCh ? [scales.length] : []);
      const dq = fresh(`${wName}_dequantized`);
      weightNodes.push({ opType: 'DequantizeLinear', input: [qName, s, z], output: [dq], name: fresh(`${wName}_DequantizeLinear`), attribute: perCh ? [intAttr('axis', axis)] : [] });
      done = { dq, scales };
      weightDone.set(wName!, done);
      stats.weights++;
    }
    n.input[spec.index] = done.dq;
    // Conv bias: int32 with the product scale, which is what QLinearConv expects.
    const bName = n.opType === 'Conv' ? n.input[2] : undefined;
    const b = bName ? inits.get(bName) : undefined;
    if (b && b.dataType === DT.FLOAT) {
      const bias = floatData(b);
      const bs = new Float32Array(bias.length);
      const bq = new Int32Array(bias.length);
      for (let c = 0; c < bias.length; c++) {
        bs[c] = xScale * done.scales[done.scales.length > 1 ? c : 0]!;
        bq[c] = Math.round(bias[c]! / bs[c]!);
      }
      const qName = scalar(`${bName}_quantized`, DT.INT32, bq, [bias.length]);
      const s = scalar(`${bName}_scale`, DT.FLOAT, bs, [bias.length]);
      const z = scalar(`${bName}_zero_point`, DT.INT32, new Int32Array(bias.length), [bias.length]);
      const dq = fresh(`${bName}_dequantized`);
      weightNodes.push({ opType: 'DequantizeLinear', input: [qName, s, z], output: [dq], name: fresh(`${bName}_DequantizeLinear`), attribute: [intAttr('axis', 0)] });
      n.input[2] = dq;
      stats.biases++;
    }
  }

  // Rewire every reader of a quantised activation to its dequantised copy, then rebuild the node
  // list in topological order.
  const original = g.node;
  for (const n of original) n.input = n.input.map((i) => dequantOf.get(i) ?? i);
  const ordered: QNode[] = [...weightNodes];
  for (const i of g.input) ordered.push(...(pairs.get(i.name) ?? []));
  for (const n of original) {
    ordered.push(n);
    for (const o of n.output) ordered.push(...(pairs.get(o) ?? []));
  }
  g.node = ordered;
  g.initializer.push(...newInits);
  // Float weights now read only through their quantised copies.
  const stillRead = new Set(g.node.flatMap((n) => n.input));
  g.initializer = g.initializer.filter((t) => stillRead.has(t.name!));
  g.valueInfo = [];
  return stats;
}
