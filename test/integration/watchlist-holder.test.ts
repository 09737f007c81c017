// The daemon's watchlist component with real key files and SQLite, and the fake engine.
import test from 'ava';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { WatchlistHolder } from '../../src/watchlist/holder.js';
import type { OpenWatchlist } from '../../src/watchlist/service.js';
import type { WatchlistEvent } from '../../src/watchlist/events.js';
import { generateKeyFiles, readSigningSecretKey, readVanSecretKey, readPublicKey } from '../../src/crypto/keys.js';
import { parseConfig, resolvePaths } from '../../src/config/load.js';
import { silentLogger } from '../../src/log.js';
import { bundleBuffer, fakeEngine, okFiles, CSV_OK } from '../helpers/watchlist-fake.js';
import { purgeWatchlist } from '../../src/watchlist/service.js';

test('import, follow the store, purge at expiry, wipe at stop', async (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'lfr-holder-'));
  generateKeyFiles('signing', path.join(dir, 'keys'), 'force');
  generateKeyFiles('van', path.join(dir, 'keys'), 'van');
  const cfg = resolvePaths(
    parseConfig({ paths: { runtimeDir: path.join(dir, 'run'), stateDir: dir }, watchlist: { vanKeyFile: 'keys/van.key', trustedSigningKeys: ['keys/force.pub'] } }),
    dir,
  );
  const van = readVanSecretKey(path.join(dir, 'keys', 'van.key'));
  const keys = { signer: readSigningSecretKey(path.join(dir, 'keys', 'force.key')), trusted: [readPublicKey(path.join(dir, 'keys', 'force.pub'), 'signing')], van };
  const bundle = path.join(dir, 'wl.lfrwl');
  writeFileSync(bundle, await bundleBuffer(keys, CSV_OK, await okFiles()));

  let now = Date.now();
  const events: WatchlistEvent[] = [];
  const seen: (OpenWatchlist | null)[] = [];
  const h = new WatchlistHolder({ config: cfg, log: silentLogger(), clock: () => now, engine: fakeEngine, onEvent: (e) => events.push(e), onChange: (w) => seen.push(w) });
  await h.start(new AbortController().signal);
  t.is(h.current, null);

  const rep = await h.importFile(bundle);
  t.is(rep.composition.subjects, 2);
  t.is(h.current?.gallery.size, 2);
  const first = h.current!;

  // The CLI purges the store behind the daemon's back: the next check drops the in-memory copy.
  purgeWatchlist(cfg.watchlist.storeFile, 'manual');
  await h.checkNow();
  t.is(h.current, null);
  t.is(first.gallery.size, 0, 'dropped watchlist is wiped');

  await h.importFile(bundle);
  t.truthy(h.current);
  now += 25 * 3_600_000; // the deadline passes (e.g. the van slept through it)
  await h.checkNow();
  t.is(h.current, null);
  t.false(existsSync(cfg.watchlist.storeFile));
  t.true(events.some((e) => e.type === 'watchlist.purged' && e.reason === 'expired'));

  now = Date.now();
  await h.importFile(bundle);
  const last = h.current!;
  t.true(await h.purge('deployment_end'));
  t.is(last.gallery.size, 0);
  // Its deployment ended: this bundle is never loaded again (the van's import record says so).
  await t.throwsAsync(h.importFile(bundle), { message: /deployment that ended/ });
  const bundle2 = path.join(dir, 'wl2.lfrwl');
  writeFileSync(bundle2, await bundleBuffer(keys, CSV_OK, await okFiles()));
  await h.importFile(bundle2);
  const atStop = h.current!;
  await h.stop();
  t.is(atStop.gallery.size, 0, 'stop wipes the gallery');
  t.is(seen[seen.length - 1], null);
  keys.signer.secretKey.destroy();
  van.secretKey.destroy();
});

test('a missing van key does not stop the daemon; import then says why', async (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'lfr-holder-'));
  const cfg = resolvePaths(parseConfig({ paths: { runtimeDir: path.join(dir, 'run'), stateDir: dir }, watchlist: { vanKeyFile: 'keys/none.key' } }), dir);
  const h = new WatchlistHolder({ config: cfg, log: silentLogger(), clock: Date.now, engine: fakeEngine });
  await h.start(new AbortController().signal);
  t.is(h.current, null);
  await t.throwsAsync(h.importFile(path.join(dir, 'x.lfrwl')), { message: /private key not found/ });
  await h.stop();
});
