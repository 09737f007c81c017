// What a model adapter factory receives. Adapters are built by the engine from a manifest entry
// whose bytes have already been hash-checked; they never read model files themselves.
import type { Config } from '../../config/schema.js';
import type { Logger } from '../../log.js';
import type { ModelEntry } from '../manifest.js';
import type { ort } from '../session.js';
import type { DetectorAdapter } from '../types.js';

export interface ModelContext {
  entry: ModelEntry;
  /** The model file's bytes, SHA-256 verified against the manifest. */
  bytes: Uint8Array;
  config: Config;
  log: Logger;
  /** Create a session with the configured execution providers and thread count. */
  openSession(bytes: Uint8Array): Promise<ort.InferenceSession>;
}

export type DetectorFactory = (ctx: ModelContext) => Promise<DetectorAdapter>;

/** A typed view of decoder params, with a clear error naming the model when one is missing. */
export function param<T>(entry: ModelEntry, key: string, check: (v: unknown) => v is T): T {
  const v = entry.decoder.params[key];
  if (!check(v)) throw new Error(`model ${entry.id}: decoder param "${key}" is missing or has the wrong type in the manifest`);
  return v;
}

export const isNumber = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
export const isString = (v: unknown): v is string => typeof v === 'string' && v.length > 0;
export const isNumberArray = (v: unknown): v is number[] => Array.isArray(v) && v.every(isNumber);
export const isNumberArrays = (v: unknown): v is number[][] => Array.isArray(v) && v.every(isNumberArray);
