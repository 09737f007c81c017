// Unit test (pure verdict) of the volatile-storage probe; the running-van proof is in
// test/integration/redteam.test.ts.
import test from 'ava';
import { checkVolatileStorage } from '../../src/health/storage.js';

test('every volatile place on tmpfs is OK; one on a disk FAILs naming it; unreadable WARNs', (t) => {
  const ram = { what: 'alert keys', path: '/run/lfr/alert-keys', fs: 'tmpfs', volatile: true };
  t.is(checkVolatileStorage([ram, { ...ram, what: 'watchlist store', path: '/run/lfr' }]).level, 'OK');
  const disk = checkVolatileStorage([ram, { what: 'watchlist store', path: '/var/lib/lfr', fs: 'ext4', volatile: false }]);
  t.is(disk.level, 'FAIL');
  t.regex(disk.message, /watchlist store \/var\/lib\/lfr is on ext4, not tmpfs/);
  t.is(checkVolatileStorage([ram, { what: 'x', path: '/nope', fs: null, volatile: null }]).level, 'WARN');
});
