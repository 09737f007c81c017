// Typed view of a decoded ONNX model and the small graph utilities the quantiser needs: tensor
// data in and out of initializers, producer/consumer maps, and element-type inference.
//
// The protobuf codec is vision's (src/vision/onnx-proto.ts, the official onnx.proto field numbers,
// every field an inference model can carry, so re-encoding loses nothing); this file only adds
// the fields the quantiser reads and writes. protobufjs decodes int64 as Long objects and accepts
// plain numbers when encoding, hence `num()`.
import { onnxModelCodec } from './onnx-proto.js';

/** ONNX TensorProto.DataType values used here. */
export const DT = { FLOAT: 1, UINT8: 2, INT8: 3, INT32: 6, INT64: 7 } as const;

export type Int64 = number | { toNumber(): number };

export interface QAttribute {
  name: string;
  type?: number;
  f?: number;
  i?: Int64;
  s?: Uint8Array;
  t?: QTensor;
  floats?: number[];
  ints?: Int64[];
}
export interface QTensor {
  name?: string;
  dims: Int64[];
  dataType?: number;
  rawData?: Uint8Array;
  floatData?: number[];
  int32Data?: number[];
  int64Data?: Int64[];
}
export interface QNode {
  input: string[];
  output: string[];
  name?: string;
  opType: string;
  domain?: string;
  attribute: QAttribute[];
}
export interface QValueInfo {
  name: string;
  type?: { tensorType?: { elemType?: number; shape?: { dim: unknown[] } } };
}
export interface QGraph {
  node: QNode[];
  initializer: QTensor[];
  input: QValueInfo[];
  output: QValueInfo[];
  valueInfo: QValueInfo[];
  name?: string;
}
export interface QModel {
  irVersion?: Int64;
  opsetImport: { domain?: string; version?: Int64 }[];
  producerName?: string;
  graph: QGraph;
  metadataProps: { key?: string; value?: string }[];
}

export const num = (v: Int64 | undefined): number => (v === undefined ? 0 : typeof v === 'number' ? v : v.toNumber());

export function decodeModel(bytes: Uint8Array): QModel {
  const m = onnxModelCodec().decode(bytes) as unknown as QModel;
  if (!m.graph) throw new Error('not an ONNX model: no graph');
  return m;
}

export function encodeModel(model: QModel): Uint8Array {
  return onnxModelCodec().encode(model as never);
}

/** Default-domain opset version of the model. */
export function onnxOpset(model: QModel): number {
  const e = model.opsetImport.find((o) => !o.domain || o.domain === 'ai.onnx');
  return e ? num(e.version) : 0;
}

export function tensorDims(t: QTensor): number[] {
  return t.dims.map(num);
}

/** Float values of a FLOAT initializer (raw_data or float_data). */
export function floatData(t: QTensor): Float32Array {
  if (t.dataType !== DT.FLOAT) throw new Error(`tensor ${t.name ?? '?'} is not float (data type ${t.dataType ?? '?'})`);
  if (t.rawData && t.rawData.length > 0) {
    // Copy: raw_data is a view into the model buffer and may be unaligned for Float32Array.
    const copy = new Uint8Array(t.rawData);
    return new Float32Array(copy.buffer, 0, copy.length / 4);
  }
  return Float32Array.from(t.floatData ?? []);
}

function raw(data: ArrayBufferView): Uint8Array {
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}

export function makeTensor(name: string, dataType: number, dims: number[], data: Float32Array | Int8Array | Uint8Array | Int32Array | BigInt64Array): QTensor {
  return { name, dataType, dims, rawData: raw(data) };
}

const INT64_MAX = 2n ** 63n - 1n;
/** Number -> int64, saturating: Slice "to the end" is often INT64_MAX, which a double rounds up past. */
const toInt64 = (v: number): bigint => {
  const b = BigInt(Math.trunc(v));
  return b > INT64_MAX ? INT64_MAX : b < -INT64_MAX ? -INT64_MAX : b;
};

export const int64Tensor = (name: string, values: number[]): QTensor =>
  makeTensor(name, DT.INT64, [values.length], BigInt64Array.from(values.map(toInt64)));

export function attr(node: QNode, name: string): QAttribute | undefined {
  return node.attribute.find((a) => a.name === name);
}

/** AttributeProto.AttributeType values. */
export const AT = { FLOAT: 1, INT: 2, STRING: 3, TENSOR: 4, INTS: 7 } as const;

export const intAttr = (name: string, i: number): QAttribute => ({ name, type: AT.INT, i });

/** Map from tensor name to the nodes that read it. */
export function consumers(graph: QGraph): Map<string, QNode[]> {
  const m = new Map<string, QNode[]>();
  for (const n of graph.node) {
    for (const i of n.input) {
      if (!i) continue;
      const list = m.get(i);
      if (list) list.push(n);
      else m.set(i, [n]);
    }
  }
  return m;
}

export function producers(graph: QGraph): Map<string, QNode> {
  const m = new Map<string, QNode>();
  for (const n of graph.node) for (const o of n.output) m.set(o, n);
  return m;
}

/**
 * Element type of every tensor, inferred forward in node order: declared inputs and
 * initializers, Constant values, Shape -> int64, Cast -> its "to", anything else -> the type of
 * its first input. Enough to tell float activations from int64 shape arithmetic in CNN exports.
 */
export function elemTypes(graph: QGraph): Map<string, number> {
  const types = new Map<string, number>();
  for (const i of graph.input) types.set(i.name, i.type?.tensorType?.elemType ?? 0);
  for (const t of graph.initializer) if (t.name) types.set(t.name, t.dataType ?? 0);
  for (const n of graph.node) {
    let ty: number;
    if (n.opType === 'Constant') ty = attr(n, 'value')?.t?.dataType ?? 0;
    else if (n.opType === 'Shape' || n.opType === 'Size') ty = DT.INT64;
    else if (n.opType === 'Cast') ty = num(attr(n, 'to')?.i);
    else if (n.opType === 'QuantizeLinear') ty = types.get(n.input[2] ?? '') ?? DT.UINT8;
    else if (n.opType === 'DequantizeLinear') ty = DT.FLOAT;
    else ty = types.get(n.input[0] ?? '') ?? 0;
    for (const o of n.output) types.set(o, ty);
  }
  return types;
}

/** Names already used in the graph, and a helper to make new unique ones. */
export function nameAllocator(graph: QGraph): (base: string) => string {
  const used = new Set<string>();
  for (const n of graph.node) {
    for (const t of [...n.input, ...n.output]) used.add(t);
    if (n.name) used.add(n.name);
  }
  for (const t of graph.initializer) if (t.name) used.add(t.name);
  for (const i of graph.input) used.add(i.name);
  return (base) => {
    let name = base;
    for (let k = 1; used.has(name); k++) name = `${base}_${k}`;
    used.add(name);
    return name;
  };
}
