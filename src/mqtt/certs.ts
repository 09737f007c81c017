// The van's own CA and its leaf certificates (broker, tablet page), made with openssl (Debian's,
// always present where mosquitto is): Node can verify certificates but cannot issue them.
// EC P-256: accepted by every browser and by mosquitto 2.0, and small on a slow link.
//
// The CA's key sits on the van (root, 0600), and every tablet trusts the CA. So that the key,
// if taken from a van, is worth as little as possible (issue 21):
// - NAME CONSTRAINTS (critical): the CA can vouch only for the van's own names (localhost,
//   127.0.0.1, tablet.host and broker.hosts). A certificate it signed for any other name
//   (the force's intranet, a bank) is refused by every TLS client, tablets included.
// - A SHORT LIFE: broker.caDays (default 30, at most 90: the van's field period between depot
//   visits) instead of 10 years. `lfr broker setup` makes a NEW CA (new key) when the current
//   one has less than a quarter of its life left, has expired, has no name constraints (a CA
//   made before this), or does not name every current name (broker.hosts changed); every leaf
//   is then re-issued, since it no longer verifies. The tablets must be given the new ca.crt:
//   docs/mqtt.md "The van CA".
// Leaves (broker, tablet page) end with their CA: the CA's remaining life, at most 825 days.
import { execFileSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { isIPv4, isIPv6 } from 'node:net';
import path from 'node:path';

export class CertError extends Error {
  override name = 'CertError';
}

const DAY_MS = 86_400_000;
/** Default life of the van CA (config broker.caDays). */
export const DEFAULT_CA_DAYS = 30;
/** Names every van CA permits, whatever the config says: the van talking to itself. */
export const LOOPBACK_NAMES = ['localhost', '127.0.0.1'] as const;

/** Run openssl; its last stderr line becomes a CertError (also used by the fleet PKI, src/hq/certs.ts). */
export function openssl(args: string[]): string {
  try {
    return execFileSync('openssl', args, { stdio: ['ignore', 'pipe', 'pipe'] }).toString();
  } catch (err) {
    const e = err as NodeJS.ErrnoException & { stderr?: Buffer };
    if (e.code === 'ENOENT') throw new CertError('openssl is not installed (apt-get install openssl)');
    throw new CertError(`openssl ${args[0]} failed: ${e.stderr?.toString().trim().split('\n').pop() ?? e.message}`);
  }
}

function expandIPv6(ip: string): string[] {
  const [head, tail] = ip.includes('::') ? ip.split('::') : [ip, undefined];
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  const groups = tail === undefined ? h : [...h, ...Array<string>(8 - h.length - t.length).fill('0'), ...t];
  return groups.map((g) => parseInt(g, 16).toString(16).toUpperCase());
}

/**
 * One permitted subtree per name, written as `openssl x509 -ext nameConstraints` prints it, so the
 * constraints of a CA on disk compare with the wanted ones as plain strings. An address permits
 * exactly itself; a DNS name itself and the names under it (RFC 5280 4.2.1.10).
 */
export function permittedSubtree(name: string): string {
  if (isIPv4(name)) return `IP:${name}/255.255.255.255`;
  if (isIPv6(name)) return `IP:${expandIPv6(name).join(':')}/${Array<string>(8).fill('FFFF').join(':')}`;
  return `DNS:${name.toLowerCase()}`;
}

/** The van CA's permitted subtrees for `names` (loopback always), sorted and unique. */
export function caConstraints(names: readonly string[]): string[] {
  return [...new Set([...LOOPBACK_NAMES, ...names].map(permittedSubtree))].sort();
}

/** Permitted subtrees of the CA certificate at `caCert` (empty: none, or no constraints at all). */
export function readCaConstraints(caCert: string): string[] {
  const out = openssl(['x509', '-in', caCert, '-noout', '-ext', 'nameConstraints']);
  if (/Excluded:/.test(out)) return []; // we never write exclusions: a CA with some is not ours to keep
  return [...new Set(out.split('\n').map((l) => l.trim()).filter((l) => /^(DNS|IP):/.test(l)).map((l) => (l.startsWith('DNS:') ? `DNS:${l.slice(4).toLowerCase()}` : l)))].sort();
}

export interface CaOptions {
  /** Names and addresses the CA may vouch for, besides loopback (certificateNames in broker-setup). */
  names?: readonly string[];
  /** Life of a new CA, in days (config broker.caDays). */
  days?: number;
  /** The clock (tests). */
  now?: number;
}

/** Why the CA at `caCert` must be replaced, or null when it can be kept. */
export function caRenewalReason(caCert: string, o: CaOptions = {}): string | null {
  const days = o.days ?? DEFAULT_CA_DAYS;
  const now = o.now ?? Date.now();
  let ca: X509Certificate;
  try {
    ca = new X509Certificate(readFileSync(caCert));
  } catch {
    return 'unreadable';
  }
  const from = Date.parse(ca.validFrom);
  const to = Date.parse(ca.validTo);
  if (to <= now) return 'expired';
  if (to - now < (to - from) / 4) return 'less than a quarter of its life left';
  if (to - from > days * DAY_MS + DAY_MS) return `it lives longer than broker.caDays (${days})`;
  const have = readCaConstraints(caCert);
  if (!have.length) return 'no name constraints';
  const want = caConstraints(o.names ?? []);
  if (have.join('\n') !== want.join('\n')) return 'its name constraints are not the van\'s current names';
  return null;
}

/**
 * The van CA: `caCert` and its key beside it (ca.key, 0600). Made when absent, and made anew
 * (new key) when caRenewalReason says so. Returns true when made now.
 */
export function ensureCa(caCert: string, o: CaOptions = {}): boolean {
  const caKey = path.join(path.dirname(caCert), 'ca.key');
  if (existsSync(caCert) && existsSync(caKey) && caRenewalReason(caCert, o) === null) return false;
  if (existsSync(caCert) !== existsSync(caKey)) throw new CertError(`${caCert} and ${caKey} must both exist or both be absent (a CA without its key cannot issue certificates)`);
  mkdirSync(path.dirname(caCert), { recursive: true, mode: 0o750 });
  const days = o.days ?? DEFAULT_CA_DAYS;
  if (!Number.isInteger(days) || days < 1) throw new CertError(`the CA's life must be a whole number of days (got ${days})`);
  const constraints = caConstraints(o.names ?? []).map((c) => `permitted;${c}`).join(',');
  // Written beside the old pair, then renamed over it: a failure leaves the old CA whole.
  const tmp = `${caCert}.tmp-${process.pid}`;
  try {
    openssl(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', String(days), '-subj', '/CN=lfr van CA', '-addext', 'basicConstraints=critical,CA:TRUE,pathlen:0', '-addext', 'keyUsage=critical,keyCertSign,cRLSign', '-addext', `nameConstraints=critical,${constraints}`, '-keyout', `${tmp}.key`, '-out', `${tmp}.crt`]);
    chmodSync(`${tmp}.key`, 0o600);
    chmodSync(`${tmp}.crt`, 0o644);
    renameSync(`${tmp}.key`, caKey);
    renameSync(`${tmp}.crt`, caCert);
  } finally {
    for (const ext of ['.key', '.crt']) rmSync(`${tmp}${ext}`, { force: true });
  }
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
      // Compared in one written form (an IPv6 address reads back expanded, a DNS name any case).
      const have = new Set(certNames(certFile).map(permittedSubtree));
      // Kept while it verifies under THIS CA (a renewed CA re-issues every leaf), covers every
      // name, and was issued to end with its CA (one made before the CA's life was short is not).
      if (cert.verify(ca.publicKey) && names.every((n) => have.has(permittedSubtree(n))) && Math.abs(Date.parse(cert.validTo) - Date.parse(ca.validTo)) <= 2 * DAY_MS && Date.parse(cert.validTo) > Date.now()) return false;
    } catch {
      /* unreadable or foreign: issue a new one */
    }
  }
  const caKey = path.join(path.dirname(caCert), 'ca.key');
  // A leaf ends with its CA (never after it: a chain is dead once its CA is), at most 825 days
  // (the most Apple devices accept).
  const caEnds = Date.parse(new X509Certificate(readFileSync(caCert)).validTo);
  const days = Math.min(825, Math.floor((caEnds - Date.now()) / DAY_MS));
  if (days < 1) throw new CertError(`the van CA ${caCert} ends within a day: run "lfr broker setup" to renew it`);
  const dir = path.dirname(certFile);
  mkdirSync(dir, { recursive: true, mode: 0o755 });
  mkdirSync(path.dirname(keyFile), { recursive: true, mode: 0o750 });
  signLeaf({ caCert, caKey, cn: names[0] ?? 'localhost', names, usage: 'serverAuth', days, certFile, keyFile, tmp: `${certFile}.tmp-${process.pid}` });
  return true;
}

