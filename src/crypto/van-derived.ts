// Keys derived from the van's PRIVATE key (X25519 secret, /etc/lfr/keys/van.key), one per job,
// domain-separated with keyed BLAKE2b (crypto_generichash). Whoever holds only the van's PUBLIC
// key (every station does) can derive none of them:
//   storeMacKey(storeId)  authenticates the watchlist store (src/watchlist/store.ts): a store
//                         written with the public key alone is refused and purged
//   importRecordMacKey()  authenticates the van's record of imported and ended bundles
//                         (src/watchlist/van-record.ts): an edited or forged record is refused
//   anchorSigningKey()    Ed25519 key that signs the audit head at each deployment end
//                         (src/audit/anchor.ts), so a published report pins the chain
import sodium from 'sodium-native';
import { SecretKey, wipe } from './secure.js';
import { keyId } from './sign.js';
import type { BoxKeyPair } from './box.js';

function derive(van: BoxKeyPair, label: string, out = 32): SecretKey {
  const buf = Buffer.alloc(out);
  sodium.crypto_generichash(buf, Buffer.from(label, 'utf8'), van.secretKey.bytes);
  const k = SecretKey.from(buf);
  wipe(buf);
  return k;
}

export function storeMacKey(van: BoxKeyPair, storeId: string): SecretKey {
  return derive(van, `lfr-watchlist-store-mac/1:${storeId}`);
}

export function importRecordMacKey(van: BoxKeyPair): SecretKey {
  return derive(van, 'lfr-watchlist-import-record-mac/1');
}

/** HMAC-like keyed BLAKE2b-256 of `parts`, each length-prefixed so boundaries cannot shift. */
export function mac(key: SecretKey, parts: readonly (Uint8Array | string)[]): Buffer {
  const chunks: Buffer[] = [];
  for (const p of parts) {
    const b = typeof p === 'string' ? Buffer.from(p, 'utf8') : Buffer.from(p.buffer, p.byteOffset, p.byteLength);
    const len = Buffer.alloc(8);
    len.writeBigUInt64BE(BigInt(b.length));
    chunks.push(len, b);
  }
  const out = Buffer.alloc(32);
  sodium.crypto_generichash(out, Buffer.concat(chunks), key.bytes);
  return out;
}

export interface AnchorKey {
  publicKey: Buffer;
  secretKey: SecretKey;
  keyId: string;
}

/** The van's audit-anchor signing key pair (Ed25519 from a derived seed). Destroy secretKey after use. */
export function anchorSigningKey(van: BoxKeyPair): AnchorKey {
  const seed = derive(van, 'lfr-audit-anchor-sign/1');
  const publicKey = Buffer.alloc(sodium.crypto_sign_PUBLICKEYBYTES);
  const sk = Buffer.alloc(sodium.crypto_sign_SECRETKEYBYTES);
  sodium.crypto_sign_seed_keypair(publicKey, sk, seed.bytes);
  seed.destroy();
  const secretKey = SecretKey.from(sk);
  wipe(sk);
  return { publicKey, secretKey, keyId: keyId(publicKey) };
}
