// Issue 20 item 11: a failed camera shows where to look, its URL, with every credential taken
// out, in `lfr status` and `lfr health` text; the status topic (tablets, HQ) carries no URL.
import test from 'ava';
import { credentialFreeUrl } from '../../src/ingest/safe-url.js';
import { buildStatus, cameraFactsFromStats, formatStatus, toStatusPayload } from '../../src/health/status.js';
import { checkCamera, evaluate, formatReport } from '../../src/health/probes.js';
import type { HealthThresholds } from '../../src/health/types.js';

const T: HealthThresholds = { maxCpuTempC: 85, minFreeDiskMb: 500, maxLoadPerCore: 1.5, minFreeMemMb: 512, maxGpuTempC: 87, minCameraFps: 2, warnWatchlistExpiryMinutes: 60 };

test('credentials leave the URL: user-info, credential query parameters; the place stays', (t) => {
  t.is(credentialFreeUrl('rtsp://user:pass@10.0.0.21:554/stream1'), 'rtsp://10.0.0.21:554/stream1');
  t.is(credentialFreeUrl('rtsp://admin@cam.local/live'), 'rtsp://cam.local/live');
  t.is(credentialFreeUrl('rtsp://u:p@ss@10.0.0.5/x'), 'rtsp://10.0.0.5/x', 'an unescaped @ in the password');
  t.is(credentialFreeUrl('rtsp://10.0.0.5/cam/realmonitor?channel=1&subtype=0&user=admin&password=s3cret'), 'rtsp://10.0.0.5/cam/realmonitor?channel=1&subtype=0');
  t.is(credentialFreeUrl('rtsps://10.0.0.6:322/s?PWD=x&Token=y'), 'rtsps://10.0.0.6:322/s');
  t.is(credentialFreeUrl('rtsp://10.0.0.21:554/stream1'), 'rtsp://10.0.0.21:554/stream1');
  t.is(credentialFreeUrl('file:///srv/video/a.mp4'), 'file:///srv/video/a.mp4');
  // Not a URL at all (never from the config, but never echoed with its secret either).
  t.is(credentialFreeUrl('rtsp://us er:p w@[bad/x?password=1'), 'rtsp://[bad/x');
});

test('lfr status and lfr health: a failed camera shows its credential-free URL; a live one and the status topic do not', (t) => {
  const facts = cameraFactsFromStats(
    [
      { camera: 'north-1', state: 'failed', fps: 0, dropped: 0, lastError: 'connection refused' },
      { camera: 'south-1', state: 'live', fps: 9.9, dropped: 0, lastError: null },
    ],
    [
      { name: 'north-1', enabled: true, url: 'rtsp://admin:hunter22@10.0.0.21:554/stream1?password=hunter22' },
      { name: 'south-1', enabled: true, url: 'rtsp://10.0.0.22:554/stream1' },
    ],
  );
  const report = evaluate({ now: 0, daemonRunning: true, system: null, clock: { synced: true, source: 'x' }, cameras: facts, broker: { connected: true }, models: [], watchlist: { loaded: false }, alerts: null, audit: null } as never, T);
  const healthText = formatReport(report);
  t.regex(healthText, /FAIL camera north-1 +failed: connection refused \(rtsp:\/\/10\.0\.0\.21:554\/stream1\)/);
  t.regex(healthText, /OK {3}camera south-1 +live at 9\.9 fps$/m, 'a live camera: no URL');
  t.false(healthText.includes('hunter22'));

  const s = buildStatus({ vanId: 'van-7', now: 0, report, cameras: facts, deployment: { running: null, counts: {} as never, lastReport: null }, lastImport: null });
  const statusText = formatStatus(s);
  t.regex(statusText, /camera north-1: failed 0\.0 fps \(rtsp:\/\/10\.0\.0\.21:554\/stream1\)/);
  t.regex(statusText, /camera south-1: live 9\.9 fps$/m);
  t.false(statusText.includes('hunter22'));
  t.false(JSON.stringify(s).includes('hunter22'));

  const payload = JSON.stringify(toStatusPayload(s, 0, null));
  t.false(payload.includes('10.0.0.21'), 'the status topic (tablets, HQ) carries no camera address');
});

test('a camera probed from outside (daemon not running) carries its URL only when it is not OK', (t) => {
  const bad = checkCamera({ name: 'n', enabled: true, state: 'unreachable', fps: null, dropped: null, reason: 'connection refused at 10.0.0.21:554', url: 'rtsp://10.0.0.21:554/s' }, T);
  t.is(bad.level, 'FAIL');
  t.is(bad.url, 'rtsp://10.0.0.21:554/s');
  const good = checkCamera({ name: 'n', enabled: true, state: 'reachable', fps: null, dropped: null, reason: 'RTSP 200', url: 'rtsp://10.0.0.21:554/s' }, T);
  t.is(good.url, undefined);
});
