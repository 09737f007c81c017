// The force's fleet PKI, made at HQ/the station with openssl (Debian's): the fleet CA, HQ broker
// and page certificates (serverAuth) and client certificates (clientAuth) whose CN is the van id
// (or "hq"): the HQ broker takes the CN as the user name, and its ACL lets a van write under its
// own id only. EC P-256 like the van's own CA (src/mqtt/certs.ts).
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';

export class HqCertError extends Error {
  override name = 'HqCertError';
}

function openssl(args: string[]): void {
  try {
    execFileSync('openssl', args, { stdio: ['ignore', 'ignore', 'pipe'] });
  } catch (err) {
    const e = err as NodeJS.ErrnoException & { stderr?: Buffer };
    if (e.code === 'ENOENT') throw new HqCertError('openssl is not installed (apt-get install openssl)');
    throw new HqCertError(`openssl ${args[0]} failed: ${e.stderr?.toString().trim().split('\n').pop() ?? e.message}`);
  }
}

/** The fleet CA in dir (ca.crt, ca.key 0600); made once. Returns ca.crt's path. */
export function ensureFleetCa(dir: string): string {
  const crt = path.join(dir, 'ca.crt');
  const key = path.join(dir, 'ca.key');
  if (existsSync(crt) && existsSync(key)) return crt;
  mkdirSync(dir, { recursive: true, mode: 0o750 });
  openssl(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '3650', '-subj', '/CN=lfr fleet CA', '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign', '-keyout', key, '-out', crt]);
  chmodSync(key, 0o600);
  return crt;
}

/**
 * A certificate signed by the fleet CA in caDir: `server` (serverAuth, names as DNS/IP SANs) or
 * `client` (clientAuth, CN = the identity). Writes out/NAME.crt and out/NAME.key (0600).
 */
export function issueCert(caDir: string, kind: 'server' | 'client', cn: string, names: string[], outDir: string, name: string): { certFile: string; keyFile: string } {
  if (!/^[A-Za-z0-9._-]{1,64}$/.test(cn)) throw new HqCertError(`"${cn}" cannot be a certificate name: 1-64 letters, digits, dot, dash or underscore`);
  const caCrt = ensureFleetCa(caDir);
  mkdirSync(outDir, { recursive: true, mode: 0o750 });
  const tmp = path.join(outDir, `.${name}.tmp-${process.pid}`);
  const certFile = path.join(outDir, `${name}.crt`);
  const keyFile = path.join(outDir, `${name}.key`);
  const san = names.map((n) => (/^[0-9.]+$/.test(n) || n.includes(':') ? `IP:${n}` : `DNS:${n}`)).join(',');
  try {
    writeFileSync(`${tmp}.ext`, `${san ? `subjectAltName=${san}\n` : ''}extendedKeyUsage=${kind === 'server' ? 'serverAuth' : 'clientAuth'}\nbasicConstraints=CA:FALSE\n`);
    openssl(['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-subj', `/CN=${cn}`, '-keyout', `${tmp}.key`, '-out', `${tmp}.csr`]);
    openssl(['x509', '-req', '-in', `${tmp}.csr`, '-CA', caCrt, '-CAkey', path.join(caDir, 'ca.key'), '-CAcreateserial', '-CAserial', `${tmp}.srl`, '-days', '825', '-extfile', `${tmp}.ext`, '-out', `${tmp}.crt`]);
    chmodSync(`${tmp}.key`, 0o600);
    chmodSync(`${tmp}.crt`, 0o644);
    renameSync(`${tmp}.key`, keyFile);
    renameSync(`${tmp}.crt`, certFile);
  } finally {
    for (const ext of ['.ext', '.csr', '.srl', '.key', '.crt']) rmSync(`${tmp}${ext}`, { force: true });
  }
  return { certFile, keyFile };
}
