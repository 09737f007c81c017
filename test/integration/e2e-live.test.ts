// End to end on the running van (`lfr run` through the one composition root): a real RTSP server,
// the real models, a bundle built by the station CLI of one person cropped from an MIT demo photo,
// a real broker with a tablet subscribed to alerts. One daemon, three cameras: a stream showing the
// watchlisted person, a stream of people not on the watchlist, and an unreachable URL. Then the
// RTSP server is killed and restarted: the camera comes back and alerts resume.
import { needs } from '../helpers/prereq.js';
import { Van, sleep } from '../helpers/van.js';
import { demoVideo, referenceFace } from '../helpers/faces.js';
import { freePort } from '../../src/util/net.js';

const { serial } = needs(['mosquitto', 'rtsp', 'models', 'demo-photos']);

serial('watchlisted person alerts within seconds; others do not; an unreachable camera is reported; alerts resume after the camera server restarts', async (t) => {
  // 4 s of the group photo with the watchlisted person, then 2 s of nobody: each loop is a new pass.
  const match = await demoVideo('live-match', [[1, 4], ['black', 2]]);
  const other = await demoVideo('live-other', [[4, 4], ['black', 1]]);
  const van = await Van.create(t, {
    cameras: [
      { name: 'match', video: match },
      { name: 'other', video: other },
      { name: 'dead', url: `rtsp://127.0.0.1:${await freePort()}/nothing` },
    ],
    config: {
      // cooldown 0: after the restart the same person must alert again (a new track).
      match: { cooldownSeconds: 0 },
      ingest: { stallTimeoutMs: 2000, backoffInitialMs: 300, backoffMaxMs: 1500 },
    },
  });
  (van.config.cameras as Array<Record<string, unknown>>).slice(0, 2).forEach((c) => (c.analysisFps = 5));
  van.writeConfig();
  const bundle = await van.buildBundle([{ ref: 'WL-1', category: 'wanted', images: [await referenceFace(1)] }]);
  const feed = await van.alertFeed(t);
  await van.start();
  // The dead camera makes the van not ready: started degraded, on purpose (recorded).
  await van.startDeployment(['--watchlist', bundle, '--allow-degraded']);
  const startedAt = Date.now();
  while (feed.alerts.length === 0) {
    if (Date.now() - startedAt > 20_000) return t.fail(`no alert within 20 s: ${van.log().slice(-2000)}`);
    await sleep(100);
  }
  const first = feed.alerts[0]!;
  t.log(`first alert ${((Date.now() - startedAt) / 1000).toFixed(1)} s after the deployment started`);
  t.is(first.camera, 'match');

  // Let both streams loop at least once more; nobody from the other stream may alert.
  await sleep(7000);
  const st = await van.status();
  const by = Object.fromEntries((st.cameras as Array<{ name: string; state: string }>).map((c) => [c.name, c]));
  t.is(by.match?.state, 'live');
  t.is(by.other?.state, 'live', 'a dead camera does not disturb the others');
  t.not(by.dead?.state, 'live');
  const health = await van.cliJson<{ checks: Array<{ name: string; level: string; message: string }> }>(['health'], [0, 1]);
  const dead = health.checks.find((c) => c.name.includes('dead'));
  t.is(dead?.level, 'FAIL', JSON.stringify(health.checks));
  t.truthy(dead?.message, 'the unreachable camera is reported in plain words');
  t.false(feed.alerts.some((a) => a.camera !== 'match'), 'nobody on the other stream raised an alert');
  t.true(((st.analysis as { facesAnalysed: number }).facesAnalysed) > 10);

  // Kill the server (no TEARDOWN), restart it on the same port: the camera reconnects and a new
  // pass of the person alerts again.
  const server = van.rtsp[0]!;
  await server.kill();
  const before = feed.alerts.length;
  await sleep(3000);
  await server.restart();
  const t1 = Date.now();
  while (!feed.alerts.slice(before).some((a) => a.camera === 'match')) {
    if (Date.now() - t1 > 30_000) return t.fail(`no alert after the camera came back: ${van.log().slice(-2000)}`);
    await sleep(200);
  }
  t.pass('alerts resumed after the camera server restarted');
  t.is((await van.stop()).code, 0);
});
