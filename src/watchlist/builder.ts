// Station side: `lfr watchlist build`. Checks, in this order and before any slow work, where the
// bundle will be written; then the CSV and every image file, reporting EVERY problem of both in
// one list (same parser, same name rules, same limits as the van); then runs the van's own
// enrolment gate on every image (detect, one face, size, sharpness, pose) so the station learns
// what the van will reject and why, before the stick leaves the building (`strict`: refuse the
// build then); only then packs a bundle only the target van can open. A filesystem error is a
// plain BuildError, never a crash.
import { accessSync, constants, createReadStream, createWriteStream, readFileSync, realpathSync, rmSync, statSync, renameSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { pipeline } from 'node:stream/promises';
import path from 'node:path';
import { sha256File } from '../crypto/hash.js';
import { randomBytes } from '../crypto/secure.js';
import type { SigningKeyPair } from '../crypto/sign.js';
import { CSV_MEMBER } from './bundle-format.js';
import { packBundle, type MemberInput } from './bundle-write.js';
import { maxCsvBytes, type BundleLimits } from './bundle-read.js';
import { checkWatchlistCsv, CsvError } from './csv.js';
import { sha256Hex } from '../crypto/hash.js';

/** The van's enrolment gate on one image (src/watchlist/enrol.ts), as the station runs it. */
export type EnrolmentGate = (bytes: Buffer) => Promise<{ ok: true } | { ok: false; code: string; reason: string }>;

export interface BuildOptions {
  csvFile: string;
  imagesDir: string;
  signer: SigningKeyPair;
  vanPublicKey: Buffer;
  outFile: string;
  limits: BundleLimits;
  now: Date;
  /** Run the van's enrolment gate on every image (the CLI always does; library callers may not). */
  gate?: EnrolmentGate;
  /** Refuse the build when the van would reject any image. */
  strict?: boolean;
  onProgress?: (done: number, total: number) => void;
}

export interface GateRejection {
  line: number;
  subjectRef: string;
  image: string;
  code: string;
  reason: string;
}

/** What the van will do with the bundle's images (from its own gate, run at the station). */
export interface EnrolmentReport {
  checked: boolean;
  images: number;
  accepted: number;
  rejected: GateRejection[];
  /** Subjects none of whose images pass: the van will not enrol them (not on the watchlist). */
  notEnrolled: string[];
}

export interface BuildResult {
  outFile: string;
  bytes: number;
  bundleSha256: string;
  subjects: number;
  images: number;
  forceKeyId: string;
  vanKeyId: string;
  createdAt: string;
  enrolment: EnrolmentReport;
}

export class BuildError extends Error {
  constructor(
    message: string,
    readonly details: string[] = [],
  ) {
    super(message);
    this.name = 'BuildError';
  }
}

/** Problems listed in one error, at most this many (a bad file tends to fail on every row). */
const MAX_LISTED = 50;
const code = (err: unknown) => (err as NodeJS.ErrnoException).code ?? String(err);

/** The output path, checked before any work: its folder exists and is writable; it is not a folder. */
export function checkOutFile(outFile: string): string {
  const out = path.resolve(outFile);
  const dir = path.dirname(out);
  let st;
  try {
    st = statSync(dir);
  } catch (err) {
    throw new BuildError(code(err) === 'ENOENT' ? `the output folder ${dir} does not exist (create it, or mount the USB stick, first)` : `the output folder ${dir} cannot be used (${code(err)})`);
  }
  if (!st.isDirectory()) throw new BuildError(`${dir} is not a folder`);
  try {
    accessSync(dir, constants.W_OK);
  } catch {
    throw new BuildError(`the output folder ${dir} is not writable (read-only stick, or permissions)`);
  }
  try {
    if (statSync(out).isDirectory()) throw new BuildError(`--out ${out} is a folder: give a file name, e.g. ${path.join(out, 'watchlist.lfrwl')}`);
  } catch (err) {
    if (err instanceof BuildError) throw err;
    /* does not exist yet: fine */
  }
  return out;
}

export async function buildBundle(opts: BuildOptions): Promise<BuildResult> {
  const out = checkOutFile(opts.outFile);
  let csv: Buffer;
  try {
    const st = statSync(opts.csvFile);
    if (!st.isFile()) throw new BuildError(`CSV ${opts.csvFile} is not a regular file`);
    if (st.size > maxCsvBytes(opts.limits)) throw new BuildError(`CSV is ${st.size} bytes, over the limit (${maxCsvBytes(opts.limits)})`);
    csv = readFileSync(opts.csvFile);
  } catch (err) {
    if (err instanceof BuildError) throw err;
    throw new BuildError(`cannot read CSV ${opts.csvFile}: ${code(err)}`);
  }
  const { subjects, problems } = checkWatchlistCsv(csv, opts.limits);
  let root: string;
  try {
    root = realpathSync(opts.imagesDir);
    if (!statSync(root).isDirectory()) throw new Error('ENOTDIR');
  } catch {
    throw new BuildError(`images folder not found: ${opts.imagesDir}`, problems.slice(0, MAX_LISTED));
  }
  const members: MemberInput[] = [{ name: CSV_MEMBER, bytes: csv.length, sha256: sha256Hex(csv), read: async () => csv }];
  const files: Array<{ line: number; subjectRef: string; name: string; real: string }> = [];
  for (const s of subjects) {
    for (const name of s.images) {
      const file = path.join(root, ...name.split('/'));
      let real: string;
      try {
        real = realpathSync(file);
      } catch {
        problems.push(`line ${s.line}: missing image file: ${name}`);
        continue;
      }
      // A symlink inside the folder must not pull in a file from elsewhere.
      if (path.relative(root, real).startsWith('..') || path.isAbsolute(path.relative(root, real))) {
        problems.push(`line ${s.line}: image ${name} points outside the images folder`);
        continue;
      }
      let st;
      try {
        st = statSync(real);
      } catch (err) {
        problems.push(`line ${s.line}: image ${name} cannot be read (${code(err)})`);
        continue;
      }
      if (!st.isFile()) {
        problems.push(`line ${s.line}: image ${name} is not a regular file`);
        continue;
      }
      if (st.size > opts.limits.maxImageBytes) {
        problems.push(`line ${s.line}: image ${name} is ${st.size} bytes, over watchlist.maxImageBytes (${opts.limits.maxImageBytes})`);
        continue;
      }
      try {
        members.push({ name, bytes: st.size, sha256: await sha256File(real), read: () => readFile(real) });
      } catch (err) {
        problems.push(`line ${s.line}: image ${name} cannot be read (${code(err)})`);
        continue;
      }
      files.push({ line: s.line, subjectRef: s.subjectRef, name, real });
    }
  }
  // Every CSV and file problem, in one list.
  if (problems.length) {
    const shown = problems.slice(0, MAX_LISTED);
    if (problems.length > MAX_LISTED) shown.push(`... and ${problems.length - MAX_LISTED} more`);
    throw new CsvError(`the watchlist has ${problems.length} problem(s); nothing was built`, shown);
  }

  const enrolment = await checkEnrolment(files, opts);
  if (opts.strict && enrolment.rejected.length) {
    throw new BuildError(
      `--strict: the van would reject ${enrolment.rejected.length} image(s)${enrolment.notEnrolled.length ? ` and not enrol ${enrolment.notEnrolled.length} person(s)` : ''}; nothing was built`,
      [...enrolment.rejected.slice(0, MAX_LISTED).map((r) => `line ${r.line}: ${r.image} (${r.subjectRef}): ${r.reason}`), ...(enrolment.notEnrolled.length ? [`not enrolled at all: ${enrolment.notEnrolled.join(', ')}`] : [])],
    );
  }

  const tag = randomBytes(6).toString('hex');
  const payloadTmp = `${out}.payload-${tag}`;
  const partFile = `${out}.part-${tag}`;
  try {
    const ws = createWriteStream(payloadTmp, { mode: 0o600 });
    const opened = new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    });
    await opened;
    const write = (c: Buffer) => new Promise<void>((resolve, reject) => ws.write(c, (e) => (e ? reject(e) : resolve())));
    const packed = await packBundle({ members, signer: opts.signer, vanPublicKey: opts.vanPublicKey, createdAt: opts.now, writePayload: write });
    await new Promise<void>((resolve, reject) => ws.end((e?: Error | null) => (e ? reject(e) : resolve())));
    const part = createWriteStream(partFile, { mode: 0o644 });
    part.write(packed.prefix);
    await pipeline(createReadStream(payloadTmp), part);
    renameSync(partFile, out);
    const bytes = statSync(out).size;
    return {
      outFile: out,
      bytes,
      bundleSha256: await sha256File(out),
      subjects: subjects.length,
      images: members.length - 1,
      forceKeyId: packed.envelope.forceKeyId,
      vanKeyId: packed.envelope.vanKeyId,
      createdAt: packed.envelope.createdAt,
      enrolment,
    };
  } catch (err) {
    if (err instanceof BuildError || err instanceof CsvError) throw err;
    const c = code(err);
    if (typeof c === 'string' && /^E[A-Z]+$/.test(c)) throw new BuildError(`the bundle could not be written to ${out} (${c}${c === 'ENOSPC' ? ': the disk or stick is full' : c === 'EROFS' ? ': read-only' : ''}); nothing was left behind`);
    throw err;
  } finally {
    rmSync(payloadTmp, { force: true });
    rmSync(partFile, { force: true });
  }
}

async function checkEnrolment(files: Array<{ line: number; subjectRef: string; name: string; real: string }>, opts: BuildOptions): Promise<EnrolmentReport> {
  if (!opts.gate) return { checked: false, images: files.length, accepted: files.length, rejected: [], notEnrolled: [] };
  const rejected: GateRejection[] = [];
  const usable = new Set<string>();
  let done = 0;
  for (const f of files) {
    let bytes: Buffer;
    try {
      bytes = readFileSync(f.real);
    } catch (err) {
      throw new BuildError(`image ${f.name} could not be read (${code(err)})`);
    }
    try {
      const r = await opts.gate(bytes);
      if (r.ok) usable.add(f.subjectRef);
      else rejected.push({ line: f.line, subjectRef: f.subjectRef, image: f.name, code: r.code, reason: r.reason });
    } finally {
      bytes.fill(0);
    }
    opts.onProgress?.(++done, files.length);
  }
  const refs = [...new Set(files.map((f) => f.subjectRef))];
  return { checked: true, images: files.length, accepted: files.length - rejected.length, rejected, notEnrolled: refs.filter((r) => !usable.has(r)) };
}
