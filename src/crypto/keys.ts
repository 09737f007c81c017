// Key files: one small JSON document per key. Public keys can be copied around freely; private
// key files are written 0600 (never overwritten) and refused when group or others may read them,
// as ssh does, because a van key readable by another account defeats the bundle encryption.
// Secret bytes go straight into sodium secure memory; the decoded copies are wiped.
import { chmodSync, existsSync, statSync, writeFileSync, mkdirSync } from 'node:fs';
import { NotARegularFile, readSmallFileSync } from '../util/files.js';
import path from 'node:path';
import { SecretKey, wipe } from './secure.js';
import { generateSigningKeyPair, keyId, SIGN_PUBLIC_BYTES, SIGN_SECRET_BYTES, type SigningKeyPair } from './sign.js';
import { boxPublicKey, generateBoxKeyPair, BOX_PUBLIC_BYTES, BOX_SECRET_BYTES, type BoxKeyPair } from './box.js';
import { SealedCredentialError, unsealCredential, vanKeySource } from './sealed.js';

export type KeyKind = 'signing' | 'van';

const TYPES = {
  signing: { pub: 'lfr-signing-public-key', sec: 'lfr-signing-secret-key', pubBytes: SIGN_PUBLIC_BYTES, secBytes: SIGN_SECRET_BYTES },
  van: { pub: 'lfr-van-public-key', sec: 'lfr-van-secret-key', pubBytes: BOX_PUBLIC_BYTES, secBytes: BOX_SECRET_BYTES },
} as const;

export { SealedCredentialError };

export class KeyFileError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'KeyFileError';
  }
}

export interface PublicKeyInfo {
  kind: KeyKind;
  keyId: string;
  publicKey: Buffer;
  file: string;
}

/** Key files are a few hundred bytes; anything larger is not one. */
const MAX_KEY_FILE_BYTES = 64 * 1024;

