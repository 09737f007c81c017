// scripts/install.sh and scripts/uninstall.sh into a temp root (LFR_ROOT): the second install
// changes nothing that holds state or secrets (idempotent), permissions are tight, and the
// uninstall leaves no biometric data (watchlist, alert store, van key) while keeping the
// non-biometric records forces must publish.
import test from 'ava';
import { execFile } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { BUILD_ROOT, INSTALL_ROOT } from '../../src/paths.js';
import { spawn } from 'node:child_process';
import { probeBroker } from '../../src/health/active.js';
import { freePort } from './fixtures/fieldops-env.js';
import { requirePrereqs } from '../helpers/prereq.js';

const run = promisify(execFile);

function walk(dir: string, base = dir): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    const rel = path.relative(base, p);
    if (e.isSymbolicLink()) out.push([rel, 'link']);
    else if (e.isDirectory()) {
      out.push([rel, (statSync(p).mode & 0o777).toString(8)]);
      if (!['dist', 'node_modules', 'models'].includes(e.name)) out.push(...walk(p, base));
    } else out.push([rel, `${(statSync(p).mode & 0o777).toString(8)}:${statSync(p).size}`]);
  }
  return out.sort();
}

test('install twice, then uninstall: idempotent, tight, and no biometric data left', async (t) => {
  requirePrereqs(['openssl', 'mosquitto']);
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'lfr-install-'));
  t.teardown(() => rmSync(tmp, { recursive: true, force: true }));
  // A built checkout made of links to this build (copying node_modules would take minutes).
  const src = path.join(tmp, 'src');
  mkdirSync(path.join(src, 'scripts'), { recursive: true });
  cpSync(path.join(INSTALL_ROOT, 'package.json'), path.join(src, 'package.json'));
  cpSync(path.join(INSTALL_ROOT, 'systemd'), path.join(src, 'systemd'), { recursive: true });
  cpSync(path.join(INSTALL_ROOT, 'bin'), path.join(src, 'bin'), { recursive: true });
  cpSync(path.join(INSTALL_ROOT, 'config'), path.join(src, 'config'), { recursive: true });
  cpSync(path.join(INSTALL_ROOT, 'web'), path.join(src, 'web'), { recursive: true });
  for (const s of ['install.sh', 'uninstall.sh', 'usb-import.sh']) cpSync(path.join(INSTALL_ROOT, 'scripts', s), path.join(src, 'scripts', s));
  symlinkSync(BUILD_ROOT, path.join(src, 'dist'));
  symlinkSync(path.join(INSTALL_ROOT, 'node_modules'), path.join(src, 'node_modules'));
  symlinkSync(path.join(INSTALL_ROOT, 'models'), path.join(src, 'models'));
  const root = path.join(tmp, 'root');
  mkdirSync(root);
  const env = { ...process.env, LFR_ROOT: root, LFR_SRC: src, LFR_BROKER_HOSTS: '10.20.0.1 van7.local', LFR_TABLET_NET: '10.20.0.0/24' };

  const first = await run('bash', [path.join(INSTALL_ROOT, 'scripts/install.sh')], { env });
  t.regex(first.stdout, /generated the van key/);
  t.regex(first.stdout, /created \/etc\/mosquitto\/lfr\/broker.crt/);
  t.regex(first.stdout, /certificate names: localhost 127.0.0.1 10.20.0.1 van7.local/);
  const mode = (p: string) => (statSync(path.join(root, p)).mode & 0o777).toString(8);
  t.is(mode('etc/lfr'), '750');
  t.is(mode('etc/lfr/keys/van.key'), '600', 'the van key: the service user only (the key loader refuses group access)');
  t.is(mode('etc/lfr/tls/ca.key'), '600');
  t.regex(mode('etc/lfr/tls/tablet.key'), /^6[04]0$/, 'the tablet page key comes from the van CA, readable by the lfr group (when it exists) only');
  t.is(mode('etc/mosquitto/lfr/broker.key'), '600');
  t.regex(mode('etc/mosquitto/lfr/officers.passwd'), /^6[04]0$/, 'lfr:mosquitto 0640 with the lfr user, mosquitto 0600 without (never readable by the lfr group)');
  t.true(existsSync(path.join(root, 'opt/lfr/web/tablet/index.html')), 'the tablet page is installed');
  t.regex(readFileSync(path.join(root, 'etc/mosquitto/lfr/daemon.passwd'), 'utf8'), /^lfr-daemon:\$7\$/m);
  const cert = await run('openssl', ['x509', '-in', path.join(root, 'etc/mosquitto/lfr/broker.crt'), '-noout', '-text']);
  t.regex(cert.stdout, /IP Address:10\.20\.0\.1/);
  t.regex(cert.stdout, /DNS:van7\.local/);
  const verify = await run('openssl', ['verify', '-CAfile', path.join(root, 'etc/lfr/tls/ca.crt'), path.join(root, 'etc/mosquitto/lfr/broker.crt')]);
  t.regex(verify.stdout, /OK/);
  t.true(existsSync(path.join(root, 'etc/systemd/system/lfr.service')));
  // The daemon's unit talks to loopback and the configured tablet network only (no camera yet).
  t.deepEqual(JSON.parse(readFileSync(path.join(root, 'etc/lfr/lfr.json'), 'utf8')).tablet.subnets, ['10.20.0.0/24']);
  t.regex(readFileSync(path.join(root, 'etc/systemd/system/lfr.service'), 'utf8'), /^IPAddressAllow=localhost link-local 10\.20\.0\.0\/24$/m);
  t.regex(readFileSync(path.join(root, 'etc/systemd/system/mosquitto.service.d/lfr.conf'), 'utf8'), /^IPAddressAllow=localhost$/m);

  // The installed broker config really works: a real mosquitto on it, and the daemon's
  // credentials and CA (as in the installed lfr.json) get a TLS connection.
  const port = await freePort();
  const wsPort = await freePort();
  mkdirSync(path.join(tmp, 'mqdata'));
  // Under LFR_ROOT, `lfr broker setup` wrote the re-rooted paths into the config already.
  const conf = readFileSync(path.join(root, 'etc/mosquitto/lfr.conf'), 'utf8')
    .replace(/^pid_file .*$/m, `pid_file ${tmp}/mosquitto.pid`)
    .replace(/^listener 8883 127\.0\.0\.1$/m, `listener ${port} 127.0.0.1`)
    .replace(/^listener 8884 0\.0\.0\.0$/m, `listener ${wsPort} 127.0.0.1`)
    // The temp root is not reachable by the mosquitto user (0700 folders above it).
    .replace(/^user .*$/m, 'user root');
  t.regex(conf, new RegExp(`^listener ${port} 127.0.0.1$`, 'm'));
  const confFile = path.join(tmp, 'mosquitto.conf');
  writeFileSync(confFile, conf);
  const broker = spawn('/usr/sbin/mosquitto', ['-c', confFile], { stdio: ['ignore', 'ignore', 'pipe'] });
  let brokerLog = '';
  broker.stderr!.on('data', (d: Buffer) => (brokerLog += d.toString()));
  t.teardown(() => void broker.kill('SIGTERM'));
  await new Promise((r) => setTimeout(r, 800));
  const cfg = JSON.parse(readFileSync(path.join(root, 'etc/lfr/lfr.json'), 'utf8')) as { mqtt: { username: string; passwordFile: string; caFile: string } };
  const mq = { url: `mqtts://127.0.0.1:${port}`, username: cfg.mqtt.username, passwordFile: `${root}${cfg.mqtt.passwordFile}`, caFile: `${root}${cfg.mqtt.caFile}`, topicPrefix: 'lfr' };
  t.deepEqual(await probeBroker(mq), { connected: true }, brokerLog);
  // (`user root` here only: as root in a temp folder mosquitto warns about exactly that.)
  t.notRegex(brokerLog.replace(/^.*Mosquitto should not be run as root.*$/m, ''), /warning|error/i, 'mosquitto starts on the installed config without a warning');
  const wrong = path.join(tmp, 'wrong.pass');
  writeFileSync(wrong, 'not-the-password');
  t.false((await probeBroker({ ...mq, passwordFile: wrong })).connected, 'a wrong password is refused');
  t.true(existsSync(path.join(root, 'etc/udev/rules.d/99-lfr-usb.rules')));

  // The operator edits the config; a second install must keep it and every secret.
  const cfgFile = path.join(root, 'etc/lfr/lfr.json');
  writeFileSync(cfgFile, readFileSync(cfgFile, 'utf8').replace('"van-1"', '"van-7"'));
  const secrets = ['etc/lfr/keys/van.key', 'etc/lfr/tls/ca.key', 'etc/mosquitto/lfr/broker.crt', 'etc/lfr/secrets/mqtt-daemon.pass', 'etc/mosquitto/lfr/daemon.passwd'].map((p) => readFileSync(path.join(root, p)));
  const before = walk(root);
  const second = await run('bash', [path.join(INSTALL_ROOT, 'scripts/install.sh')], { env });
  t.notRegex(second.stdout, /generated|created|issued|wrote/);
  t.deepEqual(walk(root), before, 'same files, modes and sizes after a second run');
  t.regex(readFileSync(cfgFile, 'utf8'), /"van-7"/);
  ['etc/lfr/keys/van.key', 'etc/lfr/tls/ca.key', 'etc/mosquitto/lfr/broker.crt', 'etc/lfr/secrets/mqtt-daemon.pass', 'etc/mosquitto/lfr/daemon.passwd'].forEach((p, i) => t.deepEqual(readFileSync(path.join(root, p)), secrets[i], p));

  // A deployment's worth of data, then uninstall.
  mkdirSync(path.join(root, 'run/lfr'), { recursive: true });
  mkdirSync(path.join(root, 'var/lib/lfr/alert-images'), { recursive: true });
  for (const f of ['run/lfr/watchlist.db', 'var/lib/lfr/alerts.db', 'var/lib/lfr/alerts.db-wal', 'var/lib/lfr/alert-images/a1.bin', 'var/lib/lfr/audit.db', 'var/lib/lfr/deployments.db']) writeFileSync(path.join(root, f), 'x'.repeat(100));
  const un = await run('bash', [path.join(INSTALL_ROOT, 'scripts/uninstall.sh')], { env });
  t.regex(un.stdout, /no watchlist, alert store or van key left/);
  for (const gone of ['run/lfr', 'var/lib/lfr', 'etc/lfr', 'opt/lfr', 'etc/systemd/system/lfr.service', 'etc/udev/rules.d/99-lfr-usb.rules', 'etc/mosquitto/lfr', 'etc/mosquitto/lfr.conf']) t.false(existsSync(path.join(root, gone)), gone);
  t.deepEqual(readdirSync(path.join(root, 'var/lib/lfr-records')).sort(), ['audit.db', 'deployments.db']);
});

