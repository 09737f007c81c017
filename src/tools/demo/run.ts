// `lfr demo`: the WHOLE van on built-in material, built by the one composition root (src/daemon.ts)
// exactly as `lfr run` builds it; only the config differs (temp dirs, loopback ports, short
// retention). What it sets up first, as a station and a deployment team would:
//   - a watchlist bundle of ONE person, enrolled from demo photo 1 (the woman on the right) and
//     built and signed by the station's own builder for this van's key;
//   - a local RTSP camera streaming a video of OTHER photos: demo photo 3 shows the same woman in
//     a different photo (cosine 0.73 with the enrolled one; measured with the default models),
//     photo 5 shows people who are not on the list. The enrolled photo itself is never shown, so
//     an alert is a real match of two different photos, not a photo matched with itself;
//   - a real mosquitto on free loopback ports with a temporary CA and demo accounts (the project's
//     broker config and scripts, src/tools/broker.ts);
//   - the tablet page on a free port (the broker's certificate), alerts kept for `retentionSeconds`
//     so the running daemon's retention purges them during the demo.
// Then the daemon starts, a deployment is started with the bundle, and after `seconds` the
// deployment ends (results report) and the van stops. Every file lives in one temp dir.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Config } from '../../config/schema.js';
import { parseConfig } from '../../config/load.js';
import { createLogger, type Logger } from '../../log.js';
import { Daemon, type AlertNotice } from '../../daemon.js';
import { createFaceEngine } from '../../vision/engine.js';
import { wipe } from '../../crypto/secure.js';
import { freePort } from '../../util/net.js';
import type { DeploymentReport } from '../../deployment/types.js';
import { formatReport } from '../../deployment/report.js';
import { LocalBroker } from '../broker.js';
import { RtspServer } from '../rtsp-server.js';
import { buildDemoBundle, cropReferenceFace, demoPhoto, makeDemoVideo, runtimeDirFor } from './kit.js';

export interface DemoOptions {
  base: Config;
  seconds: number;
  /** Alert retention during the demo (the daemon's retention purges them while it runs). */
  retentionSeconds: number;
  keep: boolean;
  say: (line: string) => void;
  /** Resolves early to stop the demo (Ctrl-C). */
  interrupted: Promise<void>;
  log?: Logger;
}

export interface DemoResult {
  alertsRaised: number;
  alertsPurged: number;
  alertsStored: number;
  tabletUrl: string;
  tabletSignIn: { officer: string; password: string; caFile: string };
  auditIntact: boolean;
  auditEntries: number;
  alerts: Array<{ alertId: string; camera: string; score: number; latencyMs: number }>;
  counters: ReturnType<Daemon['status']>['counters'];
  camera: ReturnType<Daemon['status']>['cameras'][number] | null;
  report: DeploymentReport | null;
  order: string[];
  dir: string | null;
}

/** The enrolled photo and the photo shown to the camera: the same woman, two different photos. */
export const DEMO_ENROLLED_PHOTO = 1;
export const DEMO_MATCH_PHOTO = 3;
export const DEMO_STRANGERS_PHOTO = 5;

