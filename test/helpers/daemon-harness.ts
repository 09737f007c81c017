// A real daemon in a child process for the end-to-end tests (so UV_THREADPOOL_SIZE can be set
// before Node starts its thread pool, as systemd does for `lfr run`). Reads the config path from
// argv[2]; stdin takes JSON lines {cmd:'import',file} | {cmd:'status'} | {cmd:'stop'}; stdout
// gives JSON lines {ev:'ready'|'alert'|'status'|'imported'|'stopped'|'error', ...}.
// TEST-ONLY: with LFR_TEST_TEMPLATE_FILE set, every embedding is appended there before it is
// wiped, and the wiped buffers are checked for zeros (reported as ev:'wipecheck').
import { appendFileSync, writeFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { loadConfigFile } from '../../src/config/load.js';
import { createLogger } from '../../src/log.js';
import pino from 'pino';
import { Daemon } from '../../src/daemon.js';
import type { AlertCandidate } from '../../src/alerts/types.js';

const out = (o: object): void => void process.stdout.write(`${JSON.stringify(o)}\n`);
const cfg = loadConfigFile(process.argv[2]!);
const logFile = process.argv[3];
const log = logFile ? createLogger({ level: 'debug', destination: pino.destination({ dest: logFile, sync: true }) }) : createLogger({ level: 'warn' });
const tplFile = process.env.LFR_TEST_TEMPLATE_FILE;
if (tplFile) writeFileSync(tplFile, '');
let wipedBuffers = 0;
let nonZero = 0;
let n = 0;
const daemon = new Daemon({
  config: cfg,
  log,
  alerts: {
    async raise(c: AlertCandidate) {
      const id = `a${++n}`;
      out({ ev: 'alert', id, camera: c.camera, subjectRef: c.subjectRef, score: c.score, trackId: c.trackId, latencyMs: Date.now() - c.capturedAt, faceJpegBytes: c.faceJpeg.length });
      return id;
    },
  },
  ...(tplFile
    ? {
        testHooks: {
          testTemplateHook: (e: Float32Array) => appendFileSync(tplFile, Buffer.from(e.buffer, e.byteOffset, e.byteLength)),
          testWipedHook: (bufs: Array<Uint8Array | Float32Array>) => {
            for (const b of bufs) {
              wipedBuffers++;
              if (b.some((v) => v !== 0)) nonZero++;
            }
          },
        },
      }
    : {}),
});
const ac = new AbortController();
await daemon.start(ac.signal);
out({ ev: 'ready' });
for await (const line of createInterface({ input: process.stdin })) {
  const m = JSON.parse(line) as { cmd: string; file?: string };
  try {
    if (m.cmd === 'import') {
      const r = await daemon.watchlist.importFile(m.file!);
      out({ ev: 'imported', subjects: r.composition.subjects });
    } else if (m.cmd === 'status') out({ ev: 'status', ...daemon.status(), wipedBuffers, nonZero });
    else if (m.cmd === 'stop') break;
  } catch (err) {
    out({ ev: 'error', message: (err as Error).message });
  }
}
await daemon.stop();
out({ ev: 'stopped', wipedBuffers, nonZero });
process.exit(0);
