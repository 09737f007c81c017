// Van side: verify and decrypt a bundle. The order is the security argument (docs/watchlist-bundle.md):
//   1. size limit, magic, envelope length          (no parsing of anything unbounded)
//   2. Ed25519 signature over the raw envelope bytes, tried against each trusted key BEFORE the
//      JSON is parsed, so untrusted input reaches only a fixed-size signature check
//   3. the envelope names this van's key id        (a bundle for another van stops here)
//   4. one pass over the payload: its length and SHA-256 must equal the signed values, so any
//      changed, missing or extra byte stops here, before any private-key operation or decryption
//   5. unseal the content key, decrypt the manifest, check its SHA-256 against the signed value
//   6. members() decrypts member by member; each member's SHA-256 is checked before it is returned
// Only after all of this does the importer parse the CSV and decode an image.
import { createHash } from 'node:crypto';
import type { FileHandle } from 'node:fs/promises';
import { openRegularFile } from '../util/files.js';
import { verifyDetached } from '../crypto/sign.js';
import { openSealed, SealError, type BoxKeyPair } from '../crypto/box.js';
import { StreamDecryptor, StreamError, STREAM_ABYTES } from '../crypto/stream.js';
import { sha256Hex } from '../crypto/hash.js';
import type { PublicKeyInfo } from '../crypto/keys.js';
import type { SecretKey } from '../crypto/secure.js';
import {
  BundleError, CSV_MEMBER, MAGIC, MAX_ENVELOPE_BYTES, MANIFEST_BYTES_PER_MEMBER, ciphertextSize, envelopeSchema, manifestSchema, signedMessage,
  type Envelope, type Manifest,
} from './bundle-format.js';
import { memberNameProblem } from './names.js';

/** Random access to the bundle bytes (a file, or a buffer in tests). */
export interface BundleSource {
  readonly size: number;
  read(position: number, length: number): Promise<Buffer>;
  close(): Promise<void>;
}

export function bufferSource(buf: Buffer): BundleSource {
  return { size: buf.length, read: async (p, l) => buf.subarray(p, Math.min(buf.length, p + l)), close: async () => {} };
}

/** A bundle file: symlinks, FIFOs and devices are refused before a byte is read (util/files.ts). */
export async function fileSource(file: string): Promise<BundleSource> {
  let fh: FileHandle;
  let size: number;
  try {
    ({ fh, size } = await openRegularFile(file));
  } catch (err) {
    throw new BundleError('not_a_bundle', `bundle ${(err as Error).message}`);
  }
  return {
    size,
    async read(position, length) {
      const buf = Buffer.alloc(length);
      const { bytesRead } = await fh.read(buf, 0, length, position);
      return buf.subarray(0, bytesRead);
    },
    close: () => fh.close(),
  };
}

export interface BundleLimits {
  maxBundleBytes: number;
  maxImageBytes: number;
  maxSubjects: number;
}

export interface VanKey extends BoxKeyPair {
  keyId: string;
}

export interface VerifiedBundle {
  envelope: Envelope;
  manifest: Manifest;
  signerKeyId: string;
  /** SHA-256 of the whole bundle file, for reports and the audit trail. */
  bundleSha256: string;
  /** Decrypt and verify members in manifest order (the CSV first). Call once. */
  members(): AsyncGenerator<{ name: string; data: Buffer }>;
  /** Destroy the content key. */
  close(): void;
}

/** Largest CSV accepted: about 1 KiB per subject, plus room for the header. */
export const maxCsvBytes = (limits: BundleLimits): number => limits.maxSubjects * 1024 + 65_536;

const HASH_READ = 1 << 20; // 1 MiB reads for the hashing pass

async function readExact(src: BundleSource, pos: number, len: number, what: string): Promise<Buffer> {
  const b = await src.read(pos, len);
  if (b.length !== len) throw new BundleError('truncated', `bundle is truncated (${what} incomplete)`);
  return b;
}

