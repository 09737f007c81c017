// USB auto-import with a directory standing in for the mounted stick: scripts/usb-import.sh (what
// lfr-usb-import@.service runs) -> `lfr usb-import` -> the daemon's control socket -> the real
// watchlist import -> audit and the status summary. No stick, no mount, no root needed.
import test from 'ava';
import { execFile } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { INSTALL_ROOT, CLI_ENTRY } from '../../src/paths.js';
import os from 'node:os';
import { lastJson, runCli } from '../helpers/cli.js';
import type { StatusSummary } from '../../src/health/status.js';
import { auditEntries, makeEnv, startHost } from './fixtures/fieldops-env.js';

const run = promisify(execFile);

test.serial('a bundle on the stick is imported, audited and shown on the status', async (t) => {
  const env = await makeEnv();
  const host = await startHost(env);
  t.teardown(async () => {
    await host.stop();
    env.cleanup();
  });
  const stick = path.join(env.dir, 'stick');
  mkdirSync(path.join(stick, 'lfr'), { recursive: true });
  writeFileSync(path.join(stick, 'README.txt'), 'not a bundle');
  copyFileSync(env.bundleFile, path.join(stick, 'lfr', 'op-harbour.lfrwl'));

  // The script the unit runs; LFR_ENTRY points it at this build instead of /opt/lfr, LFR_USER at us.
  const { stdout } = await run(path.join(INSTALL_ROOT, 'scripts/usb-import.sh'), [stick], {
    env: { ...process.env, LFR_ENTRY: CLI_ENTRY, LFR_USER: os.userInfo().username, LFR_CONFIG: env.cfgFile },
  }).catch((err: { stdout: string; stderr: string }) => {
    throw new Error(`usb-import.sh failed: ${err.stderr}`);
  });
  t.regex(stdout, /imported op-harbour\.lfrwl/);
  t.true(existsSync(path.join(env.dir, 'run', 'watchlist.db')), 'the watchlist store was written');
  const imp = auditEntries(env.auditFile).find((a) => a.type === 'watchlist.imported');
  t.deepEqual([imp?.fields.source, imp?.fields.claimedSource, imp?.fields.subjects], ['control-socket', 'usb', 2], 'the source is what the daemon knows; usb is the client\'s claim');
  t.is(imp?.actor, os.userInfo().username, 'the actor is the OS user of the importing process (SO_PEERCRED)');
  const st = lastJson<StatusSummary>((await runCli(['-c', env.cfgFile, 'status', '--json'])).stdout);
  t.is(st.lastImport?.source, 'usb');
  t.true(st.lastImport?.ok);
  t.is(st.lastImport?.subjects, 2);

  // The stick is gone; the deployment starts on the imported watchlist (no --watchlist).
  const started = await runCli(['-c', env.cfgFile, 'deployment', 'start', '--authorisation', 'AUTH-USB', '--location', 'Harbour', '--threshold', '0.6', '--ends-at', '+1h', '--officer', 'Insp D', '--json']);
  t.is(started.code, 0, started.stderr);
  const rec = lastJson<{ watchlist: { subjects: number; categories: Record<string, number> } }>(started.stdout);
  t.is(rec.watchlist.subjects, 2);
  t.deepEqual(rec.watchlist.categories, { wanted: 1, 'missing person': 1 });
  t.is((await runCli(['-c', env.cfgFile, 'deployment', 'end'])).code, 0);
});

test.serial('a stick with two bundles, or none, is refused with a plain reason and nothing imported', async (t) => {
  const env = await makeEnv();
  const host = await startHost(env);
  t.teardown(async () => {
    await host.stop();
    env.cleanup();
  });
  const stick = path.join(env.dir, 'stick');
  mkdirSync(stick);
  const none = await runCli(['-c', env.cfgFile, 'usb-import', stick]);
  t.is(none.code, 3);
  t.regex(none.stderr, /no watchlist bundle/);
  copyFileSync(env.bundleFile, path.join(stick, 'a.lfrwl'));
  copyFileSync(env.bundleFile, path.join(stick, 'b.lfrwl'));
  const two = await runCli(['-c', env.cfgFile, 'usb-import', stick, '--json']);
  t.is(two.code, 3);
  t.regex(two.stderr, /2 watchlist bundles/);
  t.false(existsSync(path.join(env.dir, 'run', 'watchlist.db')));
  const noWl = await runCli(['-c', env.cfgFile, 'deployment', 'start', '--authorisation', 'A', '--location', 'L', '--threshold', '0.6', '--ends-at', '+1h', '--officer', 'O']);
  t.is(noWl.code, 3);
  t.regex(noWl.stderr, /no watchlist has been imported/);
});

test.serial('a bundle that fails verification is refused and the refusal reaches the status', async (t) => {
  const env = await makeEnv();
  const host = await startHost(env);
  t.teardown(async () => {
    await host.stop();
    env.cleanup();
  });
  const stick = path.join(env.dir, 'stick');
  mkdirSync(stick);
  const bytes = readFileSync(env.bundleFile);
  bytes[bytes.length - 10]! ^= 0xff; // one flipped bit in the encrypted payload
  writeFileSync(path.join(stick, 'tampered.lfrwl'), bytes);
  const r = await runCli(['-c', env.cfgFile, 'usb-import', stick]);
  t.is(r.code, 3, 'a tampered bundle is bad input');
  t.false(existsSync(path.join(env.dir, 'run', 'watchlist.db')));
  const st = lastJson<StatusSummary>((await runCli(['-c', env.cfgFile, 'status', '--json'])).stdout);
  t.is(st.lastImport?.ok, false);
  t.is(auditEntries(env.auditFile).find((a) => a.type === 'watchlist.import_rejected')?.fields.claimedSource, 'usb');
});
