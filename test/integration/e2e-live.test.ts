// End to end: a real RTSP server (gst-rtsp-server), the real daemon in its own process, the real
// models, a real signed and encrypted watchlist bundle of one person cropped from an MIT demo
// photo. One daemon, three cameras: a stream showing the watchlisted person, a stream of people
// not on the watchlist, and an unreachable URL. Then the server is killed and restarted.
import test from 'ava';
import { mkdtempSync, writeFileSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseConfig } from '../../src/config/load.js';
import { createFaceEngine } from '../../src/vision/engine.js';
import { silentLogger } from '../../src/log.js';
import { buildDemoBundle, cropReferenceFace, demoPhoto, makeDemoVideo } from '../../src/tools/demo/kit.js';
import { RtspServer, freePort, rtspServerAvailable } from '../helpers/rtsp.js';
import { DaemonProcess } from '../helpers/daemon-process.js';

const ready = rtspServerAvailable() && existsSync(demoPhoto(1));

test.serial('watchlisted person alerts within seconds; others do not; unreachable camera is reported; alerts resume after the server restarts', async (t) => {
  if (!ready) return t.pass('skipped: python3-gi RTSP server or demo photos missing');
  const dir = mkdtempSync(path.join(tmpdir(), 'lfr-e2e-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const base = parseConfig({});
  const engine = await createFaceEngine(base, silentLogger());
  const ref = await cropReferenceFace(engine, demoPhoto(1), base.quality.enrolment);
  await engine.close();
  const wl = await buildDemoBundle(dir, ref);
  const matchVideo = path.join(dir, 'match.mp4');
  const otherVideo = path.join(dir, 'other.mp4');
  // 4 s of the group photo with the watchlisted person, then 2 s of nobody: each loop is a new pass.
  await makeDemoVideo(matchVideo, [`${demoPhoto(1)}:4`, 'black:2']);
  await makeDemoVideo(otherVideo, [`${demoPhoto(4)}:4`, 'black:1']);
  const server = await RtspServer.start({ mounts: { '/match': `file:${matchVideo}`, '/other': `file:${otherVideo}` } });
  t.teardown(() => server.stop());
  const deadPort = await freePort();
  const cfgFile = path.join(dir, 'lfr.json');
  writeFileSync(
    cfgFile,
    JSON.stringify({
      paths: { stateDir: path.join(dir, 'state'), runtimeDir: path.join(dir, 'run') },
      watchlist: { vanKeyFile: wl.vanKeyFile, trustedSigningKeys: [wl.signingPubFile] },
      // cooldown 0: after the restart the same person must alert again (a new track).
      match: { cooldownSeconds: 0 },
      ingest: { stallTimeoutMs: 2000, backoffInitialMs: 300, backoffMaxMs: 1500 },
      cameras: [
        { name: 'match', url: server.url('/match'), analysisFps: 5 },
        { name: 'other', url: server.url('/other'), analysisFps: 5 },
        { name: 'dead', url: `rtsp://127.0.0.1:${deadPort}/nothing` },
      ],
    }),
  );
  const d = await DaemonProcess.start(cfgFile);
  t.teardown(() => void d.stop());
  d.send({ cmd: 'import', file: wl.bundle });
  await d.waitFor((e) => e.ev === 'imported', 60_000, 'watchlist import');
  const importedAt = Date.now();
  const first = await d.waitFor((e) => e.ev === 'alert', 20_000, 'first alert');
  const secondsToAlert = (Date.now() - importedAt) / 1000;
  t.log(`first alert ${secondsToAlert.toFixed(1)} s after import, score ${Number(first.score).toFixed(3)}, frame-to-decision ${first.latencyMs} ms`);
  t.is(first.camera, 'match');
  t.is(first.subjectRef, 'DEMO-1');
  t.true(Number(first.faceJpegBytes) > 0);
  t.true(secondsToAlert < 12, `alert took ${secondsToAlert} s`);

  // Let both streams loop at least once more; nobody from the other stream may alert.
  await new Promise((r) => setTimeout(r, 7000));
  const st = await d.status();
  const cams = st.cameras as Array<{ camera: string; state: string; lastError: string | null }>;
  const by = Object.fromEntries(cams.map((c) => [c.camera, c]));
  t.is(by.match?.state, 'live');
  t.is(by.other?.state, 'live', 'a dead camera does not disturb the others');
  t.not(by.dead?.state, 'live');
  t.truthy(by.dead?.lastError, 'the unreachable camera is reported');
  t.false(d.events.some((e) => e.ev === 'alert' && e.camera !== 'match'), 'nobody on the other stream raised an alert');
  const counters = st.counters as { facesAnalysed: number; tracks: number };
  t.true(counters.facesAnalysed > 10);

  // Kill the server (no TEARDOWN), restart it on the same port: the camera reconnects and a
  // new pass of the person alerts again.
  await server.kill();
  const killedAt = d.events.length;
  await new Promise((r) => setTimeout(r, 3000));
  await server.restart();
  const again = await d.waitFor((e) => e.ev === 'alert' && e.camera === 'match', 30_000, 'alert after restart', killedAt);
  t.is(again.subjectRef, 'DEMO-1');
  const after = await d.status();
  t.true((after.cameras as Array<{ camera: string; reconnects: number }>).find((c) => c.camera === 'match')!.reconnects >= 1);
  const stopped = await d.stop();
  t.truthy(stopped, 'daemon stopped cleanly');
});
