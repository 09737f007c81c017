import test from 'ava';
import { openBundle, bufferSource } from '../../src/watchlist/bundle-read.js';
import { BundleError, encodePrefix, MAGIC, type BundleErrorCode } from '../../src/watchlist/bundle-format.js';
import { packBundle } from '../../src/watchlist/bundle-write.js';
import { bundleBuffer, makeKeys, memberOf, LIMITS, CSV_OK, type Keys } from '../helpers/watchlist-fake.js';

const files = (): [string, Buffer][] => [
  ['a.png', Buffer.alloc(3000, 1)],
  ['b.png', Buffer.alloc(1024, 2)],
  ['c.png', Buffer.alloc(0)],
  ['d.png', Buffer.alloc(5000, 4)],
];

async function drain(buf: Buffer, keys: Keys, limits = LIMITS) {
  const b = await openBundle(bufferSource(buf), keys.trusted, keys.van, limits);
  const out: { name: string; data: Buffer }[] = [];
  try {
    for await (const m of b.members()) out.push({ name: m.name, data: Buffer.from(m.data) });
  } finally {
    b.close();
  }
  return { b, out };
}

async function code(p: Promise<unknown>): Promise<BundleErrorCode | string> {
  try {
    await p;
    return 'accepted';
  } catch (err) {
    return err instanceof BundleError ? err.code : `crash: ${(err as Error).message}`;
  }
}

test('round trip at several chunk sizes (including exact chunk multiples)', async (t) => {
  const keys = makeKeys();
  for (const chunkBytes of [1024, 2048, 65536]) {
    const buf = await bundleBuffer(keys, CSV_OK, files(), { chunkBytes });
    const { b, out } = await drain(buf, keys);
    t.deepEqual(out.map((m) => m.name), ['watchlist.csv', 'a.png', 'b.png', 'c.png', 'd.png']);
    t.is(out[0]!.data.toString(), CSV_OK);
    t.true(out[4]!.data.equals(Buffer.alloc(5000, 4)));
    t.is(b.signerKeyId, keys.trusted[0]!.keyId);
    t.regex(b.bundleSha256, /^[0-9a-f]{64}$/);
    t.is(b.envelope.vanKeyId, keys.van.keyId);
  }
});

test('unsigned, untrusted and wrongly signed bundles are refused before decryption', async (t) => {
  const keys = makeKeys();
  const buf = await bundleBuffer(keys, CSV_OK, files());
  const envLen = buf.readUInt32BE(MAGIC.length);
  const env = buf.subarray(12, 12 + envLen);
  const payload = buf.subarray(12 + envLen + 2 + 64);
  t.is(await code(drain(Buffer.concat([encodePrefix(env, null), payload]), keys)), 'unsigned');
  const stranger = makeKeys();
  t.is(await code(drain(await bundleBuffer({ ...stranger, van: keys.van }, CSV_OK, files()), keys)), 'untrusted_signer');
  t.is(await code(drain(buf, { ...keys, trusted: [] })), 'untrusted_signer');
  const forged = Buffer.from(buf);
  forged[12 + 20] = forged[12 + 20]! ^ 1; // inside the envelope JSON
  t.true(['bad_signature', 'untrusted_signer'].includes(await code(drain(forged, keys))));
});

test('a bundle encrypted to another van is refused before decryption', async (t) => {
  const keys = makeKeys();
  const other = makeKeys();
  const buf = await bundleBuffer(keys, CSV_OK, files(), { vanPublicKey: other.van.publicKey });
  const err = await t.throwsAsync(drain(buf, keys), { instanceOf: BundleError });
  t.is(err?.code, 'wrong_van');
  t.regex(err?.message ?? '', /another van/);
});

test('every single-byte change and every truncation is refused', async (t) => {
  const keys = makeKeys();
  const buf = await bundleBuffer(keys, CSV_OK, files(), { chunkBytes: 1024 });
  const codes = new Set<string>();
  // Every byte of the header region, then every 7th byte of the payload (each region is covered).
  for (let i = 0; i < buf.length; i += i < 600 ? 1 : 7) {
    const m = Buffer.from(buf);
    m[i] = m[i]! ^ 0x01;
    const c = await code(drain(m, keys));
    t.not(c, 'accepted', `byte ${i}`);
    t.false(c.startsWith('crash'), `byte ${i}: ${c}`);
    codes.add(c);
  }
  for (const n of [0, 5, 12, 100, buf.length - 1000, buf.length - 17, buf.length - 1]) {
    const c = await code(drain(buf.subarray(0, n), keys));
    t.true(['truncated', 'not_a_bundle', 'bad_envelope', 'bad_signature'].includes(c), `cut at ${n}: ${c}`);
  }
  t.is(await code(drain(Buffer.concat([buf, Buffer.from([0])]), keys)), 'payload_altered');
  t.true(codes.has('payload_altered') && codes.has('not_a_bundle'));
});

test('the signed envelope of one bundle cannot be paired with the payload of another', async (t) => {
  const keys = makeKeys();
  const a = await bundleBuffer(keys, CSV_OK, files());
  const b = await bundleBuffer(keys, CSV_OK.replace('burglary', 'robbery!'), files());
  const envLen = a.readUInt32BE(MAGIC.length);
  const head = a.subarray(0, 12 + envLen + 2 + 64);
  const envLenB = b.readUInt32BE(MAGIC.length);
  const spliced = Buffer.concat([head, b.subarray(12 + envLenB + 2 + 64)]);
  t.true(['payload_altered', 'truncated'].includes(await code(drain(spliced, keys))));
});

test('traversal names and oversize members in a (validly signed) manifest are refused', async (t) => {
  const keys = makeKeys();
  for (const name of ['../evil.png', '/abs.png', 'a/../../b.png']) {
    t.is(await code(drain(await bundleBuffer(keys, CSV_OK, [[name, Buffer.alloc(10)]]), keys)), 'bad_manifest', name);
  }
  const buf = await bundleBuffer(keys, CSV_OK, files());
  t.is(await code(drain(buf, keys, { ...LIMITS, maxImageBytes: 4000 })), 'limit');
  t.is(await code(drain(buf, keys, { ...LIMITS, maxBundleBytes: buf.length - 1 })), 'too_large');
});

test('a manifest without the CSV first, or listing a name twice, is refused', async (t) => {
  const keys = makeKeys();
  const chunks: Buffer[] = [];
  const { prefix } = await packBundle({
    members: [memberOf('a.png', Buffer.alloc(5)), memberOf('watchlist.csv', Buffer.from(CSV_OK))],
    signer: keys.signer,
    vanPublicKey: keys.van.publicKey,
    createdAt: new Date(),
    writePayload: (c) => {
      chunks.push(c);
    },
  });
  t.is(await code(drain(Buffer.concat([prefix, ...chunks]), keys)), 'bad_manifest');
  t.is(await code(drain(await bundleBuffer(keys, CSV_OK, [['a.png', Buffer.alloc(3)], ['a.png', Buffer.alloc(3)]]), keys)), 'bad_manifest');
});
