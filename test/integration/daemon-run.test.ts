// `lfr run` as a real process: starts with no camera, an unreachable broker and no tablet
// certificate (all reported, none fatal; the tablet page WARNs in `lfr health`), stops in order
// on SIGTERM or SIGINT with exit status 0, and the audit log records the start and the stop in a
// chain that verifies.
import path from 'node:path';
import { needs } from '../helpers/prereq.js';
import { Van } from '../helpers/van.js';
import { AuditLog } from '../../src/audit/log.js';
import { freePort } from '../../src/util/net.js';
import type { HealthReport } from '../../src/health/types.js';

const { serial } = needs(['models']);

for (const sig of ['SIGTERM', 'SIGINT'] as const) {
  serial(`lfr run stops cleanly on ${sig}`, async (t) => {
    const van = await Van.create(t, {
      broker: false,
      config: {
        // deployment.required (default true): nothing analysed until `lfr deployment start`;
        // the SIGINT run is a bench rig with it off.
        deployment: { required: sig === 'SIGTERM' },
        // tablet.enabled with no certificate: the page is not served, the daemon runs.
        tablet: { enabled: true, host: '127.0.0.1', certFile: '/nonexistent/missing.crt', keyFile: '/nonexistent/missing.key', port: await freePort() },
      },
    });
    await van.start();
    const err = van.log();
    t.true(err.includes('broker unreachable'), 'the unreachable broker is reported');
    t.regex(err, sig === 'SIGTERM' ? /"analysing":false/ : /"analysing":true/);
    t.regex(err, /tablet-server could not start.*missing\.crt/, `the missing tablet certificate is reported, not fatal; log: ${err.split('\n').map((l) => l.slice(60, 220)).join(' | ')}`);
    const h = await van.cliJson<HealthReport>(['health'], [0, 1]);
    const tablet = h.checks.find((c) => c.name === 'tablet');
    t.is(tablet?.level, 'WARN', JSON.stringify(h.checks));
    t.regex(tablet?.message ?? '', /page not served: .*missing\.crt/);
    // Probed from outside (--local), the running daemon is still reported running.
    const local = await van.cliJson<HealthReport>(['health', '--local'], [0, 1]);
    t.is(local.checks.find((c) => c.name === 'daemon')?.level, 'OK', JSON.stringify(local.checks.find((c) => c.name === 'daemon')));
    // `lfr status` names every check that is not OK, WARN ones too.
    const status = await van.cli('status');
    t.regex(status.stdout, /WARN tablet: page not served/);
    t.regex(status.stdout, /FAIL broker/);
    const r = await van.stop(sig);
    t.is(r.code, 0);
    t.true(van.log().includes('daemon stopped'));
    const audit = new AuditLog(path.join(van.stateDir, 'audit.db'), Date.now, true).open();
    const types = audit.list(100).map((e) => e.type);
    t.true(types.includes('daemon.start') && types.includes('daemon.stop'), types.join(','));
    t.true(audit.verify().ok);
    audit.close();
  });
}
