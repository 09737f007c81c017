// The unit files pass `systemd-analyze verify` with no warning at all (a bad directive is only a
// warning to systemd, and would silently drop hardening), lfr.service scores below 2.0 in
// `systemd-analyze security`, and the udev rule hands USB partitions to the import unit.
// /opt/lfr is rewritten to this checkout so verify can check that ExecStart= targets exist.
import test from 'ava';
import { execFile } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { INSTALL_ROOT } from '../../src/paths.js';
import { requirePrereqs } from '../helpers/prereq.js';

const run = promisify(execFile);
const SYSTEMD = path.join(INSTALL_ROOT, 'systemd');
const ANALYZE = '/usr/bin/systemd-analyze';

async function analyze(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(ANALYZE, args, { timeout: 60_000 });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: e.code ?? 1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

function unitDir(): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'lfr-units-'));
  for (const f of ['lfr.service', 'lfr-usb-import@.service']) {
    writeFileSync(path.join(dir, f), readFileSync(path.join(SYSTEMD, f), 'utf8').replaceAll('/opt/lfr', INSTALL_ROOT));
  }
  return dir;
}

test('lfr.service and lfr-usb-import@.service verify cleanly', async (t) => {
  requirePrereqs(['systemd-analyze']);
  const dir = unitDir();
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const r = await analyze(['verify', '--man=no', path.join(dir, 'lfr.service'), path.join(dir, 'lfr-usb-import@.service')]);
  t.is(r.code, 0, r.stderr);
  t.is(r.stderr.trim(), '', 'no warnings');
  const unit = readFileSync(path.join(SYSTEMD, 'lfr.service'), 'utf8');
  t.regex(unit, /^Type=notify$/m);
  t.regex(unit, /^WatchdogSec=\d+/m);
  t.regex(unit, /^RuntimeDirectory=lfr$/m);
});

test('the mosquitto drop-in is loaded and verifies cleanly', async (t) => {
  const base = '/lib/systemd/system/mosquitto.service';
  requirePrereqs(['systemd-analyze', 'mosquitto']);
  if (!existsSync(base)) throw new Error(`${base} is missing: the mosquitto package ships it (apt-get install mosquitto)`);
  const dir = mkdtempSync(path.join(os.tmpdir(), 'lfr-units-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  copyFileSync(base, path.join(dir, 'mosquitto.service'));
  mkdirSync(path.join(dir, 'mosquitto.service.d'));
  // First prove verify reads drop-ins from beside the unit: a bad one must be reported.
  writeFileSync(path.join(dir, 'mosquitto.service.d', 'lfr.conf'), '[Service]\nRestart=bogus\n');
  const bad = await analyze(['verify', '--man=no', path.join(dir, 'mosquitto.service')]);
  t.regex(bad.stderr, /bogus/);
  // As install.sh installs it.
  writeFileSync(path.join(dir, 'mosquitto.service.d', 'lfr.conf'), readFileSync(path.join(SYSTEMD, 'mosquitto.service.d', 'lfr.conf'), 'utf8'));
  const good = await analyze(['verify', '--man=no', path.join(dir, 'mosquitto.service')]);
  t.is(good.code, 0, good.stderr);
  t.is(good.stderr.trim(), '');
  // mosquitto 2.0.11 binds its WebSocket listener on every address: the unit is the firewall, and
  // tablets come through the page server (src/tablet/mqtt-proxy.ts), so loopback only.
  const dropIn = readFileSync(path.join(dir, 'mosquitto.service.d', 'lfr.conf'), 'utf8');
  t.regex(dropIn, /^IPAddressDeny=any$/m);
  t.regex(dropIn, /^IPAddressAllow=localhost$/m);
  const sec = await analyze(['security', '--offline=yes', path.join(dir, 'mosquitto.service')]);
  const m = /Overall exposure level for mosquitto\.service: (\d+\.\d+)/.exec(sec.stdout + sec.stderr);
  t.log(`mosquitto.service with the drop-in: exposure ${m?.[1]}`);
  t.true(Number(m?.[1]) < 3.0, `exposure ${m?.[1]}`);
});

test('systemd-analyze security scores lfr.service below 2.0', async (t) => {
  requirePrereqs(['systemd-analyze']);
  const dir = unitDir();
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const r = await analyze(['security', '--offline=yes', path.join(dir, 'lfr.service')]);
  const m = /Overall exposure level for lfr\.service: (\d+\.\d+)/.exec(r.stdout + r.stderr);
  t.truthy(m, r.stdout + r.stderr);
  t.log(`exposure ${m![1]}`);
  t.true(Number(m![1]) < 2.0, `exposure ${m![1]}`);
});

test('no core dump, no swap, private files: lfr.service and the import unit say so; the import unit scores below 2.5', async (t) => {
  requirePrereqs(['systemd-analyze']);
  for (const f of ['lfr.service', 'lfr-usb-import@.service']) {
    const unit = readFileSync(path.join(SYSTEMD, f), 'utf8');
    t.regex(unit, /^LimitCORE=0$/m, f);
    t.regex(unit, /^MemorySwapMax=0$/m, f);
    t.regex(unit, /^UMask=0077$/m, f);
    t.regex(unit, /^NoNewPrivileges=yes$/m, f);
  }
  // The actor of a control request is the peer's real account: no user namespace for the daemon.
  t.notRegex(readFileSync(path.join(SYSTEMD, 'lfr.service'), 'utf8'), /^PrivateUsers=yes$/m);
  const dir = unitDir();
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const r = await analyze(['security', '--offline=yes', path.join(dir, 'lfr-usb-import@.service')]);
  const m = /Overall exposure level for lfr-usb-import@\S*: (\d+\.\d+)/.exec(r.stdout + r.stderr);
  t.truthy(m, r.stdout + r.stderr);
  t.log(`lfr-usb-import@.service exposure ${m![1]}`);
  t.true(Number(m![1]) < 2.5, `exposure ${m![1]}`);
});

test('udev rule: USB partitions with a file system start lfr-usb-import@<kernel name>', (t) => {
  const rule = readFileSync(path.join(SYSTEMD, '99-lfr-usb.rules'), 'utf8').split('\n').filter((l) => l.trim() && !l.startsWith('#'));
  t.is(rule.length, 1);
  const r = rule[0]!;
  for (const part of ['ACTION=="add"', 'SUBSYSTEM=="block"', 'ENV{ID_BUS}=="usb"', 'ENV{ID_FS_USAGE}=="filesystem"', 'ENV{ID_FS_TYPE}=="vfat|exfat"', 'TAG+="systemd"', 'ENV{SYSTEMD_WANTS}+="lfr-usb-import@%k.service"']) t.true(r.includes(part), part);
  // udev syntax: every key is KEY op "value", comma separated.
  for (const kv of r.split(/,\s*/)) t.regex(kv, /^[A-Z_]+(\{[A-Z_]+\})?(==|!=|\+=|=)"[^"]*"$/, kv);
});
