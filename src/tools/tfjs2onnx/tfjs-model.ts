// Reading a TensorFlow.js graph model (model.json + its weight shards) without TensorFlow.js: the
// node list of its GraphDef and every weight as a Float32Array or Int32Array, dequantised the way
// tfjs-core's io.decodeWeights does (float16 halves; uint8/uint16 with scale and min).
import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';

export class TfjsModelError extends Error {}

/** One attribute value of a GraphDef node, as model.json stores it (int64 as strings, bytes as base64). */
export interface TfjsAttr {
  s?: string;
  i?: string | number;
  f?: number;
  b?: boolean;
  type?: string;
  list?: { s?: string[]; i?: (string | number)[]; f?: number[] };
  shape?: unknown;
  tensor?: unknown;
}

export interface TfjsNode {
  name: string;
  op: string;
  input?: string[];
  attr?: Record<string, TfjsAttr>;
}

export interface TfjsWeight {
  name: string;
  shape: number[];
  dtype: 'float32' | 'int32';
  data: Float32Array | Int32Array;
}

export interface TfjsWeightSpec {
  name: string;
  shape: number[];
  dtype: string;
  quantization?: { dtype: 'float16' | 'uint8' | 'uint16'; scale?: number; min?: number; original_dtype?: string };
}

export interface TfjsGraphModel {
  nodes: TfjsNode[];
  weights: Map<string, TfjsWeight>;
  /** What model.json says about itself (for the manifest's provenance). */
  generatedBy?: string;
  convertedBy?: string;
  /** The raw artefacts, for tfjs-converter's loader in the checker. */
  json: { modelTopology: unknown; weightsManifest: { paths: string[]; weights: TfjsWeightSpec[] }[]; format?: string };
  weightData: ArrayBuffer;
}

export const attrString = (a: TfjsAttr | undefined): string | undefined => (a?.s === undefined ? undefined : Buffer.from(a.s, 'base64').toString('utf8'));
export const attrInts = (a: TfjsAttr | undefined): number[] => (a?.list?.i ?? []).map(Number);
export const attrStrings = (a: TfjsAttr | undefined): string[] => (a?.list?.s ?? []).map((s) => Buffer.from(s, 'base64').toString('utf8'));

/** IEEE 754 half -> float. */
function halfToFloat(h: number): number {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const f = h & 0x3ff;
  if (e === 0) return s * 2 ** -14 * (f / 1024);
  if (e === 31) return f ? NaN : s * Infinity;
  return s * 2 ** (e - 15) * (1 + f / 1024);
}

const BYTES: Record<string, number> = { float32: 4, int32: 4, float16: 2, uint8: 1, uint16: 2 };

function decodeWeight(spec: TfjsWeightSpec, buf: ArrayBuffer, offset: number): { weight: TfjsWeight; bytes: number } {
  const size = spec.shape.reduce((a, b) => a * b, 1);
  const q = spec.quantization;
  const dtype = (q?.original_dtype ?? spec.dtype) as string;
  if (dtype !== 'float32' && dtype !== 'int32') throw new TfjsModelError(`weight ${spec.name}: dtype ${dtype} is not supported (float32 and int32 only)`);
  const stored = q?.dtype ?? spec.dtype;
  const bpe = BYTES[stored];
  if (bpe === undefined) throw new TfjsModelError(`weight ${spec.name}: stored as ${stored}, not supported`);
  const bytes = size * bpe;
  if (offset + bytes > buf.byteLength) throw new TfjsModelError(`weight ${spec.name} runs past the end of the weight files (${offset + bytes} > ${buf.byteLength} bytes)`);
  const view = new DataView(buf, offset, bytes);
  const out = dtype === 'int32' ? new Int32Array(size) : new Float32Array(size);
  for (let i = 0; i < size; i++) {
    let v: number;
    if (stored === 'float32') v = view.getFloat32(i * 4, true);
    else if (stored === 'int32') v = view.getInt32(i * 4, true);
    else if (stored === 'float16') v = halfToFloat(view.getUint16(i * 2, true));
    else if (stored === 'uint8') v = view.getUint8(i) * (q!.scale ?? 1) + (q!.min ?? 0);
    else v = view.getUint16(i * 2, true) * (q!.scale ?? 1) + (q!.min ?? 0);
    out[i] = v;
  }
  return { weight: { name: spec.name, shape: spec.shape, dtype, data: out }, bytes };
}

/** Read model.json and the weight shards it names (they sit beside it). */
export async function readTfjsGraphModel(modelJson: string): Promise<TfjsGraphModel> {
  let json: TfjsGraphModel['json'] & { generatedBy?: string; convertedBy?: string };
  try {
    json = JSON.parse(await readFile(modelJson, 'utf8'));
  } catch (err) {
    throw new TfjsModelError(`cannot read ${modelJson} as a TensorFlow.js model: ${(err as Error).message}`);
  }
  const topo = json.modelTopology as { node?: TfjsNode[] } | undefined;
  if (json.format !== 'graph-model' || !Array.isArray(topo?.node)) throw new TfjsModelError(`${modelJson} is not a TensorFlow.js graph model (format "${json.format ?? '?'}")`);
  if (!Array.isArray(json.weightsManifest)) throw new TfjsModelError(`${modelJson} has no weightsManifest`);
  const shards: Buffer[] = [];
  for (const group of json.weightsManifest) for (const p of group.paths) shards.push(await readFile(join(dirname(modelJson), p)));
  const all = Buffer.concat(shards);
  const weightData = all.buffer.slice(all.byteOffset, all.byteOffset + all.byteLength) as ArrayBuffer;
  const weights = new Map<string, TfjsWeight>();
  let offset = 0;
  for (const group of json.weightsManifest) {
    for (const spec of group.weights) {
      const { weight, bytes } = decodeWeight(spec, weightData, offset);
      weights.set(spec.name, weight);
      offset += bytes;
    }
  }
  return { nodes: topo!.node!, weights, generatedBy: json.generatedBy, convertedBy: json.convertedBy, json, weightData };
}
