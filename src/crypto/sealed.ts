// The van key sealed to the box (issue 21 item 2). The plain key file (/etc/lfr/keys/van.key) is
// readable by whoever can read the disk; sealed as a systemd credential (`systemd-creds encrypt`,
// AES-256-GCM under the TPM2 and/or the host key /var/lib/systemd/credential.secret) a copy of the
// file is useless on another box. Everything derived from the van key (the store MAC, the audit
// anchor key: crypto/van-derived.ts) is sealed with it, since it is derived at run time.
//
// Where the key comes from, first match wins (vanKeySource):
//   1. $CREDENTIALS_DIRECTORY/lfr-van-key: the daemon under lfr.service, whose
//      LoadCredentialEncrypted=lfr-van-key:/etc/lfr/keys/van.key.cred has systemd decrypt it into a
//      private tmpfs the daemon alone reads. If systemd cannot decrypt it, the unit never starts
//      (status 243/CREDENTIALS) and journalctl names the credential.
//   2. KEYFILE.cred: root on the box (the CLI, install.sh checks, tests): decrypted here with
//      `systemd-creds decrypt --name=lfr-van-key`. A credential that does not decrypt (another
//      box, tampered) is a SealedCredentialError naming it: the daemon refuses to start.
//   3. KEYFILE: the plain key file (development, tests, the station): health WARNs.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { readSmallFileSync } from '../util/files.js';

/** The credential's name: systemd binds it into the encrypted blob (--name), so a renamed file fails. */
export const VAN_KEY_CREDENTIAL = 'lfr-van-key';
export const SYSTEMD_CREDS = process.env.LFR_SYSTEMD_CREDS ?? '/usr/bin/systemd-creds';

export class SealedCredentialError extends Error {
  override name = 'SealedCredentialError';
}

export type VanKeySource =
  | { kind: 'credentials-dir'; file: string; sealedFile: string }
  | { kind: 'sealed'; file: string }
  | { kind: 'plain'; file: string };

/** The sealed copy of a key file: the same path with `.cred` appended. */
export const sealedPathOf = (keyFile: string): string => `${keyFile}.cred`;

export function vanKeySource(keyFile: string, env: NodeJS.ProcessEnv = process.env): VanKeySource {
  const dir = env.CREDENTIALS_DIRECTORY;
  if (dir) {
    const f = path.join(dir, VAN_KEY_CREDENTIAL);
    if (existsSync(f)) return { kind: 'credentials-dir', file: f, sealedFile: sealedPathOf(keyFile) };
  }
  const sealed = sealedPathOf(keyFile);
  if (existsSync(sealed)) return { kind: 'sealed', file: sealed };
  return { kind: 'plain', file: keyFile };
}

/** Decrypts a sealed credential; the plaintext is the caller's to wipe. */
export function unsealCredential(file: string, name: string = VAN_KEY_CREDENTIAL): Buffer {
  try {
    return execFileSync(SYSTEMD_CREDS, ['decrypt', `--name=${name}`, file, '-'], { stdio: ['ignore', 'pipe', 'pipe'], timeout: 30_000, maxBuffer: 1 << 20 });
  } catch (err) {
    const e = err as { code?: string; stderr?: Buffer };
    if (e.code === 'ENOENT') throw new SealedCredentialError(`credential ${name} (${file}) is sealed but ${SYSTEMD_CREDS} is not installed (apt-get install systemd)`);
    const why = (e.stderr?.toString('utf8') ?? '').split('\n').map((l) => l.trim()).filter((l) => l && !/not located on encrypted media/.test(l)).pop() ?? String(err);
    throw new SealedCredentialError(`credential ${name} (${file}) cannot be decrypted on this box (sealed to another machine, tampered, or not readable by this account): ${why}`);
  }
}

/** Seals `plain` into `out` (0600) with the TPM2 where there is one, else the host key. */
export function sealCredential(plainFile: string, out: string, withKey: 'auto' | 'host' | 'tpm2' | 'host+tpm2' = 'auto', name: string = VAN_KEY_CREDENTIAL): void {
  execFileSync(SYSTEMD_CREDS, ['encrypt', `--name=${name}`, `--with-key=${withKey}`, plainFile, out], { stdio: ['ignore', 'ignore', 'pipe'], timeout: 60_000 });
}

