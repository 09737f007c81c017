// `lfr run` as a real process: starts with no camera, an unreachable broker and no tablet
// certificate (all reported, none fatal; the tablet page WARNs in `lfr health`), stops in order
// on SIGTERM with exit status 0, and the audit log records the start and the stop in a chain
// that verifies.
import test from 'ava';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { CLI_ENTRY } from '../../src/paths.js';
import { generateKeyFiles } from '../../src/crypto/keys.js';
import { AuditLog } from '../../src/audit/log.js';
import { freePort } from '../helpers/rtsp.js';
import { lastJson, runCli } from '../helpers/cli.js';
import type { HealthReport } from '../../src/health/types.js';

for (const sig of ['SIGTERM', 'SIGINT'] as const) {
  test.serial(`lfr run stops cleanly on ${sig}`, async (t) => {
    const dir = mkdtempSync(path.join(tmpdir(), 'lfr-run-'));
    t.teardown(() => rmSync(dir, { recursive: true, force: true }));
    generateKeyFiles('van', path.join(dir, 'keys'), 'van');
    const cfg = path.join(dir, 'lfr.json');
    writeFileSync(cfg, JSON.stringify({
      paths: { stateDir: path.join(dir, 'state'), runtimeDir: path.join(dir, 'run') },
      watchlist: { vanKeyFile: path.join(dir, 'keys', 'van.key') },
      mqtt: { url: `mqtt://127.0.0.1:${await freePort()}` },
      health: { metricsPort: await freePort() },
      // tablet.enabled (default) with no certificate: the page is not served, the daemon runs.
      // deployment.required (default true): nothing analysed until `lfr deployment start`;
      // the SIGINT run is a bench rig with it off.
      deployment: { required: sig === 'SIGTERM' },
      tablet: { certFile: path.join(dir, 'missing.crt'), keyFile: path.join(dir, 'missing.key'), port: await freePort() },
    }));
    const p = spawn(process.execPath, [CLI_ENTRY, '-c', cfg, 'run'], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, LFR_CONFIG: '' } });
    let err = '';
    p.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const exit = new Promise<number | null>((r) => p.on('exit', (code) => r(code)));
    const t0 = Date.now();
    while (!err.includes('daemon running')) {
      if (Date.now() - t0 > 60_000 || p.exitCode !== null) t.fail(`daemon did not start: ${err.slice(-1500)}`);
      if (p.exitCode !== null || Date.now() - t0 > 60_000) return;
      await new Promise((r) => setTimeout(r, 100));
    }
    t.true(err.includes('broker unreachable'), 'the unreachable broker is reported');
    t.regex(err, sig === 'SIGTERM' ? /"analysing":false/ : /"analysing":true/);
    t.true(err.includes('tablet page not served'), 'the missing tablet certificate is reported, not fatal');
    const h = await runCli(['-c', cfg, 'health', '--json']);
    const tablet = lastJson<HealthReport>(h.stdout).checks.find((c) => c.name === 'tablet');
    t.is(tablet?.level, 'WARN', h.stdout.slice(-500));
    t.regex(tablet?.message ?? '', /page not served: .*missing\.crt/);
    p.kill(sig);
    const timer = setTimeout(() => p.kill('SIGKILL'), 20_000);
    t.is(await exit, 0);
    clearTimeout(timer);
    t.true(err.includes('daemon stopped'));
    const audit = new AuditLog(path.join(dir, 'state', 'audit.db'), Date.now, true).open();
    const types = audit.list(100).map((e) => e.type);
    t.true(types.includes('daemon.start') && types.includes('daemon.stop'), types.join(','));
    t.true(audit.verify().ok);
    audit.close();
  });
}
