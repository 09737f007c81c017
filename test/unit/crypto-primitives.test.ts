import test from 'ava';
import { generateSigningKeyPair, signDetached, verifyDetached, keyId, signingPublicKey } from '../../src/crypto/sign.js';
import { generateBoxKeyPair, sealTo, openSealed, SealError, boxPublicKey } from '../../src/crypto/box.js';
import { StreamEncryptor, StreamDecryptor, StreamError } from '../../src/crypto/stream.js';
import { SecretKey } from '../../src/crypto/secure.js';

test('Ed25519: a signature verifies only for the same message and key', (t) => {
  const a = generateSigningKeyPair();
  const b = generateSigningKeyPair();
  const msg = Buffer.from('manifest');
  const sig = signDetached(msg, a.secretKey);
  t.true(verifyDetached(sig, msg, a.publicKey));
  t.false(verifyDetached(sig, Buffer.from('manifesT'), a.publicKey));
  t.false(verifyDetached(sig, msg, b.publicKey));
  const bad = Buffer.from(sig);
  bad[10] = bad[10]! ^ 1;
  t.false(verifyDetached(bad, msg, a.publicKey));
  t.false(verifyDetached(sig.subarray(0, 63), msg, a.publicKey));
  t.true(signingPublicKey(a.secretKey).equals(a.publicKey));
  t.regex(keyId(a.publicKey), /^[0-9a-f]{16}$/);
  t.not(keyId(a.publicKey), keyId(b.publicKey));
});

test('sealed box: only the addressed key pair opens it, into secure memory', (t) => {
  const van = generateBoxKeyPair();
  const other = generateBoxKeyPair();
  t.true(boxPublicKey(van.secretKey).equals(van.publicKey));
  const secret = Buffer.alloc(32, 7);
  const sealed = sealTo(van.publicKey, secret);
  const k = openSealed(sealed, van);
  t.true(k.bytes.equals(secret));
  k.destroy();
  t.true(k.destroyed);
  t.throws(() => openSealed(sealed, other), { instanceOf: SealError });
  const tampered = Buffer.from(sealed);
  tampered[40] = tampered[40]! ^ 1;
  t.throws(() => openSealed(tampered, van), { instanceOf: SealError });
  t.throws(() => openSealed(sealed.subarray(0, 40), van), { instanceOf: SealError });
});

function encrypt(key: SecretKey, parts: string[]): { header: Buffer; chunks: Buffer[] } {
  const enc = new StreamEncryptor(key);
  const chunks = parts.map((p, i) => enc.push(Buffer.from(p), i === parts.length - 1));
  return { header: enc.header, chunks };
}

test('secretstream: round trip, and the final tag marks the end', (t) => {
  const key = SecretKey.generate(32);
  const { header, chunks } = encrypt(key, ['alpha', 'beta', 'gamma']);
  const dec = new StreamDecryptor(header, key);
  t.deepEqual(chunks.map((c) => dec.pull(c)).map((r) => [r.message.toString(), r.final]), [['alpha', false], ['beta', false], ['gamma', true]]);
  t.true(dec.isFinished);
  t.throws(() => dec.pull(chunks[0]!), { instanceOf: StreamError });
});

test('secretstream: tampered, reordered, dropped chunks and a wrong key all fail', (t) => {
  const key = SecretKey.generate(32);
  const { header, chunks } = encrypt(key, ['alpha', 'beta', 'gamma']);
  const flip = Buffer.from(chunks[1]!);
  flip[3] = flip[3]! ^ 0x40;
  const d1 = new StreamDecryptor(header, key);
  d1.pull(chunks[0]!);
  t.throws(() => d1.pull(flip), { instanceOf: StreamError });
  const d2 = new StreamDecryptor(header, key);
  t.throws(() => d2.pull(chunks[1]!), { instanceOf: StreamError }, 'reordered');
  const d3 = new StreamDecryptor(header, key);
  d3.pull(chunks[0]!);
  t.throws(() => d3.pull(chunks[2]!), { instanceOf: StreamError }, 'dropped');
  const d4 = new StreamDecryptor(header, SecretKey.generate(32));
  t.throws(() => d4.pull(chunks[0]!), { instanceOf: StreamError }, 'wrong key');
  // Truncation at a chunk boundary: every remaining chunk authenticates, but no FINAL tag arrives.
  const d5 = new StreamDecryptor(header, key);
  t.false(d5.pull(chunks[0]!).final);
  t.false(d5.pull(chunks[1]!).final);
  t.false(d5.isFinished);
});