export async function openBundle(src: BundleSource, trusted: readonly PublicKeyInfo[], van: VanKey, limits: BundleLimits): Promise<VerifiedBundle> {
  // 1. framing
  if (src.size > limits.maxBundleBytes) throw new BundleError('too_large', `bundle is ${src.size} bytes, over watchlist.maxBundleBytes (${limits.maxBundleBytes})`);
  if (src.size < MAGIC.length + 4) throw new BundleError(src.size === 0 ? 'not_a_bundle' : 'truncated', src.size === 0 ? 'bundle file is empty' : 'bundle is truncated');
  const head = await readExact(src, 0, MAGIC.length + 4, 'header');
  if (!head.subarray(0, MAGIC.length).equals(MAGIC)) throw new BundleError('not_a_bundle', 'not an lfr watchlist bundle (wrong magic bytes)');
  const envLen = head.readUInt32BE(MAGIC.length);
  if (envLen < 2 || envLen > MAX_ENVELOPE_BYTES) throw new BundleError('bad_envelope', 'bundle header is damaged (envelope length out of range)');
  const envBytes = await readExact(src, MAGIC.length + 4, envLen, 'envelope');
  let pos = MAGIC.length + 4 + envLen;
  const sigLen = (await readExact(src, pos, 2, 'signature length')).readUInt16BE(0);
  pos += 2;
  if (sigLen === 0) throw new BundleError('unsigned', 'bundle is not signed');
  if (sigLen !== 64) throw new BundleError('bad_signature', 'bundle signature is damaged (wrong length)');
  const signature = await readExact(src, pos, sigLen, 'signature');
  pos += sigLen;

  // 2. signature against the raw bytes, before parsing them
  if (trusted.length === 0) throw new BundleError('untrusted_signer', 'no trusted signing keys configured (watchlist.trustedSigningKeys or --trust)');
  const msg = signedMessage(envBytes);
  const signer = trusted.find((k) => k.kind === 'signing' && verifyDetached(signature, msg, k.publicKey));
  if (!signer) {
    let claimed: unknown;
    try {
      claimed = (JSON.parse(envBytes.toString('utf8')) as { forceKeyId?: unknown }).forceKeyId;
    } catch {
      claimed = undefined;
    }
    if (typeof claimed === 'string' && /^[0-9a-f]{16}$/.test(claimed) && !trusted.some((k) => k.keyId === claimed)) {
      throw new BundleError('untrusted_signer', `bundle is signed by key ${claimed}, which is not a trusted signing key`);
    }
    throw new BundleError('bad_signature', 'bundle signature does not verify: the bundle was altered or damaged');
  }
  let envelope: Envelope;
  try {
    envelope = envelopeSchema.parse(JSON.parse(envBytes.toString('utf8')));
  } catch {
    throw new BundleError('bad_envelope', 'bundle envelope is signed but not valid (made by an incompatible builder?)');
  }
  if (envelope.forceKeyId !== signer.keyId) throw new BundleError('bad_envelope', 'bundle envelope names a different signing key than the one that signed it');

  // 3. addressed to this van?
  if (envelope.vanKeyId !== van.keyId) throw new BundleError('wrong_van', `bundle is encrypted to another van (key ${envelope.vanKeyId}; this van is ${van.keyId})`);

  // 4. payload length and hash, one streaming pass (also the whole-file hash for the report)
  const payloadStart = pos;
  const ctBytes = src.size - payloadStart;
  if (ctBytes < envelope.stream.ciphertextBytes) throw new BundleError('truncated', 'bundle is truncated (payload shorter than signed)');
  if (ctBytes > envelope.stream.ciphertextBytes) throw new BundleError('payload_altered', 'bundle has extra bytes after the signed payload');
  const fileHash = createHash('sha256').update(head).update(envBytes).update(Buffer.from([sigLen >> 8, sigLen & 255])).update(signature);
  const ctHash = createHash('sha256');
  for (let p = payloadStart; p < src.size; ) {
    const b = await readExact(src, p, Math.min(HASH_READ, src.size - p), 'payload');
    ctHash.update(b);
    fileHash.update(b);
    p += b.length;
  }
  if (ctHash.digest('hex') !== envelope.stream.ciphertextSha256) throw new BundleError('payload_altered', 'bundle payload does not match its signed hash: altered or damaged');
  const bundleSha256 = fileHash.digest('hex');

  // 5. content key and manifest
  let contentKey: SecretKey;
  try {
    contentKey = openSealed(Buffer.from(envelope.sealedKey, 'base64'), van);
  } catch (err) {
    if (err instanceof SealError) throw new BundleError('wrong_van', 'bundle content key cannot be opened with this van key (encrypted to another van)');
    throw err;
  }
  const reader = new PlainReader(src, payloadStart, envelope, contentKey);
  try {
    const manifest = await readManifest(reader, envelope, limits);
    return {
      envelope,
      manifest,
      signerKeyId: signer.keyId,
      bundleSha256,
      members: () => memberIterator(reader, manifest),
      close: () => contentKey.destroy(),
    };
  } catch (err) {
    contentKey.destroy();
    throw err;
  }
}

