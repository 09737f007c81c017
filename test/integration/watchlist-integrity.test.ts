// Issue 12 through the real process: `lfr run` (test/helpers/van.ts) and the real `lfr` CLI. Each
// test replays one attack from the issue on the running van and checks what it gets now:
//   - old, future, replayed (power cut, re-inserted stick) and post-deployment bundles
//   - an import during a running deployment, by CLI, raw control socket and the USB script
//   - a request claiming another actor ("Chief-Constable")
//   - a store forged with the van's PUBLIC key only, an edited store, a store from an untrusted key
//   - a FIFO as the bundle, and an upload that stalls, while `deployment end` must finish
//   - stale temp stores, file modes
// No broker is involved in these attacks, so the van runs without one (its absence is reported).
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync, copyFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import type { ExecutionContext } from 'ava';
import { CLI_ENTRY, INSTALL_ROOT } from '../../src/paths.js';
import { Van, sleep } from '../helpers/van.js';
import { needs } from '../helpers/prereq.js';
import { referenceFace } from '../helpers/faces.js';
import { runCli, lastJson } from '../helpers/cli.js';
import { AuditLog, type AuditEntry } from '../../src/audit/log.js';
import { generateBoxKeyPair } from '../../src/crypto/box.js';
import { readPublicKey } from '../../src/crypto/keys.js';
import { StoreWriter } from '../../src/watchlist/store.js';

const { serial } = needs(['models']);
const run = promisify(execFile);
const FAKETIME = '/usr/bin/faketime';

function requireFaketime(): void {
  // A test that cannot run must fail, not pass: faketime is installed by scripts/setup.sh.
  if (!existsSync(FAKETIME)) throw new Error('missing prerequisite: faketime (apt-get install faketime; bash scripts/setup.sh)');
}

async function newVan(t: ExecutionContext, config: Record<string, unknown> = {}): Promise<Van> {
  return Van.create(t, { broker: false, config: { deployment: { requireOfficer: true }, ...config } });
}

