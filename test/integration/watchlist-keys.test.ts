// Key files on disk: modes, kinds, damage, no overwrite.
import test from 'ava';
import { chmodSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { generateKeyFiles, readPublicKey, readSigningSecretKey, readVanSecretKey, KeyFileError } from '../../src/crypto/keys.js';
import { signDetached, verifyDetached } from '../../src/crypto/sign.js';
import { sealTo, openSealed } from '../../src/crypto/box.js';

const dir = () => mkdtempSync(path.join(tmpdir(), 'lfr-keys-'));

test('generated pairs work together and carry matching key ids', (t) => {
  const d = dir();
  const s = generateKeyFiles('signing', d, 'force');
  const v = generateKeyFiles('van', d, 'van');
  t.is(statSync(s.privateFile).mode & 0o777, 0o600);
  t.is(statSync(v.privateFile).mode & 0o777, 0o600);
  const sk = readSigningSecretKey(s.privateFile);
  const pk = readPublicKey(s.publicFile, 'signing');
  t.is(sk.keyId, s.keyId);
  t.is(pk.keyId, s.keyId);
  t.true(verifyDetached(signDetached(Buffer.from('m'), sk.secretKey), Buffer.from('m'), pk.publicKey));
  const vk = readVanSecretKey(v.privateFile);
  const vp = readPublicKey(v.publicFile, 'van');
  t.is(vp.keyId, v.keyId);
  t.true(openSealed(sealTo(vp.publicKey, Buffer.alloc(32, 3)), vk).bytes.equals(Buffer.alloc(32, 3)));
  t.false(readFileSync(s.publicFile, 'utf8').includes('secretKey'));
});

test('wrong kind, public-for-private, loose modes, damage and overwrite are refused with plain messages', (t) => {
  const d = dir();
  const s = generateKeyFiles('signing', d, 'force');
  const v = generateKeyFiles('van', d, 'van');
  t.throws(() => readPublicKey(v.publicFile, 'signing'), { instanceOf: KeyFileError, message: /not a signing public key/ });
  t.throws(() => readPublicKey(s.privateFile, 'signing'), { instanceOf: KeyFileError, message: /PRIVATE signing key; give the \.pub/ });
  t.throws(() => readVanSecretKey(s.privateFile), { instanceOf: KeyFileError, message: /not a van private key/ });
  chmodSync(v.publicFile, 0o600);
  t.throws(() => readVanSecretKey(v.publicFile), { instanceOf: KeyFileError, message: /PUBLIC van key/ });
  chmodSync(v.privateFile, 0o640);
  t.throws(() => readVanSecretKey(v.privateFile), { instanceOf: KeyFileError, message: /chmod 600/ });
  chmodSync(v.privateFile, 0o600);
  const doc = JSON.parse(readFileSync(v.privateFile, 'utf8')) as Record<string, string>;
  const other = generateKeyFiles('van', d, 'other');
  doc.publicKey = (JSON.parse(readFileSync(other.publicFile, 'utf8')) as { key: string }).key;
  writeFileSync(v.privateFile, JSON.stringify(doc), { mode: 0o600 });
  t.throws(() => readVanSecretKey(v.privateFile), { instanceOf: KeyFileError, message: /damaged/ });
  writeFileSync(v.privateFile, 'not json', { mode: 0o600 });
  t.throws(() => readVanSecretKey(v.privateFile), { instanceOf: KeyFileError, message: /not an lfr key file/ });
  t.throws(() => readPublicKey(path.join(d, 'nope.pub'), 'van'), { instanceOf: KeyFileError, message: /not found/ });
  t.throws(() => generateKeyFiles('signing', d, 'force'), { instanceOf: KeyFileError, message: /refusing to overwrite/ });
  t.throws(() => generateKeyFiles('signing', d, '../evil'), { instanceOf: KeyFileError, message: /bad key name/ });
});
