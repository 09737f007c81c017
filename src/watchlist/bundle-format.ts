// The watchlist bundle file layout (docs/watchlist-bundle.md is the reference):
//
//   magic      8 bytes   "LFRWLB1\n"
//   envLen     4 bytes   u32 big-endian, 1..MAX_ENVELOPE_BYTES
//   envelope   envLen    UTF-8 JSON (Envelope), the exact bytes that are signed
//   sigLen     2 bytes   u16 big-endian: 0 (unsigned: always refused) or 64
//   signature  sigLen    Ed25519 over SIGN_CONTEXT || envelope
//   payload    the rest  crypto_secretstream chunks of CHUNK plaintext bytes (+17), the last shorter and
//                        tagged FINAL; plaintext = u32 manifestLen || manifest JSON || members in manifest order
import { z } from 'zod';

export const MAGIC = Buffer.from('LFRWLB1\n', 'ascii');

/**
 * The only categories a watchlist entry may carry (the CSV's `category` column). A category leaves
 * the van (composition reports, the alert on the tablet, the audit's counts), so it is a closed
 * list, not free text someone could write a name or an allegation into. The list follows the
 * College of Policing LFR APP's watchlist grounds; adding one is a format change reviewed here.
 */
export const WATCHLIST_CATEGORIES = ['wanted', 'suspect', 'bail conditions', 'court order', 'missing person', 'at risk', 'victim', 'witness'] as const;
export type WatchlistCategory = (typeof WATCHLIST_CATEGORIES)[number];
export const FORMAT = 'lfr-watchlist-bundle';
export const VERSION = 1;
/** Domain separation: a signature made for anything else can never verify as a bundle signature. */
export const SIGN_CONTEXT = Buffer.from('lfr-watchlist-bundle/1\0', 'ascii');
/** The envelope is a few hundred bytes; 64 KiB bounds what the JSON parser sees before the signature check. */
export const MAX_ENVELOPE_BYTES = 65_536;
/** 64 KiB plaintext per chunk: small enough to bound memory, large enough that the 17-byte tags cost 0.03 %. */
export const DEFAULT_CHUNK_BYTES = 65_536;
export const CSV_MEMBER = 'watchlist.csv';
/** A manifest lists names, sizes and hashes only: 256 bytes per member is generous. */
export const MANIFEST_BYTES_PER_MEMBER = 512;

const hex = (n: number) => z.string().regex(new RegExp(`^[0-9a-f]{${n}}$`));
const b64 = z.string().regex(/^[A-Za-z0-9+/]+={0,2}$/);

export const envelopeSchema = z
  .object({
    format: z.literal(FORMAT),
    version: z.literal(VERSION),
    bundleId: hex(32),
    createdAt: z.iso.datetime(),
    forceKeyId: hex(16),
    vanKeyId: hex(16),
    sealedKey: b64,
    stream: z
      .object({
        header: b64,
        chunkBytes: z.number().int().min(1024).max(16 * 1024 * 1024),
        ciphertextBytes: z.number().int().min(1),
        ciphertextSha256: hex(64),
      })
      .strict(),
    manifestSha256: hex(64),
  })
  .strict();
export type Envelope = z.infer<typeof envelopeSchema>;

export const manifestSchema = z
  .object({
    bundleId: hex(32),
    createdAt: z.iso.datetime(),
    forceKeyId: hex(16),
    vanKeyId: hex(16),
    members: z
      .array(z.object({ name: z.string().min(1), bytes: z.number().int().min(0), sha256: hex(64) }).strict())
      .min(2),
  })
  .strict();
export type Manifest = z.infer<typeof manifestSchema>;
export type ManifestMember = Manifest['members'][number];

export type BundleErrorCode =
  | 'too_large'
  | 'not_a_bundle'
  | 'truncated'
  | 'bad_envelope'
  | 'unsigned'
  | 'untrusted_signer'
  | 'bad_signature'
  | 'wrong_van'
  | 'payload_altered'
  | 'decrypt_failed'
  | 'bad_manifest'
  | 'member_altered'
  | 'limit';

export class BundleError extends Error {
  constructor(
    readonly code: BundleErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'BundleError';
  }
}

/** Magic, envelope and signature: everything before the encrypted payload. */
export function encodePrefix(envelope: Uint8Array, signature: Uint8Array | null): Buffer {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(envelope.length);
  const sigLen = Buffer.alloc(2);
  sigLen.writeUInt16BE(signature ? signature.length : 0);
  return Buffer.concat([MAGIC, len, envelope, sigLen, ...(signature ? [signature] : [])]);
}

export const signedMessage = (envelope: Uint8Array): Buffer => Buffer.concat([SIGN_CONTEXT, envelope]);

/** Ciphertext size of a plaintext of `plain` bytes cut into `chunk`-byte chunks (+17 bytes each). */
export function ciphertextSize(plain: number, chunk: number, abytes: number): number {
  const full = Math.floor(plain / chunk);
  return full * (chunk + abytes) + (plain - full * chunk) + abytes;
}
