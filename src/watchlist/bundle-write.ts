// Station side: pack members (the CSV first, then images) into a signed, encrypted bundle.
// Only the station's signing key and the van's PUBLIC key are needed.
import { createHash } from 'node:crypto';
import { signDetached, keyId, type SigningKeyPair } from '../crypto/sign.js';
import { sealTo } from '../crypto/box.js';
import { StreamEncryptor, STREAM_ABYTES } from '../crypto/stream.js';
import { SecretKey, randomBytes, wipe } from '../crypto/secure.js';
import { sha256Hex } from '../crypto/hash.js';
import { DEFAULT_CHUNK_BYTES, FORMAT, VERSION, encodePrefix, signedMessage, ciphertextSize, type Envelope, type Manifest } from './bundle-format.js';

export interface MemberInput {
  name: string;
  bytes: number;
  sha256: string;
  /** The member's content; called once, in manifest order. */
  read(): Promise<Uint8Array>;
}

export interface PackOptions {
  members: MemberInput[];
  signer: SigningKeyPair;
  vanPublicKey: Buffer;
  createdAt: Date;
  chunkBytes?: number;
  /** Write one encrypted chunk of the payload (in order). */
  writePayload(chunk: Buffer): Promise<void> | void;
}

export interface PackResult {
  /** Magic + envelope + signature: write it before the payload. */
  prefix: Buffer;
  envelope: Envelope;
}

export async function packBundle(opts: PackOptions): Promise<PackResult> {
  const chunkBytes = opts.chunkBytes ?? DEFAULT_CHUNK_BYTES;
  const createdAt = opts.createdAt.toISOString();
  const bundleId = randomBytes(16).toString('hex');
  const forceKeyId = keyId(opts.signer.publicKey);
  const vanKeyId = keyId(opts.vanPublicKey);
  const manifest: Manifest = {
    bundleId,
    createdAt,
    forceKeyId,
    vanKeyId,
    members: opts.members.map((m) => ({ name: m.name, bytes: m.bytes, sha256: m.sha256 })),
  };
  const manifestBytes = Buffer.from(JSON.stringify(manifest), 'utf8');
  const lenPrefix = Buffer.alloc(4);
  lenPrefix.writeUInt32BE(manifestBytes.length);

  const contentKey = SecretKey.generate(32);
  const sealedKey = sealTo(opts.vanPublicKey, contentKey.bytes);
  const enc = new StreamEncryptor(contentKey);
  const ctHash = createHash('sha256');
  let ctBytes = 0;
  const pending = Buffer.alloc(chunkBytes);
  let fill = 0;
  const emit = async (chunk: Buffer, final: boolean) => {
    const c = enc.push(chunk, final);
    ctHash.update(c);
    ctBytes += c.length;
    await opts.writePayload(c);
  };
  const feed = async (data: Uint8Array) => {
    let off = 0;
    while (off < data.length) {
      const n = Math.min(chunkBytes - fill, data.length - off);
      pending.set(data.subarray(off, off + n), fill);
      fill += n;
      off += n;
      if (fill === chunkBytes) {
        await emit(pending, false);
        fill = 0;
      }
    }
  };
  try {
    await feed(lenPrefix);
    await feed(manifestBytes);
    let plain = 4 + manifestBytes.length;
    for (const m of opts.members) {
      const data = await m.read();
      if (data.length !== m.bytes || sha256Hex(data) !== m.sha256) throw new Error(`member ${m.name} changed while the bundle was being built`);
      await feed(data);
      plain += data.length;
    }
    await emit(pending.subarray(0, fill), true);
    if (ctBytes !== ciphertextSize(plain, chunkBytes, STREAM_ABYTES)) throw new Error('internal error: ciphertext size mismatch');
  } finally {
    wipe(pending);
    contentKey.destroy();
  }
  const envelope: Envelope = {
    format: FORMAT,
    version: VERSION,
    bundleId,
    createdAt,
    forceKeyId,
    vanKeyId,
    sealedKey: sealedKey.toString('base64'),
    stream: { header: enc.header.toString('base64'), chunkBytes, ciphertextBytes: ctBytes, ciphertextSha256: ctHash.digest('hex') },
    manifestSha256: sha256Hex(manifestBytes),
  };
  const envBytes = Buffer.from(JSON.stringify(envelope), 'utf8');
  const signature = signDetached(signedMessage(envBytes), opts.signer.secretKey);
  return { prefix: encodePrefix(envBytes, signature), envelope };
}
