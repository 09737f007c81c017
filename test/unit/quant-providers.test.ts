// Execution-provider selection without a GPU: the probe of the installed onnxruntime-node is
// replaced by fakes describing a CPU-only install, a CUDA box and a CUDA + TensorRT box.
import test from 'ava';
import pino from 'pino';
import { Writable } from 'node:stream';
import { chooseProviders, createSession, describeProviders, type ProviderProbe } from '../../src/vision/session.js';
import type { ort } from '../../src/vision/session.js';

const probe = (libs: string[]): ProviderProbe => ({
  // What onnxruntime-node 1.22 reports on linux-x64: cuda/tensorrt are known but not bundled.
  backends: () => [
    { name: 'cpu', bundled: true },
    { name: 'cuda', bundled: false },
    { name: 'tensorrt', bundled: false },
  ],
  libraryExists: (file) => libs.some((l) => file.endsWith(`libonnxruntime_providers_${l}.so`)),
  bindingDir: () => '/opt/ort/bin',
});

test('CPU-only install: cuda and tensorrt are skipped with a reason, cpu is used', (t) => {
  const c = chooseProviders(['tensorrt', 'cuda', 'cpu'], probe([]));
  t.deepEqual(c.use, ['cpu']);
  t.deepEqual(c.skipped.map((s) => [s.name, s.reason]), [
    ['tensorrt', 'provider library not installed'],
    ['cuda', 'provider library not installed'],
  ]);
  t.regex(describeProviders(c), /using cpu; skipped tensorrt \(provider library not installed\), cuda/);
});

test('a CUDA box uses cuda then cpu; TensorRT is used only where its library is present', (t) => {
  t.deepEqual(chooseProviders(['tensorrt', 'cuda', 'cpu'], probe(['cuda'])).use, ['cuda', 'cpu']);
  t.deepEqual(chooseProviders(['tensorrt', 'cuda'], probe(['cuda', 'tensorrt'])).use, ['tensorrt', 'cuda', 'cpu'], 'cpu is appended last even when not listed');
  t.deepEqual(chooseProviders(['cpu', 'cuda', 'cuda'], probe(['cuda'])).use, ['cuda', 'cpu'], 'cpu is always last, duplicates dropped');
});

test('a build without the provider names it as such', (t) => {
  const bare: ProviderProbe = { backends: () => [{ name: 'cpu', bundled: true }], libraryExists: () => true, bindingDir: () => undefined };
  t.deepEqual(chooseProviders(['cuda', 'cpu'], bare).skipped, [{ name: 'cuda', reason: 'not in this onnxruntime-node build' }]);
});

test('a GPU provider that fails to start falls back to cpu with a warning naming the model', async (t) => {
  const lines: string[] = [];
  const log = pino({ level: 'info' }, new Writable({ write: (c: Buffer, _e, cb) => (lines.push(c.toString()), cb()) }));
  const calls: unknown[] = [];
  const fake = { tag: 'session' } as unknown as ort.InferenceSession;
  const create = async (_b: Uint8Array, o: ort.InferenceSession.SessionOptions) => {
    calls.push(o.executionProviders);
    if ((o.executionProviders as string[]).includes('cuda')) throw new Error('CUDA driver version is insufficient');
    return fake;
  };
  const s = await createSession(new Uint8Array(1), { providers: { use: ['cuda', 'cpu'], skipped: [] }, intraOpThreads: 1 }, log, 'faceplugin-feature-int8', create);
  t.is(s, fake);
  t.deepEqual(calls, [['cuda', 'cpu'], ['cpu']]);
  const warn = JSON.parse(lines.find((l) => l.includes('falling back'))!);
  t.is(warn.level, 40);
  t.is(warn.model, 'faceplugin-feature-int8');
  t.regex(warn.msg, /falling back to cpu/);
});

test('cpu alone is not retried: its error reaches the caller', async (t) => {
  const create = async () => {
    throw new Error('bad model');
  };
  await t.throwsAsync(createSession(new Uint8Array(1), { providers: { use: ['cpu'], skipped: [] }, intraOpThreads: 1 }, pino({ level: 'silent' }), 'x', create), { message: 'bad model' });
});
