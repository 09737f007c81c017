// Decoder processes never outlive the daemon (found by the red team: a decoder whose daemon was
// SIGKILLed hung in its exit, joining the libuv threads GStreamer blocks, and went on decoding an
// orphaned camera). Real `lfr run` (test/helpers/van.ts), real RTSP cameras: kill -9 the daemon,
// its decoder processes are gone within seconds.
import { readdirSync, readFileSync } from 'node:fs';
import { needs } from '../helpers/prereq.js';
import { Van, sleep } from '../helpers/van.js';
import { demoVideo } from '../helpers/faces.js';

const { serial } = needs(['rtsp', 'models', 'demo-photos']);

/** Live (not zombie) processes whose parent is `ppid` and that run the decoder entry. */
function decoders(ppid?: number): number[] {
  const out: number[] = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (f[0] === 'Z') continue;
      if (ppid !== undefined && Number(f[1]) !== ppid) continue;
      if (readFileSync(`/proc/${d}/cmdline`, 'utf8').includes('decoder-process')) out.push(Number(d));
    } catch {
      /* gone meanwhile */
    }
  }
  return out;
}

const alive = (pid: number): boolean => {
  try {
    const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return s.slice(s.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
};

serial('kill -9 of lfr run: its decoder processes are gone within seconds', async (t) => {
  const video = await demoVideo('decoders', [[2, 2]]);
  const van = await Van.create(t, { broker: false, cameras: [{ name: 'a', video }, { name: 'b', video }], config: { deployment: { required: false } } });
  await van.start();
  const pid = van.pid!;
  let kids: number[] = [];
  const t0 = Date.now();
  while (kids.length < 2 && Date.now() - t0 < 30_000) {
    await sleep(200);
    kids = decoders(pid);
  }
  t.is(kids.length, 2, `one decoder process per camera: ${kids.join(',')}`);
  process.kill(pid, 'SIGKILL');
  const t1 = Date.now();
  while (kids.some(alive) && Date.now() - t1 < 10_000) await sleep(100);
  t.deepEqual(kids.filter(alive), [], `decoders left after the daemon died: ${kids.filter(alive).join(',')}`);
  t.true(Date.now() - t1 < 10_000);
});
