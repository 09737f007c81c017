// Non-match deletion, proven on the real daemon (own process), the real RTSP server and the real
// models: a stream of people who are not on the watchlist runs through; afterwards no file the
// daemon wrote (state dir, runtime dir, its debug-level log) holds any template it computed
// (captured through the test-only hook) or any JPEG data (FF D8 FF), and every crop and
// embedding buffer was zero after the decision.
import test from 'ava';
import { mkdtempSync, writeFileSync, readFileSync, readdirSync, statSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseConfig } from '../../src/config/load.js';
import { createFaceEngine } from '../../src/vision/engine.js';
import { silentLogger } from '../../src/log.js';
import { buildDemoBundle, cropReferenceFace, demoPhoto, makeDemoVideo } from '../../src/tools/demo/kit.js';
import { RtspServer, rtspServerAvailable } from '../helpers/rtsp.js';
import { DaemonProcess } from '../helpers/daemon-process.js';

const ready = rtspServerAvailable() && existsSync(demoPhoto(1));

function filesUnder(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir).flatMap((n) => {
    const p = path.join(dir, n);
    return statSync(p).isDirectory() ? filesUnder(p) : [p];
  });
}

test.serial('faces that do not match leave no template and no image in any file the daemon wrote', async (t) => {
  if (!ready) return t.pass('skipped: python3-gi RTSP server or demo photos missing');
  const dir = mkdtempSync(path.join(tmpdir(), 'lfr-nonmatch-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const base = parseConfig({});
  const engine = await createFaceEngine(base, silentLogger());
  const ref = await cropReferenceFace(engine, demoPhoto(1), base.quality.enrolment);
  await engine.close();
  const wl = await buildDemoBundle(path.join(dir, 'station'), ref);
  const video = path.join(dir, 'station', 'others.mp4');
  await makeDemoVideo(video, [`${demoPhoto(5)}:3`, `${demoPhoto(6)}:3`]);
  const server = await RtspServer.start({ mounts: { '/others': `file:${video}` } });
  t.teardown(() => server.stop());
  const stateDir = path.join(dir, 'state');
  const runtimeDir = path.join(dir, 'run');
  const logFile = path.join(dir, 'logs', 'daemon.log');
  const tplFile = path.join(dir, 'station', 'templates.bin'); // the test's own capture, not the daemon's
  writeFileSync(path.join(dir, 'lfr.json'), JSON.stringify({
    paths: { stateDir, runtimeDir },
    watchlist: { vanKeyFile: wl.vanKeyFile, trustedSigningKeys: [wl.signingPubFile] },
    cameras: [{ name: 'others', url: server.url('/others'), analysisFps: 5 }],
  }));
  const { mkdirSync } = await import('node:fs');
  mkdirSync(path.dirname(logFile), { recursive: true });
  const d = await DaemonProcess.start(path.join(dir, 'lfr.json'), { logFile, env: { LFR_TEST_TEMPLATE_FILE: tplFile } });
  t.teardown(() => void d.stop());
  d.send({ cmd: 'import', file: wl.bundle });
  await d.waitFor((e) => e.ev === 'imported', 60_000, 'watchlist import');
  await new Promise((r) => setTimeout(r, 9000)); // 1.5 loops of the video
  const st = await d.status();
  const stopped = await d.stop();
  const counters = st.counters as { facesAnalysed: number; embedded: number };
  t.true(counters.embedded >= 3, `faces were embedded and searched (${counters.embedded})`);
  t.false(d.events.some((e) => e.ev === 'alert'), 'nobody in this stream is on the watchlist');
  t.truthy(stopped);
  t.true(Number(stopped!.wipedBuffers) > counters.embedded, 'crops and embeddings were handed to wipe');
  t.is(stopped!.nonZero, 0, 'every wiped crop and embedding buffer is all zeros');

  const templates = readFileSync(tplFile);
  const size = 512 * 4;
  t.true(templates.length >= size * 3, 'templates captured');
  const written = [...filesUnder(stateDir), ...filesUnder(runtimeDir), logFile];
  t.true(written.length >= 2, `daemon wrote ${written.join(', ')}`);
  for (const f of written) {
    const bytes = readFileSync(f);
    t.is(bytes.indexOf(Buffer.from([0xff, 0xd8, 0xff])), -1, `JPEG data in ${path.basename(f)}`);
    // Any 32-byte window (8 floats) of any template would be an unlikely coincidence in ciphertext.
    for (let off = 0; off + size <= templates.length; off += size) {
      for (const w of [0, 1024, 2016]) {
        const needle = templates.subarray(off + w, off + w + 32);
        if (bytes.indexOf(needle) !== -1) t.fail(`template bytes found in ${path.basename(f)}`);
      }
    }
  }
});