/** `lfr watchlist build` at the station, with the station's clock shifted (faketime -f OFFSET). */
async function buildBundle(van: Van, name: string, faces: number[], offset: string | null = null): Promise<string> {
  const src = path.join(van.dir, 'station', name);
  mkdirSync(src, { recursive: true });
  const rows = ['subject_ref,category,reason,images'];
  for (const [i, n] of faces.entries()) {
    writeFileSync(path.join(src, `f${i}.jpg`), await referenceFace(n));
    rows.push(`REF-${name}-${i},wanted,test,f${i}.jpg`);
  }
  writeFileSync(path.join(src, 'watchlist.csv'), `${rows.join('\n')}\n`);
  const out = path.join(van.dir, 'station', `${name}.lfrwl`);
  const args = [CLI_ENTRY, '-c', van.cfgFile, 'watchlist', 'build', '--csv', path.join(src, 'watchlist.csv'), '--images', src, '--sign-key', van.keys.signingKey, '--to', van.keys.vanPub, '--out', out];
  if (offset) {
    requireFaketime();
    await run(FAKETIME, ['-f', offset, process.execPath, ...args], { env: { ...process.env, LFR_CONFIG: '' }, cwd: INSTALL_ROOT });
  } else {
    await run(process.execPath, args, { env: { ...process.env, LFR_CONFIG: '' }, cwd: INSTALL_ROOT });
  }
  return out;
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

/** One raw request on the control socket (what any local program could send). */
function rawRequest(van: Van, line: string, body: Buffer | null = null, keepOpenMs = 0): Promise<string> {
  return new Promise((resolve, reject) => {
    const sock = net.connect(path.join(van.runtimeDir, 'control.sock'));
    let buf = '';
    sock.setEncoding('utf8');
    sock.on('connect', () => {
      sock.write(`${line}\n`);
      if (body) sock.write(body);
      if (keepOpenMs) setTimeout(() => sock.destroy(), keepOpenMs);
    });
    sock.on('data', (d: string) => {
      buf += d;
      if (buf.includes('\n')) {
        sock.destroy();
        resolve(buf.trim());
      }
    });
    sock.on('close', () => resolve(buf.trim()));
    sock.on('error', reject);
  });
}

const ME = os.userInfo().username;

serial('freshness: an old bundle, a future-dated one, a replay after a power cut and a bundle of an ended deployment', async (t) => {
  const van = await newVan(t);
  const fresh = await buildBundle(van, 'fresh', [1, 2]);
  const old = await buildBundle(van, 'old', [1], '-3d');
  const future = await buildBundle(van, 'future', [1], '+2d');
  const dayBefore = await buildBundle(van, 'daybefore', [3], '-30h');
  await van.start();

  const o = await van.cli('watchlist', 'import', old);
  t.is(o.code, 3, o.stderr);
  t.regex(o.stderr, /built 7\d\.\d h ago .*at most 48 h/);
  const f = await van.cli('watchlist', 'import', future);
  t.is(f.code, 3, f.stderr);
  t.regex(f.stderr, /in the future/);
  const codes = audit(van).filter((e) => e.type === 'watchlist.import_rejected').map((e) => [e.fields.code, e.actor]);
  t.deepEqual(codes, [['bundle_too_old', ME], ['bundle_future', ME]]);

  // Built the day before (30 h ago): accepted.
  const d = await van.cliJson<{ composition: { subjects: number } }>(['watchlist', 'import', dayBefore]);
  t.is(d.composition.subjects, 1);

  // First import of the deployment's bundle, then a power cut (tmpfs gone) and the stick again.
  const first = await van.cliJson<{ composition: { expiresAt: string; bundleId: string } }>(['watchlist', 'import', fresh]);
  await sleep(1500);
  await van.stop('SIGKILL');
  rmSync(van.runtimeDir, { recursive: true, force: true });
  await van.start();
  t.is((await van.cliJson<{ present: boolean }>(['watchlist', 'status'])).present, false, 'the watchlist went with the power');
  const again = await van.cliJson<{ composition: { expiresAt: string; bundleId: string } }>(['watchlist', 'import', fresh]);
  t.is(again.composition.bundleId, first.composition.bundleId);
  t.is(again.composition.expiresAt, first.composition.expiresAt, 'reloaded with its ORIGINAL expiry, not a new 24 h');

  // The deployment runs on it and ends: the same bundle is then refused for good.
  await van.startDeployment();
  await van.endDeployment();
  const after = await van.cli('watchlist', 'import', fresh);
  t.is(after.code, 3, after.stderr);
  t.regex(after.stderr, /deployment that ended .* never reloaded/);
  const rec = JSON.parse((JSON.parse(readFileSync(path.join(van.stateDir, 'watchlist-imports.json'), 'utf8')) as { body: string }).body) as { bundles: Array<Record<string, unknown>> };
  t.true(rec.bundles.every((b) => Object.keys(b).sort().join() === 'bundleCreatedAt,bundleId,endedAt,firstImportedAt'), 'the import record holds ids and times only');
  t.is((statSync(path.join(van.stateDir, 'watchlist-imports.json')).mode & 0o777).toString(8), '600');
});

serial('the watchlist is locked to its deployment: CLI, raw socket and USB imports are refused and audited; the actor is the peer, not a field', async (t) => {
  const van = await newVan(t);
  const authorised = await buildBundle(van, 'authorised', [1]);
  const other = await buildBundle(van, 'other', [2, 3]);
  await van.start();
  const dep = await van.cliJson<{ id: string; watchlist: { bundleSha256: string; bundleId: string } }>(['deployment', 'start', '--authorisation', 'AUTH-1', '--location', 'Rig', '--officer', 'Insp A', '--ends-at', '+1h', '--threshold', '0.56', '--watchlist', authorised]);

  // 1. the CLI
  const cli = await van.cli('watchlist', 'import', other);
  t.is(cli.code, 3, cli.stderr);
  t.regex(cli.stderr, /cannot change during a deployment/);
  // 2. a raw socket request that also claims to be the Chief Constable; the bytes are never read
  const raw = JSON.parse(await rawRequest(van, JSON.stringify({ method: 'watchlist.import', params: { bytes: 1000, source: 'cli' }, actor: 'Chief-Constable' }))) as { ok: boolean; error: string };
  t.false(raw.ok);
  t.regex(raw.error, /cannot change during a deployment/);
  // 3. the USB import script, as lfr-usb-import@.service runs it
  const stick = path.join(van.dir, 'stick');
  mkdirSync(stick);
  copyFileSync(other, path.join(stick, 'other.lfrwl'));
  const usb = await run(path.join(INSTALL_ROOT, 'scripts/usb-import.sh'), [stick], { env: { ...process.env, LFR_ENTRY: CLI_ENTRY, LFR_USER: ME, LFR_CONFIG: van.cfgFile } }).then(
    () => ({ code: 0, stderr: '' }),
    (err: { code: number; stderr: string }) => err,
  );
  t.not(usb.code, 0);
  t.regex(usb.stderr, /cannot change during a deployment/);

  const refused = audit(van).filter((e) => e.type === 'watchlist.import_rejected');
  // The source is what the daemon knows (its socket); cli/usb is only the client's claim.
  t.deepEqual(refused.map((e) => [e.fields.code, e.fields.source, e.fields.claimedSource, e.actor]), [['deployment_running', 'control-socket', 'cli', ME], ['deployment_running', 'control-socket', 'cli', ME], ['deployment_running', 'control-socket', 'usb', ME]]);
  t.false(audit(van).some((e) => e.actor === 'Chief-Constable'), 'no entry under the claimed actor');

  // A raw deployment.end claiming an actor is recorded under the real peer.
  const endRaw = JSON.parse(await rawRequest(van, JSON.stringify({ method: 'deployment.end', params: {}, actor: 'Chief-Constable' }))) as { ok: boolean; result: { watchlist: { bundleSha256: string; bundleId: string }; auditHead: { value: string } } };
  t.true(endRaw.ok);
  t.is(endRaw.result.watchlist.bundleSha256, dep.watchlist.bundleSha256, 'the report names the bundle that was matched against');
  t.is(endRaw.result.watchlist.bundleId, dep.watchlist.bundleId);
  const end = audit(van).find((e) => e.type === 'deployment.end');
  t.is(end?.actor, ME);
  const start = audit(van).find((e) => e.type === 'deployment.start');
  t.is(start?.fields['watchlist.bundleSha256'], dep.watchlist.bundleSha256);
});

serial('a forged store (written with the van PUBLIC key only), an edited store and a store from an untrusted signer are refused and purged', async (t) => {
  const van = await newVan(t);
  const store = path.join(van.runtimeDir, 'watchlist.db');
  const trustedId = readPublicKey(van.keys.signingPub, 'signing').keyId;
  const vanPub = readPublicKey(van.keys.vanPub, 'van');
  // The attacker knows the van's public key (every station does) and the trusted signer's id.
  mkdirSync(van.runtimeDir, { recursive: true });
  const forger = generateBoxKeyPair();
  const w = StoreWriter.create(store, { publicKey: vanPub.publicKey, secretKey: forger.secretKey });
  w.addSubject({ subjectRef: 'FORGED', category: 'wanted', reason: 'x', referenceJpeg: Buffer.from([0xff, 0xd8]), templates: [new Float32Array(512).fill(0.04)] }, 512);
  const now = new Date();
  w.commit({ bundleSha256: 'f'.repeat(64), bundleId: 'a'.repeat(32), signerKeyId: trustedId, vanKeyId: vanPub.keyId, bundleCreatedAt: now.toISOString(), importedAt: now.toISOString(), expiresAt: new Date(now.getTime() + 3_600_000).toISOString(), subjects: 1, templates: 1, categories: { wanted: 1 }, rejectedImages: 0, embeddingSize: 512, models: { detector: 'rfb320', landmarker: 'pfld68', embedder: 'faceplugin-feature-int8' } });
  // and a half-written store a kill -9 left behind
  writeFileSync(path.join(van.runtimeDir, '.watchlist.db.tmp-deadbeef0000'), 'partial');
  await van.start();
  t.false(existsSync(store), 'the forged store was purged at start');
  t.false(existsSync(path.join(van.runtimeDir, '.watchlist.db.tmp-deadbeef0000')), 'the stale temp store was removed');
  const rejected = audit(van).find((e) => e.type === 'watchlist.store_rejected');
  // Refused by the van's record of imports (its bundle was never imported here) before its MAC is
  // even checked; either check alone refuses it (watchlist-record.test.ts covers the record).
  t.regex(String(rejected?.fields.reason), /record of imports does not name|failed authentication/);
  const noWl = await van.cli('deployment', 'start', '--authorisation', 'A', '--location', 'L', '--officer', 'O', '--ends-at', '+1h', '--threshold', '0.56');
  t.is(noWl.code, 3);
  t.regex(noWl.stderr, /no watchlist has been imported/);

  // A real store, then one byte of a row changed on disk while the daemon runs.
  await van.cliJson(['watchlist', 'import', await buildBundle(van, 'real', [1, 2])]);
  const bytes = readFileSync(store);
  const i = bytes.lastIndexOf(Buffer.from([0]), bytes.length - 200) - 50;
  bytes[i] = bytes[i]! ^ 0x01;
  writeFileSync(store, bytes);
  const t0 = Date.now();
  while (existsSync(store) && Date.now() - t0 < 40_000) await sleep(500);
  t.false(existsSync(store), 'the edited store was purged by the running daemon');
  t.true(audit(van).some((e) => e.type === 'watchlist.purged' && e.fields.reason === 'damaged'));

  // --trust on a running van is refused; on a stopped van it writes a store the daemon refuses.
  const rogue = path.join(van.dir, 'rogue');
  await runCli(['keys', 'generate', '--kind', 'signing', '--out', rogue, '--name', 'rogue']);
  const rogueBundle = path.join(van.dir, 'rogue.lfrwl');
  const src = path.join(van.dir, 'station', 'real');
  const b = await runCli(['-c', van.cfgFile, 'watchlist', 'build', '--csv', path.join(src, 'watchlist.csv'), '--images', src, '--sign-key', path.join(rogue, 'rogue.key'), '--to', van.keys.vanPub, '--out', rogueBundle]);
  t.is(b.code, 0, b.stderr);
  const refusedTrust = await van.cli('watchlist', 'import', rogueBundle, '--trust', path.join(rogue, 'rogue.pub'));
  t.is(refusedTrust.code, 2);
  t.regex(refusedTrust.stderr, /--trust, --van-key and --store are for the station and test benches/);
  await van.stop();
  const benchImport = await van.cli('watchlist', 'import', rogueBundle, '--trust', path.join(rogue, 'rogue.pub'));
  t.is(benchImport.code, 0, benchImport.stderr);
  t.regex(benchImport.stderr, /--trust is for the station/);
  await van.start();
  t.false(existsSync(store), 'a store signed by a key the config does not trust is purged when the daemon opens it');
  t.regex(String(audit(van).filter((e) => e.type === 'watchlist.store_rejected').pop()?.fields.reason), /does not trust/);
});

serial('a FIFO as the bundle is refused at once, a stalled upload holds nothing, and deployment end never waits', async (t) => {
  const van = await newVan(t);
  const bundle = await buildBundle(van, 'b', [1]);
  await van.start();
  const fifo = path.join(van.dir, 'bundle.lfrwl');
  await run('mkfifo', [fifo]);
  const imp = await van.cli('watchlist', 'import', fifo);
  t.is(imp.code, 3, imp.stderr);
  t.regex(imp.stderr, /FIFO, not a regular file/);
  const dep = await van.cli('deployment', 'start', '--authorisation', 'A', '--location', 'L', '--officer', 'O', '--ends-at', '+1h', '--threshold', '0.56', '--watchlist', fifo);
  t.is(dep.code, 3, dep.stderr);
  // The daemon never opens a path a request names.
  const named = JSON.parse(await rawRequest(van, JSON.stringify({ method: 'deployment.start', params: { authorisationRef: 'A', location: 'L', authorisingOfficer: 'O', threshold: 0.56, endsAt: Date.now() + 3_600_000, watchlistFile: fifo } }))) as { ok: boolean; error: string };
  t.false(named.ok);
  t.regex(named.error, /not accepted/);

  await van.cliJson(['deployment', 'start', '--authorisation', 'A', '--location', 'L', '--officer', 'O', '--ends-at', '+1h', '--threshold', '0.56', '--watchlist', bundle]);
  // An upload that announces 50 MB and stalls after 10 bytes (refused for the running deployment
  // before a byte is read), and the FIFO again, while the operator ends the deployment.
  const stalled = rawRequest(van, JSON.stringify({ method: 'watchlist.import', params: { bytes: 50_000_000, source: 'cli' } }), Buffer.alloc(10), 60_000);
  const fifoAgain = van.cli('watchlist', 'import', fifo);
  const t0 = Date.now();
  const end = await van.cli('deployment', 'end', '--json');
  const endMs = Date.now() - t0;
  t.is(end.code, 0, end.stderr);
  t.true(lastJson<{ watchlistPurged: boolean }>(end.stdout).watchlistPurged);
  t.false(existsSync(path.join(van.runtimeDir, 'watchlist.db')));
  t.log(`deployment end took ${endMs} ms with a FIFO import and a stalled upload in flight`);
  t.is((await fifoAgain).code, 3);
  t.regex(await stalled, /cannot change during a deployment/);

  // Outside a deployment: a stalled upload does not hold the watchlist lock; purge goes through.
  const ended = await van.cli('watchlist', 'import', bundle);
  t.regex(ended.stderr, /deployment that ended/);
  await van.cliJson(['watchlist', 'import', await buildBundle(van, 'c', [2])]);
  const slow = rawRequest(van, JSON.stringify({ method: 'watchlist.import', params: { bytes: 50_000_000, source: 'cli' } }), Buffer.alloc(10), 5_000);
  const purge = await van.cli('watchlist', 'purge', '--json');
  t.is(purge.code, 0, purge.stderr);
  t.true(lastJson<{ viaDaemon: boolean }>(purge.stdout).viaDaemon);
  t.regex(await slow, /closed after 10 of 50000000 bytes|^$/);
  for (let i = 0; i < 50 && readdirSync(path.join(van.runtimeDir, 'uploads')).length; i++) await sleep(100);
  t.deepEqual(readdirSync(path.join(van.runtimeDir, 'uploads')), [], 'the stalled upload left nothing');
  const purgeEntry = audit(van).filter((e) => e.type === 'watchlist.purged').pop();
  t.is(purgeEntry?.actor, ME);
  t.is(purgeEntry?.fields.reason, 'manual');
  t.regex(String(purgeEntry?.fields.bundleSha256), /^[0-9a-f]{64}$/);
});

serial('files the daemon creates are private, and its core limit is 0 even when started with cores allowed', async (t) => {
  const van = await newVan(t);
  const bundle = await buildBundle(van, 'b', [1]);
  // The parent allows unlimited core files (what an admin shell might): the daemon must lower it.
  await run('prlimit', ['--pid', String(process.pid), '--core=unlimited']);
  t.teardown(() => run('prlimit', ['--pid', String(process.pid), '--core=0']).catch(() => undefined));
  await van.start();
  await van.cliJson(['deployment', 'start', '--authorisation', 'A', '--location', 'L', '--officer', 'O', '--ends-at', '+1h', '--threshold', '0.56', '--watchlist', bundle]);
  const limits = readFileSync(`/proc/${van.pid}/limits`, 'utf8').split('\n').find((l) => l.startsWith('Max core file size'))!;
  t.regex(limits, /Max core file size\s+0\s+0\s+bytes/);
  const health = lastJson<{ checks: Array<{ name: string; level: string; message: string }> }>((await van.cli('health', '--json')).stdout);
  const mem = health.checks.find((c) => c.name === 'memory.safety');
  t.is(mem?.level, 'OK', JSON.stringify(mem));
  t.regex(van.log(), /memory locked down: not dumpable, core limit 0/);
  await van.endDeployment();
  const loose: string[] = [];
  for (const f of van.filesWritten().filter((p) => p.startsWith(van.stateDir) || p.startsWith(van.runtimeDir))) {
    const mode = statSync(f).mode & 0o777;
    if (mode & 0o077) loose.push(`${path.relative(van.dir, f)} ${mode.toString(8)}`);
  }
  t.deepEqual(loose, [], 'no file the daemon wrote is readable by group or others');
});

