// Regression tests of what a red-team pass found on the assembled van (`lfr run` from a config
// file, through test/helpers/van.ts), one test per finding:
//   1. A config that is not a config: `lfr run -c <the van key>` printed the van's SECRET key
//      (the whole object, as the value of an "unknown fields" problem) to stderr, i.e. the journal;
//      a camera URL with user:password@ printed the password; `-c` on a FIFO or a device hung for ever.
//   2. Health told "OK" while the watchlist store, the per-alert keys and uploads sat on a disk
//      (crypto-shredding by deleting a key file does not work on a disk); it now FAILs with the reason.
//   3. An import admitted before a deployment started finished after it: the new store was
//      swapped in, then purged as "not bound", and the deployment ran matching against nothing.
import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { needs } from '../helpers/prereq.js';
import { Van, sleep } from '../helpers/van.js';
import { runCli, lastJson } from '../helpers/cli.js';
import { referenceFace } from '../helpers/faces.js';

const { serial } = needs(['models', 'demo-photos']);

interface Check {
  name: string;
  level: string;
  message: string;
}

serial('lfr run with a file that is not a config: a plain error, nothing of the file printed, no hang', async (t) => {
  const van = await Van.create(t, { broker: false });
  const key = JSON.parse((await import('node:fs')).readFileSync(van.keys.vanKey, 'utf8')) as { secretKey: string };
  // The van key given as the config (a slip in LFR_CONFIG or -c): refused, the secret never shown.
  const r = await runCli(['-c', van.keys.vanKey, 'run'], { timeoutMs: 60_000 });
  t.is(r.code, 3, r.stderr);
  t.regex(r.stderr, /unknown field\(s\)/);
  t.false(r.stderr.includes(key.secretKey) || r.stdout.includes(key.secretKey), 'the van secret key is not printed');
  // A camera password in the URL: refused with the reason, the password not echoed.
  const bad = path.join(van.dir, 'bad.json');
  writeFileSync(bad, JSON.stringify({ cameras: [{ name: 'north-1', url: 'rtsp://admin:Hunter2Secret@127.0.0.1:554/s' }] }));
  const r2 = await runCli(['-c', bad, 'run'], { timeoutMs: 60_000 });
  t.is(r2.code, 3);
  t.regex(r2.stderr, /credentialsFile/);
  t.false(r2.stderr.includes('Hunter2Secret'), r2.stderr);
  // JSON that is not JSON: the parser's excerpt of the file is not echoed either.
  const notJson = path.join(van.dir, 'secret.txt');
  writeFileSync(notJson, 'pa55word-of-someone\n');
  const r3 = await runCli(['-c', notJson, 'run'], { timeoutMs: 60_000 });
  t.is(r3.code, 3);
  t.false(r3.stderr.includes('pa55word'), r3.stderr);
  // A FIFO and a device: refused at once (they used to block the CLI and `lfr run` for ever).
  const fifo = path.join(van.dir, 'cfg.fifo');
  execFileSync('mkfifo', [fifo]);
  for (const f of [fifo, '/dev/zero']) {
    const rf = await runCli(['-c', f, 'run'], { timeoutMs: 30_000 });
    t.false(rf.timedOut, `lfr run -c ${f} returned`);
    t.is(rf.code, 3);
    t.regex(rf.stderr, /not a regular file/);
  }
});

serial('health FAILs when the watchlist store, alert keys and uploads are on a disk, and is OK on tmpfs', async (t) => {
  // requireReady as on a van (the harness turns it off for broker-less rigs).
  const onDisk = await Van.create(t, { broker: false, runtimeOnDisk: true, config: { deployment: { requireReady: true } } });
  const bundle = await onDisk.buildBundle([{ ref: 'REF-DISK-1', images: [await referenceFace(1)] }], 'disk');
  await onDisk.start();
  const bad = (await onDisk.cliJson<{ checks: Check[] }>(['health'], [0, 1])).checks.find((c) => c.name === 'storage.volatile');
  t.is(bad?.level, 'FAIL', JSON.stringify(bad));
  t.regex(bad!.message, /alert keys .* not tmpfs/);
  // The FAIL refuses a deployment, before a byte of the bundle is sent...
  const refused = await onDisk.cli('deployment', 'start', '--authorisation', 'A', '--location', 'L', '--officer', 'O', '--ends-at', '+1h', '--threshold', '0.56', '--watchlist', bundle);
  t.not(refused.code, 0);
  t.regex(refused.stderr, /storage\.volatile: .*not tmpfs/);
  // ...and audited (issue 21: refused AND audited), with the checks' words and the caller's uid.
  const refusals = await onDisk.cliJson<{ entries: Array<{ actor: string | null; fields: Record<string, unknown> }> }>(['audit', 'show', '--type', 'deployment.start_refused']);
  t.is(refusals.entries.length, 1, JSON.stringify(refusals.entries));
  t.is(refusals.entries[0]!.fields.code, 'not_ready');
  t.regex(String(refusals.entries[0]!.fields.problems), /storage\.volatile: .*not tmpfs/);
  t.is(refusals.entries[0]!.actor, (await import('node:os')).userInfo().username);
  // ...and with --allow-degraded it is recorded in the deployment's degraded list.
  const started = await onDisk.cliJson<{ degraded: string[] }>(['deployment', 'start', '--authorisation', 'A', '--location', 'L', '--officer', 'O', '--ends-at', '+1h', '--threshold', '0.56', '--watchlist', bundle, '--allow-degraded', '--json']);
  t.true(started.degraded.some((d) => /^storage\.volatile: /.test(d)), JSON.stringify(started.degraded));
  await onDisk.endDeployment();
  await onDisk.stop();

  const inRam = await Van.create(t, { broker: false });
  t.not(path.dirname(inRam.runtimeDir), inRam.dir, 'the harness puts the runtime dir on tmpfs, as /run/lfr is on a van');
  await inRam.start();
  const good = (await inRam.cliJson<{ checks: Check[] }>(['health'], [0, 1])).checks.find((c) => c.name === 'storage.volatile');
  t.is(good?.level, 'OK', JSON.stringify(good));
  t.regex(good!.message, /tmpfs/);
});

