// The force's fleet PKI, made at HQ/the station with openssl (Debian's): the fleet CA, HQ broker
// and page certificates (serverAuth) and client certificates (clientAuth) whose CN is the van id
// (or "hq"): the HQ broker takes the CN as the user name, and its ACL lets a van write under its
// own id only. EC P-256 like the van's own CA (src/mqtt/certs.ts).
import { chmodSync, existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { openssl, signLeaf } from '../mqtt/certs.js';

export class HqCertError extends Error {
  override name = 'HqCertError';
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
  signLeaf({ caCert: caCrt, caKey: path.join(caDir, 'ca.key'), cn, names, usage: kind === 'server' ? 'serverAuth' : 'clientAuth', days: 825, certFile, keyFile, tmp });
  return { certFile, keyFile };
}
