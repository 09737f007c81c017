// The encrypted per-deployment watchlist store (better-sqlite3 on tmpfs by default).
//
// Per-record AEAD, not whole-database encryption: stock better-sqlite3 has no page encryption
// (SQLCipher would mean a custom native build on the van), and per-record XChaCha20-Poly1305 with
// the row bound in the associated data (src/crypto/aead.ts) gives the same confidentiality for
// what matters (each subject: reference, category, reason, reference JPEG, templates) plus
// detection of rows swapped or copied between stores. What stays readable is the composition in
// `meta` (counts, categories, hashes, key ids, times): no personal data, so `lfr watchlist
// status` and `lfr deployment` need no key. meta is also sealed (metaMac) so that a changed
// expiry is caught when the store is opened.
//
// The store key is random per import, sealed to the van's X25519 public key (keyring row), and
// unsealed into sodium secure memory only by a process holding the van private key (the CLI
// import, the daemon). Deleting the keyring row crypto-shreds the watchlist; purge also deletes
// every row with SQLite secure_delete on and unlinks the file.
//
// Authenticity: sealing to the van's PUBLIC key is something every station can do, so that alone
// would let anyone write a store the van loads. The whole store (meta, the sealed key, and every
// row's id and SHA-256) is therefore also MACed with a key derived from the van's PRIVATE key
// (crypto/van-derived.ts), checked before anything is unsealed, and the signer recorded in meta
// must be one of the trusted keys of the config: a forged or edited store is refused (and the
// caller purges it).
import Database from 'better-sqlite3';
import { timingSafeEqual } from 'node:crypto';
import { closeSync, existsSync, fsyncSync, openSync, renameSync, rmSync, unlinkSync, mkdirSync, chmodSync } from 'node:fs';
import path from 'node:path';
import { open as aeadOpen, seal as aeadSeal, DecryptError } from '../crypto/aead.js';
import { openSealed, sealTo, SealError, type BoxKeyPair } from '../crypto/box.js';
import { SecretKey, randomBytes, wipe } from '../crypto/secure.js';
import { mac, storeMacKey } from '../crypto/van-derived.js';
import { sha256Hex } from '../crypto/hash.js';
import { decodeRecord, encodeRecord, type SubjectRecord } from './record.js';

export const STORE_SCHEMA = 1;

export interface StoreMeta {
  schema: number;
  storeId: string;
  bundleSha256: string;
  bundleId: string;
  signerKeyId: string;
  vanKeyId: string;
  bundleCreatedAt: string;
  importedAt: string;
  /** First import of this bundle on this van (the watchlist's life counts from it). */
  firstImportedAt?: string;
  expiresAt: string;
  subjects: number;
  templates: number;
  categories: Record<string, number>;
  rejectedImages: number;
  /** Subjects on the bundle none of whose images passed enrolment (a count: the results report). */
  notEnrolled?: number;
  embeddingSize: number;
  models: { detector: string; landmarker: string; embedder: string };
}

export class StoreError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'StoreError';
  }
}

const SCHEMA_SQL = `
CREATE TABLE meta (k TEXT PRIMARY KEY, v TEXT NOT NULL);
CREATE TABLE keyring (id INTEGER PRIMARY KEY CHECK (id = 1), sealed BLOB NOT NULL);
CREATE TABLE subjects (id TEXT PRIMARY KEY, rec BLOB NOT NULL);
`;

const recordAd = (storeId: string, id: string) => `lfr-watchlist:${storeId}:subjects:${id}`;
const metaAd = (storeId: string) => `lfr-watchlist:${storeId}:meta`;