async function readManifest(reader: PlainReader, env: Envelope, limits: BundleLimits): Promise<Manifest> {
  const maxManifest = (limits.maxSubjects * 10 + 1) * MANIFEST_BYTES_PER_MEMBER;
  const len = (await reader.read(4)).readUInt32BE(0);
  if (len > maxManifest) throw new BundleError('bad_manifest', 'bundle manifest is larger than the limits allow');
  const bytes = await reader.read(len);
  if (sha256Hex(bytes) !== env.manifestSha256) throw new BundleError('member_altered', 'bundle manifest does not match its signed hash');
  let m: Manifest;
  try {
    m = manifestSchema.parse(JSON.parse(bytes.toString('utf8')));
  } catch {
    throw new BundleError('bad_manifest', 'bundle manifest is not valid');
  }
  if (m.bundleId !== env.bundleId || m.vanKeyId !== env.vanKeyId || m.forceKeyId !== env.forceKeyId || m.createdAt !== env.createdAt) {
    throw new BundleError('bad_manifest', 'bundle manifest does not belong to this envelope');
  }
  if (m.members[0]?.name !== CSV_MEMBER) throw new BundleError('bad_manifest', `bundle manifest must list ${CSV_MEMBER} first`);
  const seen = new Set<string>();
  let plain = 4 + len;
  for (const [i, mem] of m.members.entries()) {
    const p = memberNameProblem(mem.name);
    if (p) throw new BundleError('bad_manifest', `bundle ${memberLabel(i)}: ${p}`);
    if (seen.has(mem.name)) throw new BundleError('bad_manifest', `bundle ${memberLabel(i)} is listed twice`);
    seen.add(mem.name);
    const cap = i === 0 ? maxCsvBytes(limits) : limits.maxImageBytes;
    if (mem.bytes > cap) throw new BundleError('limit', `bundle ${memberLabel(i)} is ${mem.bytes} bytes, over the limit (${cap}${i === 0 ? ', CSV' : ', watchlist.maxImageBytes'})`);
    plain += mem.bytes;
  }
  if (m.members.length - 1 > limits.maxSubjects * 10) throw new BundleError('limit', 'bundle has more images than the limits allow');
  if (ciphertextSize(plain, env.stream.chunkBytes, STREAM_ABYTES) !== env.stream.ciphertextBytes) throw new BundleError('bad_manifest', 'bundle manifest sizes do not add up to the payload size');
  return m;
}

/**
 * A member as errors name it: by position, never by its file name. Stations name reference photos
 * after the person ("SMITH John 1980.jpg"), and these messages reach the audit trail
 * (watchlist.import_rejected) and, for a USB import, the journal, which outlive the watchlist.
 */
function memberLabel(i: number): string {
  return i === 0 ? `member 1 (${CSV_MEMBER})` : `member ${i + 1} (image ${i} in the CSV's order)`;
}

async function* memberIterator(reader: PlainReader, manifest: Manifest): AsyncGenerator<{ name: string; data: Buffer }> {
  for (const [i, mem] of manifest.members.entries()) {
    const data = await reader.read(mem.bytes);
    if (sha256Hex(data) !== mem.sha256) throw new BundleError('member_altered', `bundle ${memberLabel(i)} does not match its signed hash`);
    yield { name: mem.name, data };
  }
  await reader.end();
}

/** Sequential plaintext over the secretstream chunks. */
class PlainReader {
  private readonly dec: StreamDecryptor;
  private pos: number;
  private readonly end_: number;
  private buf: Buffer = Buffer.alloc(0);

  constructor(
    private readonly src: BundleSource,
    start: number,
    private readonly env: Envelope,
    key: SecretKey,
  ) {
    try {
      this.dec = new StreamDecryptor(Buffer.from(env.stream.header, 'base64'), key);
    } catch {
      throw new BundleError('decrypt_failed', 'bundle stream header is damaged');
    }
    this.pos = start;
    this.end_ = start + env.stream.ciphertextBytes;
  }

  private async nextChunk(): Promise<void> {
    const full = this.env.stream.chunkBytes + STREAM_ABYTES;
    const left = this.end_ - this.pos;
    if (left <= 0 || this.dec.isFinished) throw new BundleError('truncated', 'bundle payload ended early');
    // A full chunk is never final (the final chunk is always shorter), so take a full one only
    // when at least one more (final) chunk must follow it.
    const len = left >= full + STREAM_ABYTES ? full : left;
    const c = await readExact(this.src, this.pos, len, 'payload');
    this.pos += len;
    let r: { message: Buffer; final: boolean };
    try {
      r = this.dec.pull(c);
    } catch (err) {
      if (err instanceof StreamError) throw new BundleError('decrypt_failed', `bundle payload failed authentication: ${err.message}`);
      throw err;
    }
    if (r.final !== (this.pos === this.end_)) throw new BundleError('decrypt_failed', 'bundle payload end marker is misplaced');
    this.buf = this.buf.length ? Buffer.concat([this.buf, r.message]) : r.message;
  }

  async read(n: number): Promise<Buffer> {
    const parts: Buffer[] = [];
    let need = n;
    while (need > 0) {
      if (this.buf.length === 0) await this.nextChunk();
      const take = Math.min(need, this.buf.length);
      parts.push(this.buf.subarray(0, take));
      this.buf = this.buf.subarray(take);
      need -= take;
    }
    return parts.length === 1 ? parts[0]! : Buffer.concat(parts, n);
  }

  /** Everything consumed and the FINAL tag seen: nothing hidden after the last member. */
  async end(): Promise<void> {
    if (!this.dec.isFinished && this.pos < this.end_) await this.nextChunk();
    if (this.buf.length !== 0 || !this.dec.isFinished || this.pos !== this.end_) throw new BundleError('bad_manifest', 'bundle payload has data after the last member');
  }
}
