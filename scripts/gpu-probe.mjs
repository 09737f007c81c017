#!/usr/bin/env node
// One execution provider of one onnxruntime-node, tried on the product's models: does it load,
// why not (each missing shared library named, never a stack trace), how long a run takes, and
// whether session.run() blocks the calling thread (upstream issue 19611: run() is setImmediate
// around a synchronous native call). Used by scripts/gpu-run.sh, one process per provider so a
// provider that crashes takes only its own probe down. Prints one JSON object on stdout.
//
//   node scripts/gpu-probe.mjs --ort DIR/onnxruntime-node --models DIR --ep cpu|webgpu|cuda|tensorrt [--runs N]
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';

const args = Object.fromEntries(
  process.argv.slice(2).reduce((acc, a, i, all) => (a.startsWith('--') ? [...acc, [a.slice(2), all[i + 1]]] : acc), []),
);
const ortDir = path.resolve(args.ort ?? 'node_modules/onnxruntime-node');
const modelsDir = path.resolve(args.models ?? 'models');
const ep = args.ep ?? 'cpu';
const runs = Number(args.runs ?? 30);

const out = { ep, ortDir, ortVersion: null, backends: null, loads: false, reason: null, missingLibraries: [], models: {}, runBlocksEventLoop: null };
const print = () => process.stdout.write(JSON.stringify(out) + '\n');

/** First line of an ONNX Runtime error, without ANSI colours, source paths or stack. */
function plain(err) {
  const s = String(err?.message ?? err).replace(/\x1b\[[0-9;]*m/g, '');
  const lib = s.match(/([\w.+-]+\.so(?:\.\d+)*): cannot open shared object file/);
  if (lib) return `shared library ${lib[1]} not found`;
  const line = s.split('\n').map((l) => l.trim()).find((l) => l.length > 0) ?? 'unknown error';
  return line.replace(/\/onnxruntime_src\/\S+:\d+\s*/g, '').replace(/^.*\[ONNXRuntimeError\] : \d+ : \w+ : /, '').slice(0, 300);
}

/** Shared libraries a provider library needs that the loader cannot find (ldd "not found"). */
function missingOf(file) {
  if (!existsSync(file)) return [];
  const r = spawnSync('ldd', [file], { encoding: 'utf8', timeout: 10_000 });
  return [...(r.stdout ?? '').matchAll(/^\s*(\S+) => not found/gm)].map((m) => m[1]);
}

// What each model is fed: the product's input sizes (manifest.json), random data.
const MODELS = [
  { key: 'detector', file: 'fr_detect.onnx', shape: [1, 3, 240, 320] },
  { key: 'detector-int8', file: 'fr_detect.int8.onnx', shape: [1, 3, 240, 320] },
  { key: 'landmarks', file: 'fr_landmark.onnx', shape: [1, 1, 64, 64] },
  { key: 'embedder', file: 'fr_feature.onnx', shape: [1, 3, 112, 112] },
  { key: 'embedder-int8', file: 'fr_feature.int8.onnx', shape: [1, 3, 112, 112] },
];

const median = (v) => {
  const s = [...v].sort((a, b) => a - b);
  return s.length === 0 ? null : Math.round(s[s.length >> 1] * 100) / 100;
};

async function main() {
  let ort;
  try {
    ort = createRequire(path.join(ortDir, 'package.json'))(ortDir);
    out.ortVersion = JSON.parse(readFileSync(path.join(ortDir, 'package.json'), 'utf8')).version;
    out.backends = ort.listSupportedBackends();
  } catch (err) {
    out.reason = `onnxruntime-node cannot be loaded: ${plain(err)}`;
    return;
  }
  const bin = path.join(ortDir, 'bin', 'napi-v6', process.platform, process.arch);
  const backend = out.backends.find((b) => b.name === ep);
  if (!backend) {
    out.reason = `${ep} is not in this onnxruntime-node build`;
    return;
  }
  if (ep === 'cuda' || ep === 'tensorrt') {
    // Not bundled: onnxruntime-node's postinstall fetches them from NuGet (CUDA 12 builds).
    const need = [`libonnxruntime_providers_${ep}.so`, 'libonnxruntime_providers_shared.so'];
    const absent = need.filter((f) => !existsSync(path.join(bin, f)));
    if (absent.length) {
      out.reason = `${absent.join(' and ')} not in the package: onnxruntime-node downloads them at install time (NuGet Microsoft.ML.OnnxRuntime.Gpu.Linux), which needs internet`;
      out.missingLibraries = absent;
      return;
    }
    out.missingLibraries = [...new Set(need.flatMap((f) => missingOf(path.join(bin, f))))];
  }
  const epOption = ep === 'webgpu' ? { name: 'webgpu', preferredLayout: 'NCHW' } : ep;
  for (const m of MODELS) {
    const file = path.join(modelsDir, m.file);
    if (!existsSync(file)) continue;
    const r = { loads: false };
    out.models[m.key] = r;
    try {
      const t0 = performance.now();
      const session = await ort.InferenceSession.create(readFileSync(file), { executionProviders: [epOption], intraOpNumThreads: 1, graphOptimizationLevel: 'all' });
      r.createMs = Math.round(performance.now() - t0);
      r.loads = true;
      const n = m.shape.reduce((a, b) => a * b, 1);
      const data = new Float32Array(n);
      for (let i = 0; i < n; i++) data[i] = Math.sin(i * 0.37);
      const feeds = { [session.inputNames[0]]: new ort.Tensor('float32', data, m.shape) };
      await session.run(feeds); // warm-up (shader compilation, allocator)
      const ms = [];
      const cpu0 = process.cpuUsage();
      for (let i = 0; i < runs; i++) {
        const t = performance.now();
        await session.run(feeds);
        ms.push(performance.now() - t);
      }
      const cpu = process.cpuUsage(cpu0);
      r.runMsMedian = median(ms);
      r.cpuMsPerRun = Math.round(((cpu.user + cpu.system) / 1000 / runs) * 100) / 100;
      // Does run() block the thread that calls it? A 1 ms timer during 10 runs: if the longest
      // gap between its ticks is about a whole run, the event loop was held for the run.
      if (out.runBlocksEventLoop === null && m.key.startsWith('embedder')) {
        let last = performance.now();
        let maxGap = 0;
        const timer = setInterval(() => {
          const now = performance.now();
          maxGap = Math.max(maxGap, now - last);
          last = now;
        }, 1);
        const runMs = [];
        for (let i = 0; i < 10; i++) {
          const t = performance.now();
          await session.run(feeds);
          runMs.push(performance.now() - t);
          await new Promise((res) => setTimeout(res, 5));
        }
        clearInterval(timer);
        const rm = median(runMs);
        out.runBlocksEventLoop = { model: m.key, runMsMedian: rm, maxTimerGapMs: Math.round(maxGap * 100) / 100, blocks: maxGap >= 0.8 * rm && rm > 2 };
      }
      await session.release?.();
    } catch (err) {
      r.reason = plain(err);
    }
  }
  const results = Object.values(out.models);
  out.loads = results.length > 0 && results.some((r) => r.loads);
  if (!out.loads) out.reason = results.find((r) => r.reason)?.reason ?? 'no model found to try';
}

// Quiet ONNX Runtime's own warnings on stderr (node assignment notes); errors still reach us.
process.env.ORT_LOGGING_LEVEL ??= '3';
main()
  .catch((err) => {
    out.reason = plain(err);
  })
  .finally(print);
