// Ed25519 signatures for watchlist bundles (the force signs at the station, the van verifies).
// Detached signatures so the signed bytes stay readable by other tools (`jq` on the envelope).
import sodium from 'sodium-native';
import { SecretKey, wipe } from './secure.js';
import { sha256Hex } from './hash.js';

export const SIGN_PUBLIC_BYTES = sodium.crypto_sign_PUBLICKEYBYTES; // 32
export const SIGN_SECRET_BYTES = sodium.crypto_sign_SECRETKEYBYTES; // 64 (seed || public key)
export const SIGNATURE_BYTES = sodium.crypto_sign_BYTES; // 64

export interface SigningKeyPair {
  publicKey: Buffer;
  secretKey: SecretKey;
}

export function generateSigningKeyPair(): SigningKeyPair {
  const pk = Buffer.alloc(SIGN_PUBLIC_BYTES);
  const sk = Buffer.alloc(SIGN_SECRET_BYTES);
  sodium.crypto_sign_keypair(pk, sk);
  const secretKey = SecretKey.from(sk);
  wipe(sk);
  return { publicKey: pk, secretKey };
}

/** Public key of an Ed25519 secret key (libsodium keeps it in the second half). */
export function signingPublicKey(secretKey: SecretKey): Buffer {
  return Buffer.from(secretKey.bytes.subarray(SIGN_SECRET_BYTES - SIGN_PUBLIC_BYTES));
}

export function signDetached(message: Uint8Array, secretKey: SecretKey): Buffer {
  if (secretKey.bytes.length !== SIGN_SECRET_BYTES) throw new Error('not an Ed25519 secret key');
  const sig = Buffer.alloc(SIGNATURE_BYTES);
  sodium.crypto_sign_detached(sig, Buffer.from(message.buffer, message.byteOffset, message.byteLength), secretKey.bytes);
  return sig;
}

/** True only for a valid signature by `publicKey`; wrong lengths are simply invalid. */
export function verifyDetached(signature: Uint8Array, message: Uint8Array, publicKey: Uint8Array): boolean {
  if (signature.length !== SIGNATURE_BYTES || publicKey.length !== SIGN_PUBLIC_BYTES) return false;
  try {
    return sodium.crypto_sign_verify_detached(
      Buffer.from(signature.buffer, signature.byteOffset, signature.byteLength),
      Buffer.from(message.buffer, message.byteOffset, message.byteLength),
      Buffer.from(publicKey.buffer, publicKey.byteOffset, publicKey.byteLength),
    );
  } catch {
    return false;
  }
}

/**
 * Short public identifier of any public key: the first 16 hex digits (64 bits) of its SHA-256.
 * Enough to tell a force's few keys and a fleet's vans apart in reports; never used as a secret.
 */
export const keyId = (publicKey: Uint8Array): string => sha256Hex(publicKey).slice(0, 16);
