// The van key sealed to the box (issue 21 item 2) with the real systemd-creds, host key mode (no
// TPM here; each "box" is its own host key file through SYSTEMD_CREDENTIAL_SECRET, which
// systemd-creds honours): the key loads from FILE.cred and from $CREDENTIALS_DIRECTORY (as
// lfr.service's LoadCredentialEncrypted= gives it), health says which protection is in force, and
// a credential from another box or tampered stops `lfr run` before anything is opened, naming it.
import test from 'ava';
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { generateKeyFiles, readVanSecretKey } from '../../src/crypto/keys.js';
import { SealedCredentialError, sealCredential, vanKeyProtection, vanKeySource } from '../../src/crypto/sealed.js';
import { checkKeyProtection } from '../../src/health/keys.js';
import { requirePrereqs } from '../helpers/prereq.js';
import { Van } from '../helpers/van.js';

function box(dir: string, name: string): string {
  // A host key file is created by the first encrypt that uses it.
  const secret = path.join(dir, `${name}.secret`);
  const probe = path.join(dir, `${name}.probe`);
  writeFileSync(probe, 'x');
  execFileSync('/usr/bin/systemd-creds', ['encrypt', '--name=probe', '--with-key=host', probe, `${probe}.cred`], { env: { ...process.env, SYSTEMD_CREDENTIAL_SECRET: secret }, stdio: 'ignore' });
  return secret;
}

function sealOn(secret: string, keyFile: string): void {
  const prev = process.env.SYSTEMD_CREDENTIAL_SECRET;
  process.env.SYSTEMD_CREDENTIAL_SECRET = secret;
  try {
    sealCredential(keyFile, `${keyFile}.cred`, 'host');
  } finally {
    if (prev === undefined) delete process.env.SYSTEMD_CREDENTIAL_SECRET;
    else process.env.SYSTEMD_CREDENTIAL_SECRET = prev;
  }
}

test.serial('sealed van key: loads on its box, from FILE.cred and from $CREDENTIALS_DIRECTORY; another box or a tampered credential is refused by name', (t) => {
  requirePrereqs(['systemd-creds']);
  const d = mkdtempSync(path.join(os.tmpdir(), 'lfr-sealed-'));
  t.teardown(() => rmSync(d, { recursive: true, force: true }));
  const boxA = box(d, 'boxA');
  const boxB = box(d, 'boxB');
  const k = generateKeyFiles('van', path.join(d, 'keys'), 'van');
  t.is(vanKeyProtection(k.privateFile, {}).label, 'plain file: WARN');
  t.is(checkKeyProtection(vanKeyProtection(k.privateFile, {})).level, 'WARN');

  sealOn(boxA, k.privateFile);
  t.is(vanKeyProtection(k.privateFile, {}).label, 'sealed (host key)');
  t.is(checkKeyProtection(vanKeyProtection(k.privateFile, {})).level, 'WARN', 'the plain copy is still there');
  rmSync(k.privateFile);
  const p = vanKeyProtection(k.privateFile, {});
  t.is(p.label, 'sealed (host key)');
  t.is(checkKeyProtection(p).level, 'OK');
  t.log(checkKeyProtection(p).message);

  const saved = process.env.SYSTEMD_CREDENTIAL_SECRET;
  t.teardown(() => (saved === undefined ? delete process.env.SYSTEMD_CREDENTIAL_SECRET : (process.env.SYSTEMD_CREDENTIAL_SECRET = saved)));
  process.env.SYSTEMD_CREDENTIAL_SECRET = boxA;
  const key = readVanSecretKey(k.privateFile);
  t.is(key.keyId, k.keyId, 'the sealed key is the van key');
  key.secretKey.destroy();

  // Another box: its own host key cannot open it.
  process.env.SYSTEMD_CREDENTIAL_SECRET = boxB;
  const other = t.throws(() => readVanSecretKey(k.privateFile), { instanceOf: SealedCredentialError });
  t.regex(other!.message, /^credential lfr-van-key \(.*van\.key\.cred\) cannot be decrypted on this box/);
  t.log(other!.message);

  // Tampered on its own box: GCM refuses it.
  process.env.SYSTEMD_CREDENTIAL_SECRET = boxA;
  const cred = `${k.privateFile}.cred`;
  const good = readFileSync(cred, 'utf8');
  const raw = Buffer.from(good.replace(/\s+/g, ''), 'base64');
  raw[raw.length - 20] = raw[raw.length - 20]! ^ 0x01;
  writeFileSync(cred, raw.toString('base64'));
  t.throws(() => readVanSecretKey(k.privateFile), { instanceOf: SealedCredentialError, message: /credential lfr-van-key .*cannot be decrypted/ });
  writeFileSync(cred, good);

  // Under lfr.service: systemd decrypted it into $CREDENTIALS_DIRECTORY (0400, the daemon's).
  const credDir = path.join(d, 'credentials');
  mkdirSync(credDir, { mode: 0o700 });
  const plain = execFileSync('/usr/bin/systemd-creds', ['decrypt', '--name=lfr-van-key', cred, '-'], { env: { ...process.env, SYSTEMD_CREDENTIAL_SECRET: boxA } });
  writeFileSync(path.join(credDir, 'lfr-van-key'), plain, { mode: 0o400 });
  chmodSync(path.join(credDir, 'lfr-van-key'), 0o400);
  process.env.SYSTEMD_CREDENTIAL_SECRET = boxB; // the daemon itself never decrypts here
  process.env.CREDENTIALS_DIRECTORY = credDir;
  t.teardown(() => delete process.env.CREDENTIALS_DIRECTORY);
  t.is(vanKeySource(k.privateFile).kind, 'credentials-dir');
  t.is(vanKeyProtection(k.privateFile).label, 'sealed (host key)', 'the seal is read from the .cred header');
  const viaDir = readVanSecretKey(k.privateFile);
  t.is(viaDir.keyId, k.keyId);
  viaDir.secretKey.destroy();
  delete process.env.CREDENTIALS_DIRECTORY;
});