test('install.sh seals an existing plain van key to the box (host key here), proves it opens, removes the plain copy; the unit loads it', async (t) => {
  requirePrereqs(['openssl', 'mosquitto', 'systemd-creds']);
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'lfr-install-seal-'));
  t.teardown(() => rmSync(tmp, { recursive: true, force: true }));
  const src = path.join(tmp, 'src');
  mkdirSync(path.join(src, 'scripts'), { recursive: true });
  for (const p of ['package.json', 'systemd', 'bin', 'config', 'web']) cpSync(path.join(INSTALL_ROOT, p), path.join(src, p), { recursive: true });
  for (const s of ['install.sh', 'uninstall.sh', 'usb-import.sh']) cpSync(path.join(INSTALL_ROOT, 'scripts', s), path.join(src, 'scripts', s));
  symlinkSync(BUILD_ROOT, path.join(src, 'dist'));
  symlinkSync(path.join(INSTALL_ROOT, 'node_modules'), path.join(src, 'node_modules'));
  symlinkSync(path.join(INSTALL_ROOT, 'models'), path.join(src, 'models'));
  const root = path.join(tmp, 'root');
  mkdirSync(root);
  const secret = path.join(tmp, 'host.secret');
  const env = { ...process.env, LFR_ROOT: root, LFR_SRC: src, SYSTEMD_CREDENTIAL_SECRET: secret };
  const keys = path.join(root, 'etc/lfr/keys');

  // An older install: the van key is a plain file, and the unit asks systemd for no credential.
  await run('bash', [path.join(INSTALL_ROOT, 'scripts/install.sh')], { env: { ...env, LFR_SEAL_KEY: 'no' } });
  t.true(existsSync(path.join(keys, 'van.key')));
  t.false(existsSync(path.join(keys, 'van.key.cred')));
  t.notRegex(readFileSync(path.join(root, 'etc/systemd/system/lfr.service'), 'utf8'), /LoadCredentialEncrypted/);
  const plain = readFileSync(path.join(keys, 'van.key'));

  // The update seals it.
  const up = await run('bash', [path.join(INSTALL_ROOT, 'scripts/install.sh')], { env: { ...env, LFR_SEAL_KEY: 'host' } });
  t.regex(up.stdout, /sealed the van key to this box \(systemd credential, host\)/);
  t.regex(up.stdout, /removed the plain van key/);
  t.false(existsSync(path.join(keys, 'van.key')), 'no plain copy left');
  t.is((statSync(path.join(keys, 'van.key.cred')).mode & 0o777).toString(8), '640');
  const opened = await run('/usr/bin/systemd-creds', ['decrypt', '--name=lfr-van-key', path.join(keys, 'van.key.cred'), '-'], { env, encoding: 'buffer' });
  t.deepEqual(opened.stdout, plain, 'the sealed key is the old plain key');
  t.regex(readFileSync(path.join(root, 'etc/systemd/system/lfr.service'), 'utf8'), /^LoadCredentialEncrypted=lfr-van-key:\/etc\/lfr\/keys\/van\.key\.cred$/m);

  // A third run changes nothing.
  const before = walk(root);
  await run('bash', [path.join(INSTALL_ROOT, 'scripts/install.sh')], { env });
  t.deepEqual(walk(root), before);
  // Uninstall scrubs the sealed key too.
  await run('bash', [path.join(INSTALL_ROOT, 'scripts/uninstall.sh')], { env });
  t.false(existsSync(path.join(keys, 'van.key.cred')));
});
