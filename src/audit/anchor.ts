// The audit trail anchored outside the van. The hash chain alone cannot stop someone who deletes
// the newest entries and rewrites the head file to match: everything on the van agrees again.
// So at each deployment end the head (seq and hash of the newest entry) is signed by the van and
// printed in the results report, which the force publishes: from then on the chain up to that
// entry is pinned outside the van, and `lfr audit verify --head VALUE` checks the log against it.
//
// VALUE is what the report prints: "SEQ:HASH" or "SEQ:HASH:SIGNATURE" (base64url Ed25519 over
// "lfr-audit-head/1:SEQ:HASH" by the van's anchor key, derived from its private key:
// crypto/van-derived.ts). The hash check needs nothing else; the signature check needs the van's
// anchor public key (`lfr audit anchor-key` prints it; the report carries it too).
import { readVanSecretKey } from '../crypto/keys.js';
import { anchorSigningKey } from '../crypto/van-derived.js';
import { signDetached, verifyDetached } from '../crypto/sign.js';

export interface AuditAnchor {
  seq: number;
  hash: string;
  /** base64url Ed25519 signature of anchorMessage(seq, hash). */
  signature: string;
  /** Key id and base64 public key of the van's anchor key. */
  keyId: string;
  publicKey: string;
  /** What to give `lfr audit verify --head`. */
  value: string;
}

export const anchorMessage = (seq: number, hash: string): Buffer => Buffer.from(`lfr-audit-head/1:${seq}:${hash}`, 'utf8');

export function signAnchor(head: { seq: number; hash: string }, vanKeyFile: string): AuditAnchor {
  const van = readVanSecretKey(vanKeyFile);
  try {
    const k = anchorSigningKey(van);
    try {
      const signature = signDetached(anchorMessage(head.seq, head.hash), k.secretKey).toString('base64url');
      return { seq: head.seq, hash: head.hash, signature, keyId: k.keyId, publicKey: k.publicKey.toString('base64'), value: `${head.seq}:${head.hash}:${signature}` };
    } finally {
      k.secretKey.destroy();
    }
  } finally {
    van.secretKey.destroy();
  }
}

/** The van's anchor public key (to publish once, so reports can be checked without the van). */
export function anchorPublicKey(vanKeyFile: string): { keyId: string; publicKey: string } {
  const van = readVanSecretKey(vanKeyFile);
  try {
    const k = anchorSigningKey(van);
    k.secretKey.destroy();
    return { keyId: k.keyId, publicKey: k.publicKey.toString('base64') };
  } finally {
    van.secretKey.destroy();
  }
}

export class HeadValueError extends Error {
  override name = 'HeadValueError';
}

export function parseHeadValue(v: string): { seq: number; hash: string; signature: string | null } {
  const m = /^(\d{1,15}):([0-9a-f]{64})(?::([A-Za-z0-9_-]{80,90}))?$/.exec(v.trim());
  if (!m) throw new HeadValueError(`"${v}" is not an audit head: expected SEQ:HASH or SEQ:HASH:SIGNATURE as printed in the results report`);
  return { seq: Number(m[1]), hash: m[2]!, signature: m[3] ?? null };
}

export function verifyAnchorSignature(seq: number, hash: string, signature: string, publicKeyB64: string): boolean {
  const pk = Buffer.from(publicKeyB64, 'base64');
  const sig = Buffer.from(signature, 'base64url');
  if (pk.length !== 32 || sig.length !== 64) return false;
  return verifyDetached(sig, anchorMessage(seq, hash), pk);
}
