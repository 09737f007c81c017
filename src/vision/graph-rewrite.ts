// In-memory ONNX graph surgery, applied to verified model bytes at load time (the file on disk
// stays byte-identical to the manifest hash). Used for the RFB detector, which was exported with
// its SSD box decoding and 320x240 priors baked in as constants: cutting the graph at the raw
// regression tensor and making the input H/W symbolic lets the fully convolutional network run at
// any size, with priors computed in code for that size.
import { onnxModelCodec, type OnnxNode } from './onnx-proto.js';

export interface CutSpec {
  /** Tensor names that become the graph outputs; nodes not needed for them are removed. */
  outputs: string[];
  /** Input name and the dimension indexes to make symbolic (e.g. [2, 3] for NCHW H and W). */
  dynamicInput?: { name: string; dims: number[] };
}

export function cutGraph(bytes: Uint8Array, spec: CutSpec): Uint8Array {
  const codec = onnxModelCodec();
  const model = codec.decode(bytes);
  const g = model.graph;
  const producer = new Map<string, OnnxNode>();
  for (const n of g.node) for (const o of n.output) producer.set(o, n);
  for (const name of spec.outputs) {
    if (!producer.has(name)) throw new Error(`graph rewrite: no node produces tensor "${name}"`);
  }
  // Walk back from the wanted outputs to find the nodes they need.
  const needed = new Set<OnnxNode>();
  const used = new Set<string>();
  const stack = [...spec.outputs];
  while (stack.length > 0) {
    const t = stack.pop()!;
    if (used.has(t)) continue;
    used.add(t);
    const n = producer.get(t);
    if (n && !needed.has(n)) {
      needed.add(n);
      stack.push(...n.input.filter(Boolean));
    }
  }
  g.node = g.node.filter((n) => needed.has(n));
  g.initializer = g.initializer.filter((t) => t.name !== undefined && used.has(t.name));
  g.output = spec.outputs.map((name) => ({ name, type: { tensorType: { elemType: 1 } } }));
  // Intermediate shapes recorded for the old size would contradict the new one.
  g.valueInfo = [];
  if (spec.dynamicInput) {
    const { name, dims } = spec.dynamicInput;
    const input = g.input.find((i) => i.name === name);
    const shape = input?.type?.tensorType?.shape;
    if (!shape) throw new Error(`graph rewrite: input "${name}" has no shape`);
    for (const d of dims) {
      if (!shape.dim[d]) throw new Error(`graph rewrite: input "${name}" has no dimension ${d}`);
      shape.dim[d] = { dimParam: `d${d}` };
    }
  }
  return codec.encode(model);
}

/**
 * Make a model take a batch: the input's first dimension (exported as a fixed 1) becomes
 * symbolic, and a Reshape whose constant shape starts with 1 (the exporter's "[1, -1]" flatten)
 * gets 0 there instead, which ONNX reads as "keep the input's batch size". Used to run the
 * landmarks of every face of a frame, and a face with its mirror image, as one run each.
 * Refuses (throws) when a constant shape bakes in another leading size. Callers check the batch
 * against single runs (lfr bench vision prints the largest difference).
 */
export function batchable(bytes: Uint8Array, inputName: string): Uint8Array {
  const codec = onnxModelCodec();
  const model = codec.decode(bytes);
  const g = model.graph;
  const input = g.input.find((i) => i.name === inputName);
  const dim0 = input?.type?.tensorType?.shape?.dim[0];
  if (!input || !dim0) throw new Error(`graph rewrite: input "${inputName}" has no batch dimension`);
  input.type!.tensorType!.shape!.dim[0] = { dimParam: 'batch' };
  for (const o of g.output) {
    const d = o.type?.tensorType?.shape?.dim;
    if (d?.[0]) d[0] = { dimParam: 'batch' };
  }
  const inits = new Map(g.initializer.map((t) => [t.name, t]));
  for (const n of g.node) {
    if (n.opType !== 'Reshape') continue;
    const shape = inits.get(n.input[1] ?? '');
    // A shape computed at run time (Shape -> Gather -> Concat) follows the real batch size.
    if (!shape) continue;
    const raw = shape.rawData;
    if (!raw || raw.byteLength < 8) throw new Error(`graph rewrite: Reshape ${n.name ?? ''} has a shape constant without raw data; batching not supported`);
    const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
    const first = view.getBigInt64(0, true);
    if (first === 1n) view.setBigInt64(0, 0n, true);
    else if (first !== 0n && first !== -1n) throw new Error(`graph rewrite: Reshape ${n.name ?? ''} has a fixed leading size ${first}; batching not supported`);
  }
  g.valueInfo = [];
  return codec.encode(model);
}