function readJson(file: string, what: string): Record<string, unknown> {
  let text: string;
  try {
    text = readSmallFileSync(file, MAX_KEY_FILE_BYTES).toString('utf8');
  } catch (err) {
    if (err instanceof NotARegularFile) throw new KeyFileError(/ not found$/.test(err.message) ? `${what} not found: ${file}` : `${what}: ${err.message}`);
    throw new KeyFileError(`cannot read ${what} ${file}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  }
  return parseJson(text, file, what);
}

function parseJson(text: string, file: string, what: string): Record<string, unknown> {
  try {
    const v = JSON.parse(text) as unknown;
    if (v && typeof v === 'object' && !Array.isArray(v)) return v as Record<string, unknown>;
  } catch {
    /* fall through */
  }
  throw new KeyFileError(`${what} ${file} is not an lfr key file`);
}

function b64(v: unknown, bytes: number, file: string): Buffer {
  if (typeof v !== 'string' || !/^[A-Za-z0-9+/]+={0,2}$/.test(v)) throw new KeyFileError(`key file ${file} is damaged (bad base64)`);
  const b = Buffer.from(v, 'base64');
  if (b.length !== bytes) throw new KeyFileError(`key file ${file} is damaged (wrong key length)`);
  return b;
}

/** Read a public key of the given kind (a force signing key or a van key). */
export function readPublicKey(file: string, kind: KeyKind): PublicKeyInfo {
  const t = TYPES[kind];
  const doc = readJson(file, `${kind} public key`);
  if (doc.type === t.sec) throw new KeyFileError(`${file} is a PRIVATE ${kind} key; give the .pub file`);
  if (doc.type !== t.pub) throw new KeyFileError(`${file} is not a ${kind} public key (type ${JSON.stringify(doc.type)})`);
  const publicKey = b64(doc.key, t.pubBytes, file);
  return { kind, keyId: keyId(publicKey), publicKey, file };
}

function checkPrivateMode(file: string): void {
  let mode: number;
  try {
    mode = statSync(file).mode;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new KeyFileError(code === 'ENOENT' ? `private key not found: ${file}` : `cannot read private key ${file}: ${code ?? String(err)}`);
  }
  if ((mode & 0o077) !== 0) throw new KeyFileError(`private key ${file} is accessible by group or others (mode ${(mode & 0o777).toString(8)}); run chmod 600 on it`);
}

function readSecret(file: string, kind: KeyKind, sealed: Buffer | null = null): { publicKey: Buffer; secretKey: SecretKey } {
  const t = TYPES[kind];
  let doc: Record<string, unknown>;
  if (sealed) {
    // Decrypted from a systemd credential: the plaintext never touched a file.
    try {
      doc = parseJson(sealed.toString('utf8'), file, `${kind} private key`);
    } finally {
      wipe(sealed);
    }
  } else {
    checkPrivateMode(file);
    doc = readJson(file, `${kind} private key`);
  }
  if (doc.type === t.pub) throw new KeyFileError(`${file} is a PUBLIC ${kind} key; a private key is needed here`);
  if (doc.type !== t.sec) throw new KeyFileError(`${file} is not a ${kind} private key (type ${JSON.stringify(doc.type)})`);
  const publicKey = b64(doc.publicKey, t.pubBytes, file);
  const raw = b64(doc.secretKey, t.secBytes, file);
  const secretKey = SecretKey.from(raw);
  wipe(raw);
  return { publicKey, secretKey };
}

export function readSigningSecretKey(file: string): SigningKeyPair & { keyId: string } {
  const pair = readSecret(file, 'signing');
  // libsodium's Ed25519 secret key ends with its public key: a mismatch means a damaged file.
  if (!pair.secretKey.bytes.subarray(SIGN_SECRET_BYTES - SIGN_PUBLIC_BYTES).equals(pair.publicKey)) {
    pair.secretKey.destroy();
    throw new KeyFileError(`signing key ${file} is damaged (public and private halves differ)`);
  }
  return { ...pair, keyId: keyId(pair.publicKey) };
}

/**
 * The van's key pair. `file` is the configured plain path (watchlist.vanKeyFile); the key is read
 * from the systemd credential when there is one (crypto/sealed.ts: $CREDENTIALS_DIRECTORY, then
 * FILE.cred), else from FILE. A sealed credential that does not decrypt throws
 * SealedCredentialError naming it: never a fall-back to a plain copy.
 */
export function readVanSecretKey(keyFile: string): BoxKeyPair & { keyId: string } {
  const src = vanKeySource(keyFile);
  const file = src.file;
  const pair = src.kind === 'sealed' ? readSecret(file, 'van', unsealCredential(file)) : readSecret(file, 'van');
  if (!boxPublicKey(pair.secretKey).equals(pair.publicKey)) {
    pair.secretKey.destroy();
    throw new KeyFileError(`van key ${file} is damaged (public and private halves differ)`);
  }
  return { ...pair, keyId: keyId(pair.publicKey) };
}

export interface GeneratedKeyFiles {
  kind: KeyKind;
  keyId: string;
  publicFile: string;
  privateFile: string;
}

/** Generate a key pair into DIR as NAME.key (0600) and NAME.pub; never overwrites a file. */
export function generateKeyFiles(kind: KeyKind, dir: string, name: string = kind): GeneratedKeyFiles {
  if (!/^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/.test(name)) throw new KeyFileError(`bad key name ${JSON.stringify(name)}: letters, digits, . _ - only`);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const t = TYPES[kind];
  const pair = kind === 'signing' ? generateSigningKeyPair() : generateBoxKeyPair();
  const id = keyId(pair.publicKey);
  const privateFile = path.join(dir, `${name}.key`);
  const publicFile = path.join(dir, `${name}.pub`);
  if (existsSync(privateFile) || existsSync(publicFile)) {
    pair.secretKey.destroy();
    throw new KeyFileError(`refusing to overwrite an existing key file in ${dir} (name "${name}")`);
  }
  const createdAt = new Date().toISOString();
  const secretB64 = pair.secretKey.bytes.toString('base64');
  try {
    writeFileSync(privateFile, `${JSON.stringify({ type: t.sec, version: 1, keyId: id, createdAt, publicKey: pair.publicKey.toString('base64'), secretKey: secretB64 }, null, 2)}\n`, { mode: 0o600, flag: 'wx' });
    chmodSync(privateFile, 0o600); // the mode given to open() is reduced by umask, never widened, but be explicit
    writeFileSync(publicFile, `${JSON.stringify({ type: t.pub, version: 1, keyId: id, createdAt, key: pair.publicKey.toString('base64') }, null, 2)}\n`, { mode: 0o644, flag: 'wx' });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') throw new KeyFileError(`refusing to overwrite an existing key file in ${dir} (name "${name}")`);
    throw new KeyFileError(`cannot write key files in ${dir}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  } finally {
    pair.secretKey.destroy();
  }
  return { kind, keyId: id, publicFile, privateFile };
}