serial('an import still running when a deployment starts never replaces the watchlist the deployment is bound to', async (t) => {
  const van = await Van.create(t, { broker: false });
  const faces = await Promise.all([1, 2, 3, 5, 6].map((n) => referenceFace(n)));
  const first = await van.buildBundle([{ ref: 'W0-1', images: [faces[0]!] }], 'first');
  // Slow to enrol on purpose: many subjects, so the deployment start lands while it runs.
  const slow = await van.buildBundle(Array.from({ length: 60 }, (_, i) => ({ ref: `W1-${i}`, images: [faces[i % faces.length]!] })), 'slow');
  await van.start();
  const w0 = await van.cliJson<{ composition: { bundleSha256: string } }>(['watchlist', 'import', first]);

  const importing = van.cli('watchlist', 'import', slow, '--json');
  // The import is enrolling once its temporary store exists beside the real one.
  const t0 = Date.now();
  while (!readdirSync(van.runtimeDir).some((f) => f.startsWith('.watchlist.db.tmp-'))) {
    if (Date.now() - t0 > 60_000) return t.fail('the slow import never started enrolling');
    await sleep(50);
  }
  const dep = await van.startDeployment();
  const imp = await importing;

  const bound = (dep.watchlist as { bundleSha256: string }).bundleSha256;
  const wl = await van.cliJson<{ present: boolean; bundleSha256?: string }>(['watchlist', 'status']);
  t.true(wl.present, 'the running deployment still has its watchlist');
  t.is(wl.bundleSha256, bound, 'the watchlist in the store is the one the deployment record names');
  const watchlistCheck = (await van.cliJson<{ checks: Check[] }>(['health'], [0, 1])).checks.find((c) => c.name === 'watchlist');
  t.not(watchlistCheck?.level, 'FAIL', JSON.stringify(watchlistCheck));
  if (imp.code === 0) {
    // It finished before the deployment bound the watchlist: then the deployment is bound to it.
    t.is(bound, lastJson<{ composition: { bundleSha256: string } }>(imp.stdout).composition.bundleSha256);
  } else {
    t.is(bound, w0.composition.bundleSha256);
    t.regex(imp.stderr, /locked to it|deployment .* is running/);
  }
  const audit = await van.cliJson<{ entries: Array<{ type: string }> }>(['audit', 'show', '--limit', '30']);
  t.false(audit.entries.some((e) => e.type === 'watchlist.store_rejected'), 'no store swapped in and purged under the running deployment');
  t.true(existsSync(path.join(van.runtimeDir, 'watchlist.db')));
});

serial('a refused bundle is named in the audit trail by member position, never by a file name that names the person', async (t) => {
  // The van accepts smaller images than the station did (watchlist.maxImageBytes): the bundle is
  // refused on the van, and the refusal is audited for good. Station files are named after people.
  const van = await Van.create(t, { broker: false, config: { watchlist: { maxImageBytes: 10_000 } } });
  const src = path.join(van.dir, 'station', 'named');
  (await import('node:fs')).mkdirSync(src, { recursive: true });
  const photo = 'SMITH John 1980-01-01 PNC 12-34567A.jpg';
  writeFileSync(path.join(src, photo), await referenceFace(1));
  writeFileSync(path.join(src, 'watchlist.csv'), `subject_ref,category,reason,images\nWL-NAMED-1,wanted,test,${photo}\n`);
  const bundle = path.join(van.dir, 'station', 'named.lfrwl');
  const built = await runCli(['watchlist', 'build', '--csv', path.join(src, 'watchlist.csv'), '--images', src, '--sign-key', van.keys.signingKey, '--to', van.keys.vanPub, '--out', bundle]);
  t.is(built.code, 0, built.stderr);
  await van.start();
  const r = await van.cli('watchlist', 'import', bundle);
  t.is(r.code, 3, r.stderr);
  t.regex(r.stderr, /member 2 \(image 1 in the CSV's order\) is \d+ bytes, over the limit/);
  t.false(r.stderr.includes('SMITH'), r.stderr);
  const audit = await van.cliJson<{ entries: Array<{ type: string; fields: Record<string, unknown> }> }>(['audit', 'show', '--type', 'watchlist.import_rejected']);
  t.is(audit.entries.length, 1);
  t.false(JSON.stringify(audit.entries).includes('SMITH'), JSON.stringify(audit.entries));
  t.false(van.log().includes('SMITH'));
});
