// file:// cameras (lfr eval video, benchmarks) and the demo video: scripts/make-demo-video.sh
// builds an MP4 from a demo photo; decoded "fast" every frame arrives exactly once; served by
// scripts/rtsp-server.py the file loops past its end.
import { execFileSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { CameraManager } from '../../src/ingest/manager.js';
import { configSchema } from '../../src/config/schema.js';
import { silentLogger } from '../../src/log.js';
import { RtspServer } from '../helpers/rtsp.js';
import { needs } from '../helpers/prereq.js';
import { INSTALL_ROOT } from '../../src/paths.js';
import { DEMO_PHOTO_DIR } from '../../src/tools/demo/photos.js';

const root = INSTALL_ROOT;
const photo = path.join(DEMO_PHOTO_DIR, 'sample1.jpg');

function makeVideo(): string {
  const out = path.join(mkdtempSync(path.join(tmpdir(), 'ingest-video-')), 'demo.mp4');
  execFileSync(path.join(root, 'scripts/make-demo-video.sh'), [out, '--size', '640x360', '--fps', '25', 'black:1', `${photo}:1`], { stdio: 'pipe' });
  return out;
}

// Under CI a missing part FAILS these tests (test/helpers/prereq.ts); it used to skip them
// silently whenever the RTSP helper was missing (issue 20 item 13).
const file = needs(['demo-photos', 'gstreamer']);
const rtsp = needs(['demo-photos', 'gstreamer', 'rtsp']);

file.serial('make-demo-video + file:// fast: every frame of the 2 s video exactly once, then ended', async (t) => {
  const video = makeVideo();
  const c = configSchema.parse({ cameras: [{ name: 'file', url: `file://${video}`, analysisWidth: 320, analysisFps: 25 }] });
  const m = new CameraManager({ cameras: c.cameras, ingest: c.ingest, log: silentLogger(), fileDelivery: 'fast' });
  t.teardown(() => m.stop());
  const seqs: number[] = [];
  let bright = 0;
  m.onFrame(async (f) => {
    seqs.push(f.seq);
    // Mean brightness tells the black second from the photo second.
    let sum = 0;
    for (let i = 0; i < f.image.data.length; i += 97) sum += f.image.data[i]!;
    if (sum / (f.image.data.length / 97) > 8) bright++; // black is ~0, the (dark) photo ~30
    await new Promise((r) => setTimeout(r, 2)); // a consumer slower than the decoder loses nothing
    m.releaseFrame(f);
  });
  await m.start(new AbortController().signal);
  await m.drained();
  t.deepEqual(seqs, Array.from({ length: 50 }, (_, i) => i));
  t.true(bright >= 20 && bright <= 30, `photo frames: ${bright}`);
  const s = m.stats()[0]!;
  t.is(s.state, 'ended');
  t.is(s.dropped, 0);
  t.is(s.analysed, 50);
});

rtsp.serial('a file served by rtsp-server.py loops: frames keep coming after its 2 s end', async (t) => {
  const video = makeVideo();
  const server = await RtspServer.start({ mounts: { '/demo': `file:${video}` } });
  t.teardown(() => server.stop());
  const c = configSchema.parse({ cameras: [{ name: 'demo', url: server.url('/demo'), analysisWidth: 320, analysisFps: 10 }] });
  const m = new CameraManager({ cameras: c.cameras, ingest: c.ingest, log: silentLogger() });
  t.teardown(() => m.stop());
  let n = 0;
  m.onFrame((f) => {
    n++;
    m.releaseFrame(f);
  });
  await m.start(new AbortController().signal);
  const end = Date.now() + 15_000;
  while (n < 45 && Date.now() < end) await new Promise((r) => setTimeout(r, 100));
  t.true(n >= 45, `${n} frames at 10 fps: more than the 2 s file holds`);
  t.is(m.stats()[0]!.state, 'live');
});
