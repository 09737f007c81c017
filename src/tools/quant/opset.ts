// Upgrade a model's default-domain opset to 13 so that QuantizeLinear/DequantizeLinear can carry
// a per-channel `axis` (added in opset 13). Both bundled models are opset 9 exports.
//
// Only the operators whose meaning changed between opset 9 and 13 AND that appear in CNN exports
// are rewritten; every other operator must be on the list of ops known to be unchanged, or the
// upgrade refuses with the op name (a silent semantic change would corrupt the model).
import { attr, int64Tensor, intAttr, nameAllocator, num, onnxOpset, type QModel, type QNode } from '../../vision/onnx-graph.js';

export const TARGET_OPSET = 13;

/** Ops whose opset-13 version reads the same inputs and attributes with the same meaning as at 9. */
const UNCHANGED = new Set([
  'Add', 'Sub', 'Mul', 'Div', 'Exp', 'Relu', 'PRelu', 'LeakyRelu', 'Sigmoid', 'Tanh', 'Conv', 'ConvTranspose',
  'Concat', 'Constant', 'Transpose', 'Shape', 'Gather', 'Reshape', 'Flatten', 'MatMul', 'Gemm', 'Identity',
  'GlobalAveragePool', 'GlobalMaxPool', 'MaxPool', 'AveragePool', 'BatchNormalization', 'Sqrt', 'Neg', 'Abs',
  'Cast', 'ReduceMean', 'ReduceSum', 'ReduceMax', 'Pow', 'Max', 'Min', 'Floor', 'Ceil',
  'QuantizeLinear', 'DequantizeLinear',
]);

/** Returns the number of nodes rewritten. Mutates `model`. */
export function upgradeToOpset13(model: QModel): number {
  const from = onnxOpset(model);
  if (from >= TARGET_OPSET) return 0;
  if (from < 7) throw new Error(`opset ${from} is too old to upgrade (need >= 7)`);
  const g = model.graph;
  const fresh = nameAllocator(g);
  const out: QNode[] = [];
  let rewritten = 0;
  for (const n of g.node) {
    if (n.domain && n.domain !== 'ai.onnx') {
      out.push(n);
      continue;
    }
    switch (n.opType) {
      case 'Unsqueeze':
      case 'Squeeze': {
        // axes moved from an attribute to a second input (opset 13).
        const axes = attr(n, 'axes')?.ints?.map(num);
        if (axes) {
          const t = int64Tensor(fresh(`${n.output[0]}_axes`), axes);
          g.initializer.push(t);
          n.input = [n.input[0]!, t.name!];
          n.attribute = n.attribute.filter((a) => a.name !== 'axes');
        }
        out.push(n);
        rewritten++;
        break;
      }
      case 'Slice': {
        // starts/ends/axes moved from attributes to inputs (opset 10).
        const get = (k: string) => attr(n, k)?.ints?.map(num);
        const starts = get('starts');
        const ends = get('ends');
        if (!starts || !ends) throw new Error(`Slice ${n.name ?? n.output[0]} has no starts/ends`);
        const axes = get('axes') ?? starts.map((_, i) => i);
        const names = [['starts', starts], ['ends', ends], ['axes', axes]].map(([k, v]) => {
          const t = int64Tensor(fresh(`${n.output[0]}_${k as string}`), v as number[]);
          g.initializer.push(t);
          return t.name!;
        });
        n.input = [n.input[0]!, ...names];
        n.attribute = [];
        out.push(n);
        rewritten++;
        break;
      }
      case 'Softmax':
      case 'LogSoftmax': {
        // Before 13 the input is coerced to 2-D at `axis` (default 1) and normalised over the
        // flattened tail; 13 normalises one axis. Flatten -> op(-1) -> Reshape back keeps the old
        // meaning for any rank without knowing the shape.
        const axis = num(attr(n, 'axis')?.i ?? 1);
        const x = n.input[0]!;
        const y = n.output[0]!;
        const shape = fresh(`${y}_shape`);
        const flat = fresh(`${y}_flat`);
        const soft = fresh(`${y}_2d`);
        out.push({ opType: 'Shape', input: [x], output: [shape], name: fresh(`${y}_Shape`), attribute: [] });
        out.push({ opType: 'Flatten', input: [x], output: [flat], name: fresh(`${y}_Flatten`), attribute: [intAttr('axis', axis)] });
        out.push({ opType: n.opType, input: [flat], output: [soft], name: n.name ?? fresh(`${y}_${n.opType}`), attribute: [intAttr('axis', -1)] });
        out.push({ opType: 'Reshape', input: [soft, shape], output: [y], name: fresh(`${y}_Reshape`), attribute: [] });
        rewritten++;
        break;
      }
      default:
        if (!UNCHANGED.has(n.opType)) {
          throw new Error(`cannot upgrade op ${n.opType} (${n.name ?? n.output[0]}) from opset ${from} to ${TARGET_OPSET}: not supported by the quantiser`);
        }
        out.push(n);
    }
  }
  g.node = out;
  for (const o of model.opsetImport) if (!o.domain || o.domain === 'ai.onnx') o.version = TARGET_OPSET;
  // Opset 13 needs IR version 7 or later.
  if (num(model.irVersion) < 7) model.irVersion = 7;
  return rewritten;
}

