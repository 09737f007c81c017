// Station side, `lfr watchlist build` as a real process (issue 15 item 7): the output path is
// checked before any work; every CSV and file problem comes in one list; the van's own enrolment
// gate runs on every image and says what the van will reject and why (a warning; --strict refuses
// the build and writes nothing); a public key given as --sign-key is named as such first; a
// filesystem error while writing is a plain message, never a stack trace.
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { generateKeyFiles } from '../../src/crypto/keys.js';
import { runCli, lastJson } from '../helpers/cli.js';
import { referenceFace } from '../helpers/faces.js';
import { needs } from '../helpers/prereq.js';
import type { BuildResult } from '../../src/watchlist/builder.js';

const { serial } = needs(['models', 'demo-photos']);
const H = 'subject_ref,category,reason,images\n';

async function station() {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'lfr-station-'));
  const force = generateKeyFiles('signing', path.join(dir, 'keys'), 'force');
  const van = generateKeyFiles('van', path.join(dir, 'keys'), 'van');
  const img = path.join(dir, 'images');
  mkdirSync(img);
  return { dir, img, force, van };
}

serial('watchlist build: output path first, every problem in one list, the van gate at the station, --strict, key mix-ups', async (t) => {
  t.timeout(180_000);
  const s = await station();
  t.teardown(() => rmSync(s.dir, { recursive: true, force: true }));
  const build = (csv: string, out: string, extra: string[] = [], sign = s.force.privateFile) => {
    writeFileSync(path.join(s.dir, 'wl.csv'), csv);
    return runCli(['watchlist', 'build', '--csv', path.join(s.dir, 'wl.csv'), '--images', s.img, '--sign-key', sign, '--to', s.van.publicFile, '--out', out, ...extra], { timeoutMs: 120_000 });
  };
  writeFileSync(path.join(s.img, 'good1.jpg'), await referenceFace(1));
  writeFileSync(path.join(s.img, 'good3.jpg'), await referenceFace(3));
  // Not a face at all (a gradient), and a face far too small for the gate.
  const raw = Buffer.alloc(200 * 200 * 3, 0).map((_, i) => (i * 7) % 251);
  writeFileSync(path.join(s.img, 'wall.jpg'), await sharp(raw, { raw: { width: 200, height: 200, channels: 3 } }).jpeg().toBuffer());
  writeFileSync(path.join(s.img, 'tiny.jpg'), await sharp(await referenceFace(3)).resize(28).jpeg().toBuffer());
  const good = `${H}WL-1,wanted,"Wanted: burglary, 12 Nov",good1.jpg\nWL-2,wanted,test,wall.jpg\nWL-3,missing person,test,tiny.jpg;good3.jpg\n`;

  // The output path first: a missing folder, a folder given as the file; plain, exit 3, nothing written.
  const noDir = await build(good, path.join(s.dir, 'no-such-stick', 'wl.lfrwl'));
  t.is(noDir.code, 3, noDir.stderr);
  t.regex(noDir.stderr, /^lfr: the output folder .*no-such-stick does not exist/);
  const isDir = await build(good, s.img);
  t.is(isDir.code, 3);
  t.regex(isDir.stderr, /is a folder: give a file name/);

  // Every CSV and file problem in ONE run.
  const bad = `${H}WL-1,wanted,r,good1.jpg\nWL-1,wanted,r,good3.jpg\nWL-4,Wanted!,r,nothere.jpg\nWL-5,wanted,=cmd,x.jpg\nWL-6,wanted,r,alsomissing.jpg\n`;
  const all = await build(bad, path.join(s.dir, 'bad.lfrwl'));
  t.is(all.code, 3);
  for (const re of [/duplicate subject_ref/, /category is not one of the allowed categories/, /formula-like/, /missing image file: nothere.jpg/, /missing image file: alsomissing.jpg/]) t.regex(all.stderr, re);
  t.regex(all.stderr, /the watchlist has \d+ problem\(s\); nothing was built/);
  t.false(existsSync(path.join(s.dir, 'bad.lfrwl')));

  // A public key as --sign-key: said first, not "chmod 600".
  const pub = await build(good, path.join(s.dir, 'x.lfrwl'), [], s.force.publicFile);
  t.is(pub.code, 3);
  t.regex(pub.stderr, /^lfr: --sign-key .* is the force's PUBLIC signing key/);
  t.notRegex(pub.stderr, /chmod/);

  // The van's enrolment gate at the station: a warning per rejected image, who will not be enrolled.
  const ok = await build(good, path.join(s.dir, 'wl.lfrwl'), ['--json']);
  t.is(ok.code, 0, ok.stderr);
  const res = lastJson<BuildResult>(ok.stdout);
  t.like(res.enrolment, { checked: true, images: 4, accepted: 2, notEnrolled: ['WL-2'] });
  t.deepEqual(res.enrolment.rejected.map((r) => [r.subjectRef, r.image]).sort(), [['WL-2', 'wall.jpg'], ['WL-3', 'tiny.jpg']]);
  for (const r of res.enrolment.rejected) t.truthy(r.reason, `a reason for ${r.image}`);
  const human = await build(good, path.join(s.dir, 'wl2.lfrwl'));
  t.regex(human.stdout, /the van's enrolment gate: 2 of 4 images usable/);
  t.regex(human.stdout, /WARNING: the van will reject these images:\n {4}line 3: wall.jpg \(WL-2\): /);
  t.regex(human.stdout, /WARNING: the van will NOT enrol \(no usable image\): WL-2/);

  // --strict refuses that build and writes nothing.
  const strict = await build(good, path.join(s.dir, 'strict.lfrwl'), ['--strict']);
  t.is(strict.code, 3);
  t.regex(strict.stderr, /--strict: the van would reject 2 image\(s\) and not enrol 1 person\(s\); nothing was built/);
  t.false(readdirSync(s.dir).some((f) => f.startsWith('strict.lfrwl')), 'no bundle, no temp file');

  // A filesystem error while writing (sysfs refuses new files): a plain message, exit 3.
  const sys = await build(`${H}WL-1,wanted,r,good1.jpg\n`, '/sys/kernel/lfr-test.lfrwl');
  t.is(sys.code, 3, sys.stderr);
  t.regex(sys.stderr, /^lfr: (the bundle could not be written to \/sys\/kernel\/lfr-test.lfrwl|the output folder \/sys\/kernel is not writable)/);
  t.notRegex(sys.stderr, /unexpected error|at .*\.js:\d+/);
});
