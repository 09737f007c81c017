// The README's first command: `lfr demo` runs the whole van (local broker, daemon with alert store,
// retention, audit log and tablet page, a deployment) and its --json line says what happened.
// The demo shows demo photo 3 to a watchlist enrolled from demo photo 1: the same woman in two
// different photos, so the alert is a real match, not a photo matched with itself.
import { needs } from '../helpers/prereq.js';
import { lastJson, runCli } from '../helpers/cli.js';

const { serial } = needs(['mosquitto', 'rtsp', 'models', 'demo-photos']);

serial('lfr demo --json: an alert raised, purged by the running daemon, none left at exit, audit intact, tablet page served', async (t) => {
  const r = await runCli(['demo', '--seconds', '22', '--retention', '8', '--json'], { timeoutMs: 180_000 });
  t.is(r.code, 0, r.stderr.slice(-2000));
  const j = lastJson<{ alertsRaised: number; alertsPurged: number; alertsStored: number; tabletUrl: string; auditIntact: boolean; order: string[]; report: { alerts: number; watchlistPurged: boolean } }>(r.stdout);
  t.log(JSON.stringify({ alertsRaised: j.alertsRaised, alertsPurged: j.alertsPurged, alertsStored: j.alertsStored, tabletUrl: j.tabletUrl, auditIntact: j.auditIntact }));
  t.true(j.alertsRaised >= 1);
  t.true(j.alertsPurged >= 1, 'the running daemon purged an alert during the demo');
  t.is(j.alertsStored, j.alertsRaised - j.alertsPurged);
  t.true(j.auditIntact);
  t.regex(j.tabletUrl, /^https:\/\/127\.0\.0\.1:\d+\/$/);
  t.true(j.order.includes('retention') && j.order.includes('tablet-server') && j.order.includes('deployment'));
  t.true(j.report.watchlistPurged);
});
