// The van CA (issue 21), the pure parts: which names it may vouch for (its name constraints), the
// constraint strings compared with what openssl prints, the broker.caDays bounds, and the health
// check that tells the crew to renew it (test/integration/van-ca.test.ts makes real certificates).
import test from 'ava';
import { parseConfig, ConfigError } from '../../src/config/load.js';
import { certificateNames } from '../../src/mqtt/broker-setup.js';
import { caConstraints, permittedSubtree } from '../../src/mqtt/certs.js';
import { checkVanCa } from '../../src/health/van-ca.js';

const DAY = 86_400_000;

test('the CA may vouch for loopback, the tablet address and broker.hosts: nothing else', (t) => {
  t.deepEqual(certificateNames(parseConfig({})), ['localhost', '127.0.0.1']);
  t.deepEqual(certificateNames(parseConfig({ tablet: { host: '10.20.0.1' }, broker: { hosts: ['van7.local', '10.20.0.1'] } })), ['localhost', '127.0.0.1', '10.20.0.1', 'van7.local']);
  t.deepEqual(certificateNames(parseConfig({ tablet: { host: '::' } })), ['localhost', '127.0.0.1']);
  t.deepEqual(caConstraints(['van7.local']), ['DNS:localhost', 'DNS:van7.local', 'IP:127.0.0.1/255.255.255.255']);
  // Written as `openssl x509 -ext nameConstraints` prints them, so a CA on disk compares as text.
  t.is(permittedSubtree('fd00::1'), 'IP:FD00:0:0:0:0:0:0:1/FFFF:FFFF:FFFF:FFFF:FFFF:FFFF:FFFF:FFFF');
  t.is(permittedSubtree('Van7.Local'), 'DNS:van7.local');
});

test('broker.caDays: 30 by default, 7 to 90 days, never years', (t) => {
  t.is(parseConfig({}).broker.caDays, 30);
  t.throws(() => parseConfig({ broker: { caDays: 3650 } }), { instanceOf: ConfigError });
  t.throws(() => parseConfig({ broker: { caDays: 1 } }), { instanceOf: ConfigError });
});

test('health: the van CA is OK, WARNs in its last quarter (renew at the depot), FAILs once ended', (t) => {
  const f = { file: '/etc/lfr/tls/ca.crt', startsAtMs: 0, endsAtMs: 30 * DAY };
  t.is(checkVanCa(f, 10 * DAY).level, 'OK');
  const w = checkVanCa(f, 25 * DAY);
  t.is(w.level, 'WARN');
  t.regex(w.message, /lfr broker setup.*new \/etc\/lfr\/tls\/ca\.crt/);
  t.is(checkVanCa(f, 30 * DAY + 1).level, 'FAIL');
  t.is(checkVanCa({ file: 'x', error: 'not found' }, 0).level, 'WARN');
});