export interface LeafRequest {
  caCert: string;
  caKey: string;
  /** Subject CN (the fleet's client certificates carry the van id here). */
  cn: string;
  /** Subject alternative names: IP addresses as IP:, anything else as DNS:. */
  names: readonly string[];
  usage: 'serverAuth' | 'clientAuth';
  days: number;
  certFile: string;
  keyFile: string;
  /** Temp-file stem beside the outputs: written there, then renamed; always cleaned up. */
  tmp: string;
}

/**
 * One EC P-256 leaf signed by a CA, for the van (broker, tablet page) and the fleet (HQ broker,
 * HQ page, vans' client certificates): key 0600, certificate 0644, each renamed into place only
 * when complete, temp files removed whatever happens.
 */
export function signLeaf(r: LeafRequest): void {
  const { tmp } = r;
  const san = r.names.map((n) => (/^[0-9.]+$/.test(n) || n.includes(':') ? `IP:${n}` : `DNS:${n}`)).join(',');
  try {
    writeFileSync(`${tmp}.ext`, `${san ? `subjectAltName=${san}\n` : ''}extendedKeyUsage=${r.usage}\nbasicConstraints=CA:FALSE\n`);
    openssl(['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-subj', `/CN=${r.cn}`, '-keyout', `${tmp}.key`, '-out', `${tmp}.csr`]);
    openssl(['x509', '-req', '-in', `${tmp}.csr`, '-CA', r.caCert, '-CAkey', r.caKey, '-CAcreateserial', '-CAserial', `${tmp}.srl`, '-days', String(r.days), '-extfile', `${tmp}.ext`, '-out', `${tmp}.crt`]);
    chmodSync(`${tmp}.key`, 0o600);
    chmodSync(`${tmp}.crt`, 0o644);
    renameSync(`${tmp}.key`, r.keyFile);
    renameSync(`${tmp}.crt`, r.certFile);
  } finally {
    for (const ext of ['.ext', '.csr', '.srl', '.key', '.crt']) rmSync(`${tmp}${ext}`, { force: true });
  }
}
