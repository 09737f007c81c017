// The converter's proof: the converted ONNX graph, run by ONNX Runtime, against TensorFlow.js's
// own execution of the original graph (tfjs-core's CPU backend, a dev dependency: the product never
// loads TensorFlow.js), on the same inputs, node by node. A node whose output differs by more than
// the tolerance is named: the first one in graph order is where the conversion is wrong.
//
// Tolerance: max |onnx - tfjs| <= tol * max(1, max |tfjs|) over each node's tensor. Relative to the
// tensor's scale because two runtimes sum in different orders: a float32 activation of 300 cannot
// agree to an absolute 1e-4, one of 1 must.
import * as ort from 'onnxruntime-node';
import { encodeModel } from '../../vision/onnx-graph.js';
import { convertTfjsGraph } from './convert.js';
import type { TfjsGraphModel } from './tfjs-model.js';

export const DEFAULT_TOLERANCE = 1e-4;

export interface NodeDiff {
  node: string;
  op: string;
  maxAbsDiff: number;
  scale: number;
  relDiff: number;
}

export interface CheckResult {
  inputs: number;
  nodesCompared: number;
  tolerance: number;
  /** Largest relative difference over every node and input. */
  worst: NodeDiff | undefined;
  /** First node, in graph order, beyond the tolerance (undefined: the conversion holds). */
  firstFailure: NodeDiff | undefined;
  /** Largest relative difference over the graph outputs only. */
  outputsWorst: number;
}

export class CheckUnavailableError extends Error {}

interface Tfjs {
  tensor(values: Float32Array, shape: number[], dtype: 'float32'): { dispose(): void };
  io: { fromMemorySync(a: unknown): unknown };
  setBackend(b: string): Promise<boolean>;
  ready(): Promise<void>;
}

async function loadTfjs(): Promise<{ tf: Tfjs; loadGraphModelSync: (h: unknown) => { execute(i: unknown, o: string[]): { dataSync(): Float32Array; dispose(): void }[]; dispose(): void } }> {
  // The CPU backend prints an advert for tfjs-node on first use: not for our output.
  const [log, warn] = [console.log, console.warn];
  console.log = console.warn = () => {};
  try {
    const tf = (await import('@tensorflow/tfjs-core' as string)) as unknown as Tfjs;
    await import('@tensorflow/tfjs-backend-cpu' as string);
    const conv = (await import('@tensorflow/tfjs-converter' as string)) as unknown as { loadGraphModelSync: never };
    await tf.setBackend('cpu');
    await tf.ready();
    return { tf, loadGraphModelSync: conv.loadGraphModelSync };
  } catch (err) {
    throw new CheckUnavailableError(`TensorFlow.js is needed to check a conversion (npm dev dependencies @tensorflow/tfjs-core, -converter, -backend-cpu): ${(err as Error).message}`);
  } finally {
    [console.log, console.warn] = [log, warn];
  }
}

/**
 * Run both runtimes on each input (NHWC float, the shape of the model's one input with batch 1)
 * and compare every converted node.
 */
export async function checkConversion(m: TfjsGraphModel, inputs: Float32Array[], opts: { outputs?: string[]; tolerance?: number } = {}): Promise<CheckResult> {
  const tol = opts.tolerance ?? DEFAULT_TOLERANCE;
  const conv = convertTfjsGraph(m, { outputs: opts.outputs, exposeAll: true });
  if (conv.inputs.length !== 1) throw new Error(`the checker feeds one input; the model has ${conv.inputs.length}`);
  const inName = conv.inputs[0]!.name;
  const shape = conv.inputs[0]!.shape.map((d) => (typeof d === 'number' ? d : 1));
  const session = await ort.InferenceSession.create(encodeModel(conv.model), { graphOptimizationLevel: 'disabled' });
  const { tf, loadGraphModelSync } = await loadTfjs();
  const weightSpecs = m.json.weightsManifest.flatMap((g) => g.weights);
  const gm = loadGraphModelSync(tf.io.fromMemorySync({ modelTopology: m.json.modelTopology, weightSpecs, weightData: m.weightData, format: 'graph-model' }));
  const opOf = new Map(m.nodes.map((n) => [n.name, n.op]));
  let worst: NodeDiff | undefined;
  let firstFailure: NodeDiff | undefined;
  let outputsWorst = 0;
  try {
    for (const data of inputs) {
      const ortOut = await session.run({ [inName]: new ort.Tensor('float32', data, shape) });
      const t = tf.tensor(data, shape, 'float32');
      const tfOut = gm.execute(t, conv.order);
      t.dispose();
      conv.order.forEach((name, k) => {
        const ref = tfOut[k]!.dataSync();
        const got = ortOut[name]!.data as Float32Array;
        let maxAbs = 0;
        let scale = 1;
        if (ref.length !== got.length) maxAbs = Infinity;
        else
          for (let i = 0; i < ref.length; i++) {
            maxAbs = Math.max(maxAbs, Math.abs(got[i]! - ref[i]!));
            scale = Math.max(scale, Math.abs(ref[i]!));
          }
        const d: NodeDiff = { node: name, op: opOf.get(name) ?? '?', maxAbsDiff: maxAbs, scale, relDiff: maxAbs / scale };
        if (!worst || d.relDiff > worst.relDiff) worst = d;
        if (!firstFailure && !(d.relDiff <= tol)) firstFailure = d;
        if (conv.outputs.includes(name)) outputsWorst = Math.max(outputsWorst, d.relDiff);
      });
      for (const x of tfOut) x.dispose();
    }
  } finally {
    gm.dispose();
    await session.release();
  }
  return { inputs: inputs.length, nodesCompared: conv.order.length, tolerance: tol, worst, firstFailure, outputsWorst };
}
