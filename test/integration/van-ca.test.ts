// The van CA (src/mqtt/certs.ts, issue 21): name constraints and a short life, read back with
// `openssl x509 -text` as a reviewer would. The attack: someone who takes the CA key from a van
// signs a certificate for another site (or another address); every TLS client refuses it, since
// the CA may vouch only for the van's own names. Renewal: `lfr broker setup` (setupBroker calls
// ensureCa) makes a new CA when a quarter of its life is left, when the names change, and over an
// old 10-year CA without constraints; leaves then verify under the new CA only.
import { execFileSync, spawnSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { needs } from '../helpers/prereq.js';
import { caConstraints, caRenewalReason, ensureCa, ensureLeaf, readCaConstraints } from '../../src/mqtt/certs.js';

const { test } = needs(['openssl']);
const DAY = 86_400_000;
const NAMES = ['localhost', '127.0.0.1', '10.20.0.1', 'van7.local'];

const text = (cert: string) => execFileSync('openssl', ['x509', '-in', cert, '-noout', '-text']).toString();
const verify = (ca: string, cert: string) => spawnSync('openssl', ['verify', '-CAfile', ca, cert], { encoding: 'utf8' });

/** What a thief with ca.key would do: sign a certificate for a name of their choice. */
function forge(dir: string, ca: string, name: string): string {
  const ext = path.join(dir, `${name}.ext`);
  writeFileSync(ext, `subjectAltName=${/^[0-9.]+$/.test(name) ? 'IP' : 'DNS'}:${name}\nextendedKeyUsage=serverAuth\nbasicConstraints=CA:FALSE\n`);
  const base = path.join(dir, `forged-${name}`);
  execFileSync('openssl', ['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-subj', `/CN=${name}`, '-keyout', `${base}.key`, '-out', `${base}.csr`], { stdio: 'ignore' });
  execFileSync('openssl', ['x509', '-req', '-in', `${base}.csr`, '-CA', ca, '-CAkey', path.join(path.dirname(ca), 'ca.key'), '-CAcreateserial', '-CAserial', `${base}.srl`, '-days', '5', '-extfile', ext, '-out', `${base}.crt`], { stdio: 'ignore' });
  return `${base}.crt`;
}

test('the van CA is name-constrained to the van, lives broker.caDays, and a stolen key cannot vouch for another site', (t) => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'lfr-van-ca-'));
  try {
    const ca = path.join(dir, 'ca.crt');
    t.true(ensureCa(ca, { names: NAMES, days: 30 }));
    const x = text(ca);
    t.regex(x, /X509v3 Name Constraints: critical\s+Permitted:\s+DNS:localhost\s+DNS:van7\.local\s+IP:10\.20\.0\.1\/255\.255\.255\.255\s+IP:127\.0\.0\.1\/255\.255\.255\.255\s+Signature/, x);
    t.notRegex(x, /Excluded/);
    t.regex(x, /CA:TRUE, pathlen:0/);
    const from = Date.parse(/Not Before: (.+)/.exec(x)![1]!);
    const to = Date.parse(/Not After : (.+)/.exec(x)![1]!);
    t.is(to - from, 30 * DAY, 'the CA lives 30 days (broker.caDays), not 10 years');
    t.deepEqual(readCaConstraints(ca), caConstraints(NAMES));

    // The van's own leaf verifies, and ends with its CA (not 825 days later).
    const leaf = path.join(dir, 'broker.crt');
    t.true(ensureLeaf(ca, leaf, path.join(dir, 'broker.key'), NAMES));
    t.is(verify(ca, leaf).status, 0, verify(ca, leaf).stdout + verify(ca, leaf).stderr);
    t.true(Date.parse(new X509Certificate(readFileSync(leaf)).validTo) <= to);
    t.false(ensureLeaf(ca, leaf, path.join(dir, 'broker.key'), NAMES), 'a valid leaf is kept');

    // The attack: certificates signed with the CA's key for names that are not the van's.
    for (const name of ['www.police.uk', 'van7.local.evil.example', '10.20.0.2', '8.8.8.8']) {
      const r = verify(ca, forge(dir, ca, name));
      t.not(r.status, 0, name);
      t.regex(r.stdout + r.stderr, /permitted subtree violation/, name);
    }
    // A name under the van's own (RFC 5280: a DNS constraint covers its subdomains) stays the van's.
    t.is(verify(ca, forge(dir, ca, 'tablet.van7.local')).status, 0);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('renewal: kept while valid; a new CA (new key, leaves re-issued) in its last quarter, on new names, over an unconstrained 10-year CA', (t) => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'lfr-van-ca-'));
  try {
    const ca = path.join(dir, 'ca.crt');
    const key = path.join(dir, 'ca.key');
    // A CA as vans made it before: 10 years, no name constraints.
    execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '3650', '-subj', '/CN=lfr van CA', '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign', '-keyout', key, '-out', ca], { stdio: 'ignore' });
    const leaf = path.join(dir, 'page.crt');
    ensureLeaf(ca, leaf, path.join(dir, 'page.key'), NAMES);
    t.truthy(caRenewalReason(ca, { names: NAMES, days: 30 }));
    t.true(ensureCa(ca, { names: NAMES, days: 30 }), 'the old CA is replaced');
    t.regex(text(ca), /Name Constraints: critical/);
    t.not(verify(ca, leaf).status, 0, 'the old leaf no longer verifies');
    t.true(ensureLeaf(ca, leaf, path.join(dir, 'page.key'), NAMES), 'so setup re-issues it');
    t.is(verify(ca, leaf).status, 0);

    t.is(caRenewalReason(ca, { names: NAMES, days: 30 }), null);
    t.false(ensureCa(ca, { names: NAMES, days: 30 }), 'a current CA is kept');
    const ends = Date.parse(new X509Certificate(readFileSync(ca)).validTo);
    t.is(caRenewalReason(ca, { names: NAMES, days: 30, now: ends - 10 * DAY }), null);
    t.is(caRenewalReason(ca, { names: NAMES, days: 30, now: ends - 5 * DAY }), 'less than a quarter of its life left');
    t.is(caRenewalReason(ca, { names: NAMES, days: 30, now: ends + 1 }), 'expired');
    t.is(caRenewalReason(ca, { names: [...NAMES, 'van8.local'], days: 30 }), "its name constraints are not the van's current names");
    t.is(caRenewalReason(ca, { names: NAMES, days: 14 }), 'it lives longer than broker.caDays (14)');

    const before = new X509Certificate(readFileSync(ca)).publicKey.export({ format: 'der', type: 'spki' });
    t.true(ensureCa(ca, { names: [...NAMES, 'van8.local'], days: 30 }), 'a new name needs a new CA');
    t.false(new X509Certificate(readFileSync(ca)).publicKey.export({ format: 'der', type: 'spki' }).equals(before), 'with a new key');
    t.regex(text(ca), /DNS:van8\.local/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