function fsyncPath(p: string): void {
  const fd = openSync(p, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** Builds a new store beside the current one; commit() renames it over atomically. */
export class StoreWriter {
  private closed = false;
  private readonly insert: Database.Statement;
  /** id:sha256(rec) of every row, for the store MAC. */
  private readonly digests: string[] = [];

  private constructor(
    private readonly db: Database.Database,
    private readonly tmpFile: string,
    private readonly finalFile: string,
    private readonly key: SecretKey,
    readonly storeId: string,
    private readonly macKey: SecretKey,
    private readonly sealed: Buffer,
  ) {
    this.insert = db.prepare('INSERT INTO subjects (id, rec) VALUES (?, ?)');
  }

  /** Needs the van's key PAIR: the store MAC key is derived from the private half. */
  static create(finalFile: string, van: BoxKeyPair): StoreWriter {
    const dir = path.dirname(finalFile);
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const tmpFile = path.join(dir, `.${path.basename(finalFile)}.tmp-${randomBytes(6).toString('hex')}`);
    closeSync(openSync(tmpFile, 'wx', 0o600));
    const db = new Database(tmpFile);
    try {
      db.pragma('secure_delete = ON');
      // A half-built store is thrown away, never recovered, so no rollback journal is needed while
      // building; durability comes from the fsync before the rename.
      db.pragma('journal_mode = OFF');
      db.pragma('synchronous = OFF');
      db.exec(SCHEMA_SQL);
      const key = SecretKey.generate(32);
      const storeId = randomBytes(16).toString('hex');
      const sealed = sealTo(van.publicKey, key.bytes);
      db.prepare('INSERT INTO keyring (id, sealed) VALUES (1, ?)').run(sealed);
      db.exec('BEGIN');
      return new StoreWriter(db, tmpFile, finalFile, key, storeId, storeMacKey(van, storeId), sealed);
    } catch (err) {
      db.close();
      rmSync(tmpFile, { force: true });
      throw err;
    }
  }

  /** Encrypt and add one subject; returns its opaque random id. */
  addSubject(rec: SubjectRecord, dim: number): string {
    const id = randomBytes(16).toString('hex');
    const plain = encodeRecord(rec, dim);
    const sealed = aeadSeal(this.key, plain, recordAd(this.storeId, id));
    this.insert.run(id, sealed);
    this.digests.push(`${id}:${sha256Hex(sealed)}`);
    wipe(plain);
    return id;
  }

  commit(meta: Omit<StoreMeta, 'schema' | 'storeId'>): StoreMeta {
    const full: StoreMeta = { schema: STORE_SCHEMA, storeId: this.storeId, ...meta };
    const json = JSON.stringify(full);
    const ins = this.db.prepare('INSERT INTO meta (k, v) VALUES (?, ?)');
    ins.run('meta', json);
    ins.run('metaMac', aeadSeal(this.key, Buffer.from(json, 'utf8'), metaAd(this.storeId)).toString('base64'));
    ins.run('storeMac', storeMac(this.macKey, json, this.sealed, this.digests).toString('hex'));
    this.macKey.destroy();
    this.db.exec('COMMIT');
    this.db.pragma('journal_mode = DELETE');
    this.db.close();
    this.closed = true;
    this.key.destroy();
    fsyncPath(this.tmpFile);
    chmodSync(this.tmpFile, 0o600);
    renameSync(this.tmpFile, this.finalFile);
    fsyncPath(path.dirname(this.finalFile));
    return full;
  }

  abort(): void {
    if (!this.closed) {
      try {
        this.db.close();
      } catch {
        /* already broken: the file is deleted below anyway */
      }
      this.closed = true;
    }
    this.key.destroy();
    this.macKey.destroy();
    rmSync(this.tmpFile, { force: true });
  }
}

/** MAC over the whole store: meta, the sealed key, and each row (sorted by id, so order is irrelevant). */
function storeMac(key: SecretKey, metaJson: string, sealed: Uint8Array, digests: string[]): Buffer {
  return mac(key, [`lfr-watchlist-store/${STORE_SCHEMA}`, metaJson, sealed, ...[...digests].sort()]);
}

/** Which store this van will open: the signer must be trusted by the config, the van key ours. */
export interface StoreTrust {
  trustedSignerKeyIds: readonly string[];
}

function openDb(file: string, readonly: boolean): Database.Database {
  try {
    const db = new Database(file, { readonly, fileMustExist: true });
    db.pragma('secure_delete = ON');
    return db;
  } catch (err) {
    throw new StoreError(`watchlist store ${file} cannot be opened: ${(err as Error).message}`);
  }
}

/** The cleartext composition, or null when there is no store. Needs no key. */
export function readStoreMeta(file: string): StoreMeta | null {
  if (!existsSync(file)) return null;
  const db = openDb(file, true);
  try {
    const row = db.prepare("SELECT v FROM meta WHERE k = 'meta'").get() as { v: string } | undefined;
    if (!row) throw new StoreError(`watchlist store ${file} is incomplete (no meta)`);
    return JSON.parse(row.v) as StoreMeta;
  } catch (err) {
    if (err instanceof StoreError) throw err;
    throw new StoreError(`watchlist store ${file} is damaged: ${(err as Error).message}`);
  } finally {
    db.close();
  }
}

export interface LoadedSubject extends SubjectRecord {
  id: string;
}

/**
 * Check the store MAC (van private key), the signer (trusted by config) and the van key id,
 * without decrypting a subject. Throws StoreError saying which check failed.
 */
export function verifyStore(file: string, van: BoxKeyPair & { keyId: string }, trust: StoreTrust): StoreMeta {
  const db = openDb(file, true);
  try {
    return verifyOpen(db, file, van, trust);
  } finally {
    db.close();
  }
}

function verifyOpen(db: Database.Database, file: string, van: BoxKeyPair & { keyId: string }, trust: StoreTrust): StoreMeta {
  let metaJson: string | undefined;
  let tag: string | undefined;
  let sealed: Buffer | undefined;
  const digests: string[] = [];
  try {
    metaJson = (db.prepare("SELECT v FROM meta WHERE k = 'meta'").get() as { v: string } | undefined)?.v;
    tag = (db.prepare("SELECT v FROM meta WHERE k = 'storeMac'").get() as { v: string } | undefined)?.v;
    sealed = (db.prepare('SELECT sealed FROM keyring WHERE id = 1').get() as { sealed: Buffer } | undefined)?.sealed;
    for (const row of db.prepare('SELECT id, rec FROM subjects').iterate() as IterableIterator<{ id: unknown; rec: unknown }>) {
      if (typeof row.id !== 'string' || !Buffer.isBuffer(row.rec)) throw new StoreError('watchlist store has a malformed row (edited)');
      digests.push(`${row.id}:${sha256Hex(row.rec)}`);
    }
  } catch (err) {
    if (err instanceof StoreError) throw err;
    throw new StoreError(`watchlist store ${file} is damaged: ${(err as Error).message}`);
  }
  if (!metaJson || !sealed) throw new StoreError(`watchlist store ${file} is incomplete or already purged`);
  if (!tag || !/^[0-9a-f]{64}$/.test(tag)) throw new StoreError('watchlist store carries no authentication tag: not written by this van (forged or from an older version)');
  let meta: StoreMeta;
  try {
    meta = JSON.parse(metaJson) as StoreMeta;
  } catch {
    throw new StoreError('watchlist store metadata is not JSON (edited)');
  }
  if (typeof meta?.storeId !== 'string' || !/^[0-9a-f]{32}$/.test(meta.storeId)) throw new StoreError('watchlist store metadata is malformed (edited)');
  const key = storeMacKey(van, meta.storeId);
  let expected: Buffer;
  try {
    expected = storeMac(key, metaJson, sealed, digests);
  } finally {
    key.destroy();
  }
  const got = Buffer.from(tag, 'hex');
  if (got.length !== expected.length || !timingSafeEqual(got, expected)) throw new StoreError('watchlist store failed authentication: it was edited, or written without this van\'s private key (forged)');
  if (meta.vanKeyId !== van.keyId) throw new StoreError('watchlist store belongs to another van key');
  if (!trust.trustedSignerKeyIds.includes(meta.signerKeyId)) throw new StoreError(`watchlist store holds a bundle signed by key ${meta.signerKeyId}, which this van's configuration does not trust`);
  return meta;
}

/** Decrypt every subject with the store key unsealed by the van key pair (after verifyStore's checks). */
export function loadStore(file: string, van: BoxKeyPair & { keyId: string }, trust: StoreTrust): { meta: StoreMeta; subjects: LoadedSubject[] } {
  const db = openDb(file, true);
  let key: SecretKey | null = null;
  try {
    const meta = verifyOpen(db, file, van, trust);
    const metaJson = (db.prepare("SELECT v FROM meta WHERE k = 'meta'").get() as { v: string }).v;
    const mac = (db.prepare("SELECT v FROM meta WHERE k = 'metaMac'").get() as { v: string } | undefined)?.v;
    const sealed = (db.prepare('SELECT sealed FROM keyring WHERE id = 1').get() as { sealed: Buffer } | undefined)?.sealed;
    if (!mac || !sealed) throw new StoreError(`watchlist store ${file} is incomplete or already purged`);
    try {
      key = openSealed(sealed, van);
    } catch (err) {
      if (err instanceof SealError) throw new StoreError('watchlist store was sealed to another van key');
      throw err;
    }
    const macPlain = aeadOpen(key, Buffer.from(mac, 'base64'), metaAd(meta.storeId));
    if (macPlain.toString('utf8') !== metaJson) throw new StoreError('watchlist store metadata was altered');
    const subjects: LoadedSubject[] = [];
    for (const row of db.prepare('SELECT id, rec FROM subjects').iterate() as IterableIterator<{ id: string; rec: Buffer }>) {
      const plain = aeadOpen(key, row.rec, recordAd(meta.storeId, row.id));
      const rec = decodeRecord(plain);
      wipe(plain);
      if (rec.dim !== meta.embeddingSize) throw new StoreError('watchlist store record has the wrong template size');
      subjects.push({ id: row.id, subjectRef: rec.subjectRef, category: rec.category, reason: rec.reason, referenceJpeg: rec.referenceJpeg, templates: rec.templates });
    }
    if (subjects.length !== meta.subjects) throw new StoreError('watchlist store has a different number of subjects than its metadata');
    return { meta, subjects };
  } catch (err) {
    if (err instanceof DecryptError) throw new StoreError('watchlist store record failed authentication (altered, or moved between rows)');
    if (err instanceof StoreError) throw err;
    throw new StoreError(`watchlist store ${file} is damaged: ${(err as Error).message}`);
  } finally {
    key?.destroy();
    db.close();
  }
}

/**
 * Crypto-shred and delete the store: drop the sealed key and every row (secure_delete zeroes the
 * freed pages), then unlink the file and any journal. Returns false when there was no store.
 * A damaged file is still unlinked.
 */
export function purgeStoreFile(file: string): boolean {
  const existed = existsSync(file);
  if (existed) {
    try {
      const db = new Database(file, { fileMustExist: true });
      try {
        db.pragma('secure_delete = ON');
        db.exec('DELETE FROM keyring; DELETE FROM subjects; DELETE FROM meta;');
      } finally {
        db.close();
      }
    } catch {
      /* not a readable database: unlinking is all that is left to do */
    }
  }
  for (const f of [file, `${file}-journal`, `${file}-wal`, `${file}-shm`]) {
    try {
      unlinkSync(f);
    } catch {
      /* absent */
    }
  }
  return existed;
}
