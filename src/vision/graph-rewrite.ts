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
