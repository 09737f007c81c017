// X25519 key pairs for vans and anonymous sealed boxes (crypto_box_seal): the station encrypts a
// random content key to a van's public key without holding a key of its own; only the holder of
// the van's private key can open it.
import sodium from 'sodium-native';
import { SecretKey, wipe } from './secure.js';

export const BOX_PUBLIC_BYTES = sodium.crypto_box_PUBLICKEYBYTES; // 32
export const BOX_SECRET_BYTES = sodium.crypto_box_SECRETKEYBYTES; // 32
export const SEAL_OVERHEAD = sodium.crypto_box_SEALBYTES; // 48: ephemeral public key + MAC

export interface BoxKeyPair {
  publicKey: Buffer;
  secretKey: SecretKey;
}

export class SealError extends Error {
  constructor(message = 'sealed box cannot be opened with this key (encrypted to another key, or damaged)') {
    super(message);
    this.name = 'SealError';
  }
}

export function generateBoxKeyPair(): BoxKeyPair {
  const pk = Buffer.alloc(BOX_PUBLIC_BYTES);
  const sk = Buffer.alloc(BOX_SECRET_BYTES);
  sodium.crypto_box_keypair(pk, sk);
  const secretKey = SecretKey.from(sk);
  wipe(sk);
  return { publicKey: pk, secretKey };
}

/** Public key of an X25519 secret key (scalar multiplication with the base point). */
export function boxPublicKey(secretKey: SecretKey): Buffer {
  const pk = Buffer.alloc(BOX_PUBLIC_BYTES);
  sodium.crypto_scalarmult_base(pk, secretKey.bytes);
  return pk;
}

export function sealTo(publicKey: Uint8Array, message: Uint8Array): Buffer {
  if (publicKey.length !== BOX_PUBLIC_BYTES) throw new Error('not an X25519 public key');
  const out = Buffer.alloc(message.length + SEAL_OVERHEAD);
  sodium.crypto_box_seal(out, Buffer.from(message.buffer, message.byteOffset, message.byteLength), Buffer.from(publicKey));
  return out;
}

/** Open a sealed box into secure memory; throws SealError when it was not sealed to this pair. */
export function openSealed(sealed: Uint8Array, pair: BoxKeyPair): SecretKey {
  if (sealed.length <= SEAL_OVERHEAD) throw new SealError('sealed box too short');
  const out = Buffer.alloc(sealed.length - SEAL_OVERHEAD);
  let ok = false;
  try {
    ok = sodium.crypto_box_seal_open(out, Buffer.from(sealed.buffer, sealed.byteOffset, sealed.byteLength), pair.publicKey, pair.secretKey.bytes);
  } catch {
    ok = false;
  }
  if (!ok) {
    wipe(out);
    throw new SealError();
  }
  const key = SecretKey.from(out);
  wipe(out);
  return key;
}