test.serial('lfr run refuses to start on a van key sealed to another box or tampered, naming the credential; on its own box it runs and lfr health says "sealed (host key)"', async (t) => {
  requirePrereqs(['systemd-creds']);
  const d = mkdtempSync(path.join(os.tmpdir(), 'lfr-sealed-van-'));
  t.teardown(() => rmSync(d, { recursive: true, force: true }));
  const boxA = box(d, 'boxA');
  const boxB = box(d, 'boxB');
  const van = await Van.create(t, { broker: false, metrics: false, env: { SYSTEMD_CREDENTIAL_SECRET: boxB } });
  sealOn(boxA, van.keys.vanKey);
  rmSync(van.keys.vanKey);

  const err = await t.throwsAsync(() => van.start());
  t.regex(err!.message, /credential lfr-van-key \(.*van\.key\.cred\) cannot be decrypted on this box/);
  t.log(err!.message.split('\n').find((l) => l.includes('lfr-van-key'))?.slice(0, 300));
  // Stopped at the first step: the audit log was never opened, no store created, nothing purged.
  const state = path.join(van.dir, 'state');
  t.false(existsSync(path.join(state, 'audit.db')), 'audit never opened');
  t.false(existsSync(path.join(state, 'alerts.db')), 'alert store never opened');

  // Tampered on its own box (issue 21, Bad input): refused the same way, naming the credential.
  const tampered = await Van.create(t, { broker: false, metrics: false, env: { SYSTEMD_CREDENTIAL_SECRET: boxA } });
  sealOn(boxA, tampered.keys.vanKey);
  rmSync(tampered.keys.vanKey);
  const credFile = `${tampered.keys.vanKey}.cred`;
  const raw = Buffer.from(readFileSync(credFile, 'utf8').replace(/\s+/g, ''), 'base64');
  raw[raw.length - 20] = raw[raw.length - 20]! ^ 0x01;
  writeFileSync(credFile, raw.toString('base64'));
  const bad = await t.throwsAsync(() => tampered.start());
  t.regex(bad!.message, /credential lfr-van-key \(.*van\.key\.cred\) cannot be decrypted/);
  t.false(existsSync(path.join(tampered.dir, 'state', 'audit.db')), 'audit never opened');
  t.false(existsSync(path.join(tampered.dir, 'state', 'alerts.db')), 'alert store never opened');

  const ok = await Van.create(t, { broker: false, metrics: false, env: { SYSTEMD_CREDENTIAL_SECRET: boxA } });
  sealOn(boxA, ok.keys.vanKey);
  rmSync(ok.keys.vanKey);
  await ok.start();
  try {
    const h = await ok.cliJson<{ checks: Array<{ name: string; level: string; message: string }> }>(['health'], [0, 1]);
    const c = h.checks.find((x) => x.name === 'keys.van');
    t.truthy(c, JSON.stringify(h.checks.map((x) => x.name)));
    t.is(c!.level, 'OK');
    t.regex(c!.message, /^sealed \(host key\)/);
  } finally {
    await ok.stop();
  }
});