export async function runDemo(o: DemoOptions): Promise<DemoResult> {
  const dir = mkdtempSync(path.join(tmpdir(), 'lfr-demo-'));
  const { runDir, onTmpfs } = runtimeDirFor(dir, 'lfr-demo-run-');
  const log = o.log ?? createLogger({ level: 'warn' });
  let server: RtspServer | null = null;
  const broker = new LocalBroker();
  try {
    o.say('preparing: reference face, demo video, keys, signed watchlist bundle, broker ...');
    const engine = await createFaceEngine(o.base, createLogger({ level: 'warn' }));
    const ref = await cropReferenceFace(engine, demoPhoto(DEMO_ENROLLED_PHOTO), o.base.quality.enrolment).finally(() => engine.close());
    const wl = await buildDemoBundle(path.join(dir, 'station'), ref);
    wipe(ref);
    const video = path.join(dir, 'station', 'demo.mp4');
    // Nobody, the watchlisted woman (another photo of her), nobody, people not on the list.
    await makeDemoVideo(video, ['black:2', `${demoPhoto(DEMO_MATCH_PHOTO)}:5`, 'black:2', `${demoPhoto(DEMO_STRANGERS_PHOTO)}:4`]);
    server = await RtspServer.start({ mounts: { '/demo': `file:${video}` } });
    await broker.setup();
    const tabletPort = await freePort();
    const cfg = parseConfig({
      ...o.base,
      van: { id: 'demo-van' },
      paths: { ...o.base.paths, stateDir: path.join(dir, 'state'), runtimeDir: runDir },
      // Absolute: parseConfig (unlike loadConfig) does not resolve paths.
      watchlist: { ...o.base.watchlist, storeFile: path.join(runDir, 'watchlist.db'), vanKeyFile: wl.vanKeyFile, trustedSigningKeys: [wl.signingPubFile] },
      alerts: { ...o.base.alerts, storeFile: path.join(dir, 'state', 'alerts.db'), retentionHours: o.retentionSeconds / 3600, purgeIntervalSeconds: 10 },
      audit: { ...o.base.audit, file: path.join(dir, 'state', 'audit.db') },
      deployment: { ...o.base.deployment, file: path.join(dir, 'state', 'deployments.db') },
      // The broker's accounts and files as `lfr broker setup` wrote them (src/tools/broker.ts).
      mqtt: { ...o.base.mqtt, ...broker.fragment().mqtt },
      broker: broker.fragment().broker,
      tablet: { ...o.base.tablet, enabled: true, host: '127.0.0.1', port: tabletPort, ...broker.fragment().tabletCert, brokerWsPort: broker.wsPort },
      health: { ...o.base.health, metricsPort: 0 },
      cameras: [{ name: 'demo', url: server.url('/demo') }],
    });
    const tabletUrl = `https://127.0.0.1:${tabletPort}/`;
    const daemon = new Daemon({ config: cfg, log });
    const alerts: DemoResult['alerts'] = [];
    daemon.onAlert((a: AlertNotice) => {
      alerts.push({ alertId: a.alertId, camera: a.camera, score: Number(a.score.toFixed(3)), latencyMs: a.latencyMs });
      o.say(`ALERT ${a.alertId} ${new Date(a.capturedAt).toISOString()} camera=${a.camera} score=${a.score.toFixed(3)} frame-to-alert=${a.latencyMs} ms (stored encrypted, sent to the tablets)`);
    });
    const controller = new AbortController();
    let report: DeploymentReport | null = null;
    let purged = 0;
    let stored = 0;
    let verify = { ok: false, entries: 0 };
    let st = daemon.status();
    try {
      await daemon.start(controller.signal);
      o.say(`van running: ${daemon.order.join(' -> ')}`);
      o.say(`camera: ${server.url('/demo')} (looping)`);
      o.say(`tablet: ${tabletUrl}  sign in as "${broker.tablet.user}" with password ${broker.tablet.password} (trust the demo CA ${broker.caFile})`);
      if (!onTmpfs) o.say('note: /dev/shm is not a tmpfs here: the demo keeps its runtime folder on the disk and starts degraded (a van refuses this: paths.runtimeDir must be a tmpfs)');
      const dep = await daemon.deployments.startDeployment(
        { authorisationRef: 'DEMO-AUTH-1', authorisingOfficer: 'Demo Inspector', location: 'Demo rig', reason: 'built-in demo', watchlistFile: wl.bundle, threshold: cfg.match.threshold, endsAt: Date.now() + 3_600_000, ...(onTmpfs ? {} : { allowDegraded: true }) },
        'demo',
      );
      o.say(`deployment ${dep.id} started: watchlist of ${dep.watchlist.subjects} person, threshold ${dep.threshold}; running for ${o.seconds} s (Ctrl-C stops), alerts kept ${o.retentionSeconds} s`);
      await Promise.race([new Promise((r) => setTimeout(r, o.seconds * 1000).unref()), o.interrupted]);
      report = await daemon.deployments.endDeployment('ended_by_operator', 'demo');
      o.say(`deployment ended: ${report.facesAnalysed} faces analysed (counted, not stored), ${report.alerts} alerts, watchlist purged: ${report.watchlistPurged}`);
      // The results report a force publishes, exactly as `lfr deployment end` prints it.
      o.say(`\n${formatReport(report)}\n`);
    } finally {
      // Read what the van kept while it still runs, then stop it in order.
      try {
        purged = daemon.audit.list(10_000, 'alert.purged').length;
        stored = daemon.alerts.store.count();
        verify = daemon.audit.verify();
        st = daemon.status();
      } finally {
        await daemon.stop();
      }
    }
    o.say(`stopped: ${alerts.length} alerts raised, ${purged} purged by the running daemon, ${stored} still stored at exit; audit chain ${verify.ok ? 'intact' : 'BROKEN'} (${verify.entries} entries)`);
    return {
      alertsRaised: alerts.length,
      alertsPurged: purged,
      alertsStored: stored,
      tabletUrl,
      tabletSignIn: { officer: broker.tablet.user, password: broker.tablet.password, caFile: broker.caFile },
      auditIntact: verify.ok,
      auditEntries: verify.entries,
      alerts,
      counters: st.counters,
      camera: st.cameras[0] ?? null,
      report,
      order: daemon.order,
      dir: o.keep ? dir : null,
    };
  } finally {
    await server?.stop();
    await broker.cleanup();
    if (o.keep) o.say(`demo folder kept: ${dir}${onTmpfs ? ` (runtime folder ${runDir})` : ''}`);
    else {
      rmSync(dir, { recursive: true, force: true });
      if (onTmpfs) rmSync(runDir, { recursive: true, force: true });
    }
  }
}
