// TEST-ONLY inference worker entry (never used by the product): the real worker of
// src/vision/pool/worker.ts, except that the first incarnation of worker 0 misbehaves on its
// third frame: it throws (as a worker hit by a bug or an out-of-memory dies), or with
// $LFR_TEST_CRASH_MODE=hang it blocks its thread for 4 s (as a run stuck in native code). A
// marker file in $LFR_TEST_CRASH_DIR makes it happen once, so the restarted worker lives.
import { existsSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parentPort, workerData } from 'node:worker_threads';

const marker = path.join(process.env.LFR_TEST_CRASH_DIR ?? '/nonexistent', `crashed-${(workerData as { index: number }).index}`);
let frames = 0;
if ((workerData as { index: number }).index === 0 && process.env.LFR_TEST_CRASH_DIR && !existsSync(marker)) {
  parentPort!.on('message', (m: { t: string }) => {
    if (m.t === 'analyse' && ++frames === 3) {
      writeFileSync(marker, '');
      if (process.env.LFR_TEST_CRASH_MODE === 'hang') Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 4000);
      else throw new Error('simulated worker crash (test)');
    }
  });
}
await import('../../src/vision/pool/worker.js');
