// lfr.service's IPAddressAllow= (src/config/network.ts): the tablet networks and the cameras'
// addresses only; the private ranges only as a reported fallback.
import test from 'ava';
import { unitAllowList, PRIVATE_RANGES } from '../../src/config/network.js';
import { configSchema } from '../../src/config/schema.js';

const cfg = (over: Record<string, unknown>) => configSchema.parse({ van: { id: 'v' }, ...over });

test('tablet subnet and camera IPs only', (t) => {
  const r = unitAllowList(cfg({ tablet: { subnets: ['10.20.0.0/24'] }, cameras: [{ name: 'n', url: 'rtsp://10.30.0.21:554/s' }, { name: 'f', url: 'file:///tmp/x.mp4' }] }));
  t.deepEqual(r.allow, ['localhost', 'link-local', '10.20.0.0/24', '10.30.0.21/32']);
  t.deepEqual(r.warnings, []);
  for (const p of PRIVATE_RANGES) t.false(r.allow.includes(p));
});

test('no tablet subnet, or a camera by name: the private ranges stay, with a warning each', (t) => {
  const a = unitAllowList(cfg({ cameras: [] }));
  t.true(PRIVATE_RANGES.every((p) => a.allow.includes(p)));
  t.regex(a.warnings.join(' '), /tablet\.subnets is empty/);
  const b = unitAllowList(cfg({ tablet: { subnets: ['10.20.0.0/24'] }, cameras: [{ name: 'n', url: 'rtsp://cam1.local/s' }] }));
  t.regex(b.warnings.join(' '), /camera n is given by name/);
});

test('tablet.subnets takes CIDR only', (t) => {
  t.throws(() => cfg({ tablet: { subnets: ['10.20.0.0'] } }));
});
