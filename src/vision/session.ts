// ONNX Runtime sessions and execution providers. The provider list is explicit and ordered from
// config (vision.executionProviders), CPU always last. A provider is used only when this build of
// onnxruntime-node has it AND its shared library is present (the CUDA/TensorRT libraries are an
// optional download, see hardware/README.md); anything skipped is named once in the start-up log
// so an operator can see that a van is running on CPU. WebGPU (Dawn over Vulkan) is bundled in
// the linux-x64 build of onnxruntime-node and needs only libvulkan.so.1 and a GPU's Vulkan driver.
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import type { Logger } from '../log.js';

export type ProviderName = 'tensorrt' | 'cuda' | 'webgpu' | 'cpu';

export interface ProviderChoice {
  /** Providers passed to ONNX Runtime, in order, 'cpu' last. */
  use: ProviderName[];
  /** Requested providers left out, with the reason. */
  skipped: { name: ProviderName; reason: string }[];
}

/** Where onnxruntime-node keeps libonnxruntime.so and the optional provider libraries. */
function bindingDir(): string | undefined {
  try {
    const req = createRequire(import.meta.url);
    const pkg = path.dirname(req.resolve('onnxruntime-node/package.json'));
    return path.join(pkg, 'bin', 'napi-v6', process.platform, process.arch);
  } catch {
    return undefined;
  }
}

/** What chooseProviders asks of the installed onnxruntime-node (injectable so tests need no GPU). */
export interface ProviderProbe {
  backends(): readonly { name: string; bundled: boolean }[];
  libraryExists(file: string): boolean;
  bindingDir(): string | undefined;
}

export const installedProviders: ProviderProbe = { backends: () => ort.listSupportedBackends(), libraryExists: existsSync, bindingDir };

/** Decide the provider list without creating a session (pure apart from probing the binding). */
export function chooseProviders(requested: readonly ProviderName[], probe: ProviderProbe = installedProviders): ProviderChoice {
  const supported = new Map(probe.backends().map((b) => [b.name, b.bundled]));
  const dir = probe.bindingDir();
  const use: ProviderName[] = [];
  const skipped: ProviderChoice['skipped'] = [];
  for (const name of requested) {
    if (name === 'cpu' || use.includes(name)) continue;
    if (!supported.has(name)) {
      skipped.push({ name, reason: 'not in this onnxruntime-node build' });
      continue;
    }
    const lib = dir ? path.join(dir, `libonnxruntime_providers_${name}.so`) : undefined;
    if (!supported.get(name) && !(lib && probe.libraryExists(lib))) {
      skipped.push({ name, reason: 'provider library not installed' });
      continue;
    }
    use.push(name);
  }
  use.push('cpu');
  return { use, skipped };
}

export interface SessionOptions {
  providers: ProviderChoice;
  intraOpThreads: number;
}

/**
 * Create a session from verified model bytes. If a GPU provider fails to initialise (driver,
 * CUDA version), fall back to CPU rather than leave the van blind, and say so.
 */
export async function createSession(
  bytes: Uint8Array,
  opts: SessionOptions,
  log: Logger,
  label: string,
  create: (b: Uint8Array, o: ort.InferenceSession.SessionOptions) => Promise<ort.InferenceSession> = (b, o) => ort.InferenceSession.create(b, o),
): Promise<ort.InferenceSession> {
  const base: ort.InferenceSession.SessionOptions = {
    intraOpNumThreads: opts.intraOpThreads,
    // Inter-op parallelism only helps graphs with parallel branches; these are sequential CNNs.
    interOpNumThreads: 1,
    graphOptimizationLevel: 'all',
    executionMode: 'sequential',
  };
  try {
    return await create(bytes, { ...base, executionProviders: opts.providers.use.map(providerOption) });
  } catch (err) {
    if (opts.providers.use.length === 1) throw err;
    log.warn({ err, model: label, providers: opts.providers.use }, 'execution provider failed to start; falling back to cpu');
    return create(bytes, { ...base, executionProviders: ['cpu'] });
  }
}

/**
 * The provider as ONNX Runtime is given it. WebGPU defaults to channels-last (NHWC) kernels, and
 * its layout transform fails on the landmark model's BatchNormalization ("Tensor must have at
 * least 3 dimensions to convert between channels first and channels last", onnxruntime-node
 * 1.22 and 1.30): the models are NCHW, so ask for NCHW.
 */
export function providerOption(name: ProviderName): ort.InferenceSession.ExecutionProviderConfig {
  return name === 'webgpu' ? { name: 'webgpu', preferredLayout: 'NCHW' } as ort.InferenceSession.ExecutionProviderConfig : name;
}

export function describeProviders(choice: ProviderChoice): string {
  const skipped = choice.skipped.map((s) => `${s.name} (${s.reason})`).join(', ');
  return `execution providers: using ${choice.use.join(' > ')}${skipped ? `; skipped ${skipped}` : ''}`;
}

export { ort };