// systemd's seal-key ids (src/shared/creds-util.h): the first 16 bytes of the decoded credential.
const SEALS: Record<string, NonNullable<Protection['seal']>> = {
  '5a1c6a86df9d4096b1d5a65e0862f19a': 'host key',
  '55b9ed1d38594d43a8319d2ebb332ac6': 'host key', // _SCOPED (systemd 256+)
  '0c7cc07b117645919c4b0bea08bc20fe': 'tpm2',
  'faf7eb9341e3412ca1a436f95a29362f': 'tpm2', // _WITH_PK (PCR policy signed by a public key)
  '93a894094874449090caf2fc93cab553': 'tpm2+host key',
  'af4950a849134eb1a73846304ff30c05': 'tpm2+host key', // _WITH_PK
  'ef4ac13679a9480ea7db68897f9f165d': 'tpm2+host key', // _SCOPED
  '058469daf6f54324800549da0f8ea2fb': 'null key',
};

export interface Protection {
  /** sealed: a systemd credential; plain: a key file on disk; missing: no key at all. */
  mode: 'sealed' | 'plain' | 'missing';
  seal?: 'tpm2' | 'host key' | 'tpm2+host key' | 'null key' | 'unknown';
  /** Where the key is read from. */
  file: string;
  /** A plain copy left beside the sealed one (install.sh removes it): its path. */
  plainLeft?: string;
  /** "sealed (tpm2)", "sealed (host key)", "plain file: WARN". */
  label: string;
}

/** Which seal a credential file carries (its header; no secret is read). */
export function sealOf(credFile: string): NonNullable<Protection['seal']> {
  try {
    const text = readSmallFileSync(credFile, 1 << 20).toString('latin1').trim();
    // `systemd-creds encrypt` writes base64 (possibly wrapped); an unarmoured file is binary.
    const head = /^[A-Za-z0-9+/=\s]+$/.test(text.slice(0, 64)) ? Buffer.from(text.replace(/\s+/g, '').slice(0, 24), 'base64') : Buffer.from(text, 'latin1');
    return SEALS[head.subarray(0, 16).toString('hex')] ?? 'unknown';
  } catch {
    return 'unknown';
  }
}

/** What protects the van key now (health, `lfr health`, install.sh's report). Reads no secret. */
export function vanKeyProtection(keyFile: string, env: NodeJS.ProcessEnv = process.env): Protection {
  const src = vanKeySource(keyFile, env);
  const plainLeft = src.kind !== 'plain' && existsSync(keyFile) ? keyFile : undefined;
  if (src.kind === 'plain') {
    if (!existsSync(keyFile)) return { mode: 'missing', file: keyFile, label: 'no van key' };
    return { mode: 'plain', file: keyFile, label: 'plain file: WARN' };
  }
  const seal = sealOf(src.kind === 'sealed' ? src.file : src.sealedFile);
  // The null key (systemd's fallback with neither TPM nor host key) seals nothing.
  if (seal === 'null key') return { mode: 'plain', seal, file: src.file, ...(plainLeft ? { plainLeft } : {}), label: 'sealed with the null key (no protection): WARN' };
  return { mode: 'sealed', seal, file: src.file, ...(plainLeft ? { plainLeft } : {}), label: `sealed (${seal === 'unknown' ? 'systemd credential' : seal})` };
}

/**
 * The daemon's first check: a van key sealed as FILE.cred must decrypt here, or the daemon refuses
 * to start (nothing opened, imported or purged). A key systemd already decrypted into
 * $CREDENTIALS_DIRECTORY, or a plain file, needs nothing here (a plain file's problems are the
 * watchlist's to report, as before).
 */
export function assertVanKeyUnseals(keyFile: string, env: NodeJS.ProcessEnv = process.env): void {
  const src = vanKeySource(keyFile, env);
  if (src.kind !== 'sealed') return;
  unsealCredential(src.file).fill(0);
}
