// Issue 21, item 1, through the real process (`lfr run`, test/helpers/van.ts) and the real `lfr`
// CLI: nothing a root user on the van does to the van's record of imports renews an ended bundle.
// Each attack from the review is replayed on the running (or stopped) van:
//   - the record deleted, edited by hand, or rolled back to an older authentic copy, then the
//     ended bundle imported again -> refused and audited; a NEW bundle from the station works
//   - a copy of an ended deployment's store put back in place -> refused, purged and audited
//   - the offline CLI (daemon stopped) into the van's store -> goes through the same record, audited
//     under the kernel's actor; into a bench store -> that store is refused when the daemon opens it
import { copyFileSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { ExecutionContext } from 'ava';
import { Van, sleep } from '../helpers/van.js';
import { needs } from '../helpers/prereq.js';
import { referenceFace } from '../helpers/faces.js';
import { AuditLog, type AuditEntry } from '../../src/audit/log.js';

const { serial } = needs(['models']);
const ME = os.userInfo().username;

async function newVan(t: ExecutionContext): Promise<Van> {
  return Van.create(t, { broker: false, config: {} });
}

async function bundle(van: Van, name: string, faces: number[]): Promise<string> {
  return van.buildBundle(await Promise.all(faces.map(async (n, i) => ({ ref: `REF-${name}-${i}`, images: [await referenceFace(n)] }))), name);
}

function audit(van: Van): AuditEntry[] {
  const file = path.join(van.stateDir, 'audit.db');
  if (!existsSync(file)) return [];
  const log = new AuditLog(file, Date.now, true).open();
  try {
    return log.list(10_000).reverse();
  } finally {
    log.close();
  }
}

const recordFile = (van: Van) => path.join(van.stateDir, 'watchlist-imports.json');
const storeFile = (van: Van) => path.join(van.runtimeDir, 'watchlist.db');

async function waitGone(file: string, ms = 40_000): Promise<boolean> {
  const t0 = Date.now();
  while (existsSync(file) && Date.now() - t0 < ms) await sleep(300);
  return !existsSync(file);
}

serial('the record deleted, edited or rolled back: an ended bundle stays refused (audited); a new bundle works; a copy of the ended store put back is refused', async (t) => {
  t.timeout(480_000); // two van starts, five CLI imports and a 15 s store tick on a shared 2-core box
  const van = await newVan(t);
  const a = await bundle(van, 'a', [1]);
  await van.start();
  await van.cliJson(['watchlist', 'import', a]);
  const beforeEnd = readFileSync(recordFile(van), 'utf8'); // an authentic copy, bundle not yet ended
  await van.startDeployment();
  const storeCopy = path.join(van.dir, 'store-copy.db');
  copyFileSync(storeFile(van), storeCopy); // root keeps a copy of the deployment's store
  await van.endDeployment();
  t.true(audit(van).some((e) => e.type === 'watchlist.bundle_ended'), 'the end is audited on the record');

  // 1. a copy of the ended deployment's store put back while the daemon runs
  copyFileSync(storeCopy, storeFile(van));
  t.true(await waitGone(storeFile(van)), 'the put-back store was purged');
  const rej = audit(van).filter((e) => e.type === 'watchlist.store_rejected').pop();
  t.is(rej?.fields.code, 'bundle_ended');
  t.regex(String(rej?.fields.reason), /deployment ended/);
  const noWl = await van.cli('deployment', 'start', '--authorisation', 'A', '--location', 'L', '--officer', 'O', '--ends-at', '+1h', '--threshold', '0.56');
  t.is(noWl.code, 3, 'no deployment starts on it');

  // 2. the record rolled back to the authentic copy taken before the end
  writeFileSync(recordFile(van), beforeEnd);
  const rolled = await van.cli('watchlist', 'import', a);
  t.is(rolled.code, 3, rolled.stderr);
  t.regex(rolled.stderr, /before the van's record of imported bundles was started again/);
  t.is(audit(van).filter((e) => e.type === 'watchlist.record_lost').pop()?.fields.reason, 'rolled_back');

  // 3. the record edited by hand (the bundle's end removed; the MAC no longer matches)
  const outer = JSON.parse(readFileSync(recordFile(van), 'utf8')) as { body: string; mac: string };
  const body = JSON.parse(outer.body) as { since: string };
  body.since = '2000-01-01T00:00:00.000Z';
  writeFileSync(recordFile(van), JSON.stringify({ body: JSON.stringify(body), mac: outer.mac }));
  const edited = await van.cli('watchlist', 'import', a);
  t.is(edited.code, 3, edited.stderr);
  t.is(audit(van).filter((e) => e.type === 'watchlist.record_lost').pop()?.fields.reason, 'forged');

  // 4. the record deleted
  rmSync(recordFile(van));
  const deleted = await van.cli('watchlist', 'import', a);
  t.is(deleted.code, 3, deleted.stderr);
  t.regex(deleted.stderr, /build a new bundle at the station/);
  t.is(audit(van).filter((e) => e.type === 'watchlist.record_lost').pop()?.fields.reason, 'missing');
  t.deepEqual(
    audit(van).filter((e) => e.type === 'watchlist.import_rejected').map((e) => e.fields.code),
    ['bundle_before_record', 'bundle_before_record', 'bundle_before_record'],
  );

  // A new bundle from the station is accepted after all that.
  await sleep(1100); // built strictly after the record's new start (ISO ms resolution)
  const b = await bundle(van, 'b', [2]);
  const ok = await van.cliJson<{ composition: { subjects: number } }>(['watchlist', 'import', b]);
  t.is(ok.composition.subjects, 1);
});

serial('the offline CLI: into the van store it goes through the van record and is audited under the kernel actor; a bench store copied into place is refused', async (t) => {
  t.timeout(480_000);
  const van = await newVan(t);
  const a = await bundle(van, 'a', [1]);
  await van.start();
  await van.startDeployment(['--watchlist', a]);
  await van.endDeployment();
  await van.stop();

  // (a) the review's attack: --store naming the van's store, daemon stopped
  const before = audit(van).length;
  const imp = await van.cli('watchlist', 'import', a, '--store', storeFile(van));
  t.is(imp.code, 3, imp.stderr);
  t.regex(imp.stderr, /deployment that ended/);
  const rej = audit(van).slice(before).find((e) => e.type === 'watchlist.import_rejected');
  t.like(rej?.fields, { code: 'bundle_ended', source: 'cli-offline', offline: true });
  t.is(rej?.actor, ME, 'actor is the uid of the process (the kernel), not a name typed');

  // (b) a bench store elsewhere (its own record) moved into the van's place
  const bench = path.join(van.dir, 'bench', 'watchlist.db');
  mkdirSync(path.dirname(bench), { recursive: true });
  const bi = await van.cli('watchlist', 'import', a, '--store', bench);
  t.is(bi.code, 0, bi.stderr);
  mkdirSync(van.runtimeDir, { recursive: true });
  copyFileSync(bench, storeFile(van));
  await van.start();
  t.false(existsSync(storeFile(van)), 'refused and purged when the daemon opened it');
  t.is(audit(van).filter((e) => e.type === 'watchlist.store_rejected').pop()?.fields.code, 'bundle_ended');

  // (c) an offline purge of the van store is audited too
  await van.stop();
  const p = await van.cli('watchlist', 'purge', '--json');
  t.is(p.code, 0, p.stderr);
  const last = audit(van).pop();
  t.like(last, { type: 'watchlist.purged', actor: ME });
  t.is(last?.fields.offline, true);
});
