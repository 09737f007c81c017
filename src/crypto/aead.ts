// Authenticated per-record encryption (XChaCha20-Poly1305 IETF) for the SQLite stores. The
// associated data binds a ciphertext to its row (table, id, column), so a ciphertext copied into
// another row fails to decrypt instead of silently showing the wrong face.
import sodium from 'sodium-native';
import { randomBytes, type SecretKey } from './secure.js';

const NPUB = sodium.crypto_aead_xchacha20poly1305_ietf_NPUBBYTES; // 24
const ABYTES = sodium.crypto_aead_xchacha20poly1305_ietf_ABYTES; // 16
export const AEAD_KEY_BYTES = sodium.crypto_aead_xchacha20poly1305_ietf_KEYBYTES; // 32

export class DecryptError extends Error {
  constructor(message = 'record failed authentication (wrong key, tampered or misplaced ciphertext)') {
    super(message);
    this.name = 'DecryptError';
  }
}

/** Encrypt; output is nonce || ciphertext || tag. */
export function seal(key: SecretKey, plaintext: Uint8Array, ad: string): Buffer {
  const nonce = randomBytes(NPUB);
  const out = Buffer.alloc(NPUB + plaintext.length + ABYTES);
  nonce.copy(out, 0);
  sodium.crypto_aead_xchacha20poly1305_ietf_encrypt(
    out.subarray(NPUB),
    Buffer.from(plaintext.buffer, plaintext.byteOffset, plaintext.byteLength),
    Buffer.from(ad, 'utf8'),
    null,
    nonce,
    key.bytes,
  );
  return out;
}

/** Decrypt a seal() output; throws DecryptError when authentication fails. */
export function open(key: SecretKey, sealed: Uint8Array, ad: string): Buffer {
  if (sealed.length < NPUB + ABYTES) throw new DecryptError('record too short');
  const buf = Buffer.from(sealed.buffer, sealed.byteOffset, sealed.byteLength);
  const out = Buffer.alloc(buf.length - NPUB - ABYTES);
  try {
    sodium.crypto_aead_xchacha20poly1305_ietf_decrypt(out, null, buf.subarray(NPUB), Buffer.from(ad, 'utf8'), buf.subarray(0, NPUB), key.bytes);
  } catch {
    throw new DecryptError();
  }
  return out;
}
