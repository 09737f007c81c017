// The van's own CA and its leaf certificates (broker, tablet page), made with openssl (Debian's,
// always present where mosquitto is): Node can verify certificates but cannot issue them.
// EC P-256: accepted by every browser and by mosquitto 2.0, and small on a slow link.
// Validity: CA 10 years; leaves 825 days (the most Apple devices accept).
import { execFileSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';

export class CertError extends Error {
  override name = 'CertError';
}

function openssl(args: string[]): void {
  try {
    execFileSync('openssl', args, { stdio: ['ignore', 'ignore', 'pipe'] });
  } catch (err) {
    const e = err as NodeJS.ErrnoException & { stderr?: Buffer };
    if (e.code === 'ENOENT') throw new CertError('openssl is not installed (apt-get install openssl)');
    throw new CertError(`openssl ${args[0]} failed: ${e.stderr?.toString().trim().split('\n').pop() ?? e.message}`);
  }
}

/** The van CA: `caCert` and its key beside it (ca.key, 0600). Made once; returns true when made now. */
export function ensureCa(caCert: string): boolean {
  const caKey = path.join(path.dirname(caCert), 'ca.key');
  if (existsSync(caCert) && existsSync(caKey)) return false;
  if (existsSync(caCert) !== existsSync(caKey)) throw new CertError(`${caCert} and ${caKey} must both exist or both be absent (a CA without its key cannot issue certificates)`);
  mkdirSync(path.dirname(caCert), { recursive: true, mode: 0o750 });
  openssl(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '3650', '-subj', '/CN=lfr van CA', '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign', '-keyout', caKey, '-out', caCert]);
  chmodSync(caKey, 0o600);
  chmodSync(caCert, 0o644);
  return true;
}

/** DNS and IP names a certificate holds. */
export function certNames(certFile: string): string[] {
  const san = new X509Certificate(readFileSync(certFile)).subjectAltName ?? '';
  return san.split(',').map((s) => s.trim().replace(/^(DNS|IP Address):/, '')).filter(Boolean);
}

/**
 * A leaf certificate for `names` signed by the CA at `caCert`, written to certFile/keyFile (key
 * 0600). Kept when it exists, is signed by this CA and already covers every name; otherwise
 * re-issued. Returns true when issued now.
 */
export function ensureLeaf(caCert: string, certFile: string, keyFile: string, names: string[]): boolean {
  if (existsSync(certFile) && existsSync(keyFile)) {
    try {
      const cert = new X509Certificate(readFileSync(certFile));
      const ca = new X509Certificate(readFileSync(caCert));
      const have = new Set(certNames(certFile));
      if (cert.verify(ca.publicKey) && names.every((n) => have.has(n)) && Date.parse(cert.validTo) > Date.now() + 30 * 86_400_000) return false;
    } catch {
      /* unreadable or foreign: issue a new one */
    }
  }
  const caKey = path.join(path.dirname(caCert), 'ca.key');
  const dir = path.dirname(certFile);
  mkdirSync(dir, { recursive: true, mode: 0o755 });
  mkdirSync(path.dirname(keyFile), { recursive: true, mode: 0o750 });
  const tmp = `${certFile}.tmp-${process.pid}`;
  const san = names.map((n) => (/^[0-9.]+$/.test(n) || n.includes(':') ? `IP:${n}` : `DNS:${n}`)).join(',');
  try {
    writeFileSync(`${tmp}.ext`, `subjectAltName=${san}\nextendedKeyUsage=serverAuth\nbasicConstraints=CA:FALSE\n`);
    openssl(['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-subj', `/CN=${names[0] ?? 'localhost'}`, '-keyout', `${tmp}.key`, '-out', `${tmp}.csr`]);
    openssl(['x509', '-req', '-in', `${tmp}.csr`, '-CA', caCert, '-CAkey', caKey, '-CAcreateserial', '-CAserial', `${tmp}.srl`, '-days', '825', '-extfile', `${tmp}.ext`, '-out', `${tmp}.crt`]);
    chmodSync(`${tmp}.key`, 0o600);
    chmodSync(`${tmp}.crt`, 0o644);
    renameSync(`${tmp}.key`, keyFile);
    renameSync(`${tmp}.crt`, certFile);
  } finally {
    for (const ext of ['.ext', '.csr', '.srl', '.key', '.crt']) rmSync(`${tmp}${ext}`, { force: true });
  }
  return true;
}
