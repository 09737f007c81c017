// `lfr broker setup` (the real command) on a box without what the broker and the daemon need
// but the set-up does not make: the pid-file folder, and as root the lfr group. The set-up still
// writes a working broker and says, in plain words, what will not work (issue 20 item 11).
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { runCli, lastJson } from '../helpers/cli.js';
import { needs } from '../helpers/prereq.js';

const { serial } = needs(['openssl']);

function groupExists(name: string): boolean {
  try {
    execFileSync('getent', ['group', name], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

serial('lfr broker setup warns about a missing pid-file folder and, as root, a missing daemon group; text and JSON', async (t) => {
  t.timeout(120_000);
  const dir = mkdtempSync(path.join(os.tmpdir(), 'lfr-broker-setup-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const d = (...p: string[]) => path.join(dir, ...p);
  const group = `lfr-none-${process.pid}`;
  t.false(groupExists(group));
  const cfg = {
    van: { id: 'van-7' },
    mqtt: { username: 'lfr-daemon', passwordFile: d('daemon.pass'), caFile: d('tls', 'ca.crt') },
    broker: { confFile: d('mosquitto.conf'), dir: d('broker'), pidFile: d('no-such-run', 'mosquitto.pid'), daemonGroup: group },
    tablet: { certFile: d('tls', 'tablet.crt'), keyFile: d('tls', 'tablet.key') },
  };
  writeFileSync(d('lfr.json'), JSON.stringify(cfg));

  const text = await runCli(['-c', d('lfr.json'), 'broker', 'setup']);
  t.is(text.code, 0, text.stderr);
  t.regex(text.stdout, new RegExp(`WARNING: the folder of broker.pidFile \\(${d('no-such-run')}\\) does not exist, so mosquitto cannot write its pid file`));
  const root = process.getuid?.() === 0;
  if (root) t.regex(text.stdout, new RegExp(`WARNING: the OS group "${group}" \\(broker.daemonGroup\\) does not exist`));
  t.true(existsSync(d('mosquitto.conf')), 'the broker is still set up');

  // As root, a folder root owns is not enough: mosquitto writes its pid file as broker.user.
  execFileSync('mkdir', ['-p', d('no-such-run')]);
  if (root) {
    const again = lastJson<{ warnings: string[] }>((await runCli(['-c', d('lfr.json'), 'broker', 'setup', '--json'])).stdout);
    t.true(again.warnings.some((w) => w.startsWith(`the folder of broker.pidFile (${d('no-such-run')}) is not writable by mosquitto (broker.user`)), again.warnings.join('\n'));
    execFileSync('chown', ['mosquitto', d('no-such-run')]);
  }
  // The same in JSON; with the folder right, only the group (as root) remains.
  const json = await runCli(['-c', d('lfr.json'), 'broker', 'setup', '--json']);
  t.is(json.code, 0, json.stderr);
  const r = lastJson<{ warnings: string[] }>(json.stdout);
  t.deepEqual(r.warnings.map((w) => w.split(':')[0]), root ? [`the OS group "${group}" (broker.daemonGroup) does not exist`] : []);
});
