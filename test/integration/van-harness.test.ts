// The van harness itself (test/helpers/van.ts): `lfr run` with a real broker and a real RTSP
// camera, a bundle built by the station CLI, a deployment started with the CLI, an alert counted.
import { needs } from '../helpers/prereq.js';
import { Van, sleep } from '../helpers/van.js';
import { demoVideo, referenceFace } from '../helpers/faces.js';

const { serial } = needs(['mosquitto', 'rtsp', 'models', 'demo-photos']);

serial('harness: lfr run, station-built bundle, deployment started by the CLI, an alert counted', async (t) => {
  const video = await demoVideo('harness', [['black', 1], [1, 4]]);
  const van = await Van.create(t, { cameras: [{ name: 'north-1', video }] });
  const bundle = await van.buildBundle([{ ref: 'WL-1', images: [await referenceFace(1)] }]);
  await van.start();
  await van.startDeployment(['--watchlist', bundle]);
  const t0 = Date.now();
  let alerts = 0;
  while (alerts === 0 && Date.now() - t0 < 30_000) {
    await sleep(500);
    const st = await van.status();
    alerts = ((st.deployment as { counts: { alerts: number } } | null)?.counts.alerts) ?? 0;
  }
  t.true(alerts >= 1, van.log().slice(-2000));
  await van.endDeployment();
  const r = await van.stop();
  t.is(r.code, 0);
});
