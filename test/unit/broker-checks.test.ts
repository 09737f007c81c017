// `lfr broker setup` checks what it does not make itself (issue 20 item 11): the folder of the
// broker's pid file, and (as root) the daemon's group. Plain sentences; null when all is well.
import test from 'ava';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { daemonGroupProblem, pidFolderProblem } from '../../src/mqtt/broker-checks.js';

function tmp(t: { teardown(fn: () => void): void }): string {
  const d = mkdtempSync(path.join(os.tmpdir(), 'lfr-broker-checks-'));
  t.teardown(() => rmSync(d, { recursive: true, force: true }));
  return d;
}

test('pid-file folder: present and writable passes; missing or not a folder is said plainly', (t) => {
  const d = tmp(t);
  t.is(pidFolderProblem(path.join(d, 'mosquitto.pid')), null);
  const missing = pidFolderProblem(path.join(d, 'nope', 'mosquitto.pid'));
  t.regex(missing ?? '', new RegExp(`the folder of broker.pidFile \\(${d}/nope\\) does not exist, so mosquitto cannot write its pid file \\(it then refuses to start\\) and "lfr officers add\\|remove" cannot make it reload the accounts: create it`));
  writeFileSync(path.join(d, 'file'), '');
  t.regex(pidFolderProblem(path.join(d, 'file', 'mosquitto.pid')) ?? '', /is not a folder/);
});

test('pid-file folder: Debian\'s /run/mosquitto, when missing, says the broker unit makes it', (t) => {
  const p = pidFolderProblem('/run/mosquitto/mosquitto.pid');
  // Present on a box whose mosquitto has run; the hint is only for the missing case.
  if (p !== null) t.regex(p, /Debian's mosquitto.service makes \/run\/mosquitto when it starts the broker/);
  else t.pass();
});

test('pid-file folder, as root: writable by broker.user or not (mosquitto writes the file after dropping to it)', (t) => {
  const d = tmp(t);
  const run = path.join(d, 'run');
  mkdirSync(run, { mode: 0o755 });
  chmodSync(run, 0o755);
  const st = statSync(run);
  const other = { name: 'mosquitto', uid: st.uid + 4242, gid: st.gid + 4242 };
  t.regex(pidFolderProblem(path.join(run, 'mosquitto.pid'), other) ?? '', /is not writable by mosquitto \(broker.user; owner uid \d+, mode 755\), so mosquitto cannot write its pid file .*: chown mosquitto /);
  t.is(pidFolderProblem(path.join(run, 'mosquitto.pid'), { ...other, uid: st.uid }), null, 'its owner may write');
  t.truthy(pidFolderProblem(path.join(run, 'mosquitto.pid'), { ...other, gid: st.gid }), 'its group, but 0755: not writable');
  chmodSync(run, 0o775);
  t.is(pidFolderProblem(path.join(run, 'mosquitto.pid'), { ...other, gid: st.gid }), null, 'group-writable and its group');
  t.regex(pidFolderProblem(path.join(d, 'gone', 'x.pid'), other) ?? '', /create it \(install -d -o mosquitto /);
});

test('pid-file folder, not root: the caller\'s own access decides (mosquitto runs as the caller)', (t) => {
  const d = tmp(t);
  const ro = path.join(d, 'ro');
  mkdirSync(ro);
  chmodSync(ro, 0o500);
  const p = pidFolderProblem(path.join(ro, 'mosquitto.pid'));
  // Root may write anywhere: the read-only case is seen only by another user.
  if (process.getuid?.() === 0) t.is(p, null);
  else t.regex(p ?? '', /is not writable \(EACCES\)/);
});

test('daemon group: missing as root is said with the fix; not root, or the group exists, nothing', (t) => {
  t.regex(daemonGroupProblem('lfr', null, true) ?? '', /the OS group "lfr" \(broker.daemonGroup\) does not exist: .*cannot connect to the broker or serve the tablet page; .*useradd --system --user-group lfr/);
  t.is(daemonGroupProblem('lfr', 990, true), null);
  t.is(daemonGroupProblem('lfr', null, false), null, 'not root: nothing is given to the group, the daemon runs as the caller');
});
