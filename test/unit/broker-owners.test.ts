// Low findings on the broker files (issue 21): officers' password hashes are not readable by the
// lfr group (operators are in it), and `lfr officers` never signals a pid the mosquitto-owned pid
// file names unless that process is mosquitto.
import test from 'ava';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { brokerProcessProblem, officersPasswdOwner, reloadBroker } from '../../src/mqtt/broker-setup.js';
import { configSchema } from '../../src/config/schema.js';

test('officers.passwd: lfr user, mosquitto group, 0640; mosquitto alone without a daemon user', (t) => {
  t.deepEqual(officersPasswdOwner({ broker: 102, daemonGroup: 990, daemonUser: 990, brokerGroup: 109 }), { uid: 990, gid: 109, mode: 0o640 });
  t.deepEqual(officersPasswdOwner({ broker: 102, daemonGroup: 990, daemonUser: null, brokerGroup: 109 }), { uid: 102, gid: null, mode: 0o600 });
});

test('a pid file naming another process is not signalled', async (t) => {
  const victim = spawn('sleep', ['30']);
  t.teardown(() => void victim.kill('SIGKILL'));
  await new Promise((r) => victim.once('spawn', r));
  t.regex(brokerProcessProblem(victim.pid!, 'mosquitto') ?? '', /not mosquitto/);
  const dir = mkdtempSync(path.join(os.tmpdir(), 'lfr-pid-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const pidFile = path.join(dir, 'mosquitto.pid');
  writeFileSync(pidFile, `${victim.pid}\n`);
  const cfg = configSchema.parse({ van: { id: 'v' }, broker: { pidFile } });
  const r = reloadBroker(cfg);
  t.false(r.reloaded);
  t.regex(r.message, /not signalling pid .*not mosquitto/);
  await new Promise((res) => setTimeout(res, 100));
  t.is(victim.exitCode, null, 'the other process is untouched');
  t.is(victim.signalCode, null);
});
