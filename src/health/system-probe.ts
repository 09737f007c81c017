// readSystemFacts in a short-lived worker thread. systeminformation answers GPU and some CPU
// questions with execSync (dmidecode, lspci, nvidia-smi): run on the daemon's event loop, each
// health refresh blocked MQTT, the control socket and the tablet page for as long as those
// programs took. In a worker only that thread waits; a probe that hangs is abandoned.
import { Worker } from 'node:worker_threads';
import type { SystemFacts } from './types.js';

const WORKER = `
const { parentPort, workerData } = require('node:worker_threads');
import(workerData.module).then((m) => m.readSystemFacts(workerData.paths)).then(
  (facts) => parentPort.postMessage({ facts }),
  (err) => parentPort.postMessage({ error: String(err && err.message || err) }),
);
`;

export function readSystemFactsOffLoop(paths: readonly string[], timeoutMs = 20_000): Promise<SystemFacts> {
  return new Promise((resolve, reject) => {
    const w = new Worker(WORKER, { eval: true, workerData: { module: new URL('./system.js', import.meta.url).href, paths: [...paths] } });
    const timer = setTimeout(() => {
      void w.terminate();
      reject(new Error(`system probe took over ${timeoutMs} ms`));
    }, timeoutMs);
    w.once('message', (m: { facts?: SystemFacts; error?: string }) => {
      clearTimeout(timer);
      void w.terminate();
      if (m.facts) resolve(m.facts);
      else reject(new Error(m.error ?? 'system probe failed'));
    });
    w.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
  });
}
