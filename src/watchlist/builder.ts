// Station side: `lfr watchlist build`. Validates the CSV and every image file exactly as the van
// will (same parser, same name rules, same limits), so a bad watchlist is caught at the station,
// then packs a bundle only the target van can open.
import { createReadStream, createWriteStream, readFileSync, realpathSync, rmSync, statSync, renameSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { pipeline } from 'node:stream/promises';
import path from 'node:path';
import { sha256File } from '../crypto/hash.js';
import { randomBytes } from '../crypto/secure.js';
import type { SigningKeyPair } from '../crypto/sign.js';
import { CSV_MEMBER } from './bundle-format.js';
import { packBundle, type MemberInput } from './bundle-write.js';
import { maxCsvBytes, type BundleLimits } from './bundle-read.js';
import { CsvError, parseWatchlistCsv } from './csv.js';
import { sha256Hex } from '../crypto/hash.js';

export interface BuildOptions {
  csvFile: string;
  imagesDir: string;
  signer: SigningKeyPair;
  vanPublicKey: Buffer;
  outFile: string;
  limits: BundleLimits;
  now: Date;
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

export async function buildBundle(opts: BuildOptions): Promise<BuildResult> {
  let csv: Buffer;
  try {
    const st = statSync(opts.csvFile);
    if (st.size > maxCsvBytes(opts.limits)) throw new BuildError(`CSV is ${st.size} bytes, over the limit (${maxCsvBytes(opts.limits)})`);
    csv = readFileSync(opts.csvFile);
  } catch (err) {
    if (err instanceof BuildError) throw err;
    throw new BuildError(`cannot read CSV ${opts.csvFile}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  }
  const subjects = parseWatchlistCsv(csv, opts.limits);
  let root: string;
  try {
    root = realpathSync(opts.imagesDir);
  } catch {
    throw new BuildError(`images folder not found: ${opts.imagesDir}`);
  }
  const members: MemberInput[] = [{ name: CSV_MEMBER, bytes: csv.length, sha256: sha256Hex(csv), read: async () => csv }];
  const problems: string[] = [];
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
      const st = statSync(real);
      if (!st.isFile()) {
        problems.push(`line ${s.line}: image ${name} is not a regular file`);
        continue;
      }
      if (st.size > opts.limits.maxImageBytes) {
        problems.push(`line ${s.line}: image ${name} is ${st.size} bytes, over watchlist.maxImageBytes (${opts.limits.maxImageBytes})`);
        continue;
      }
      members.push({ name, bytes: st.size, sha256: await sha256File(real), read: () => readFile(real) });
    }
  }
  if (problems.length) throw new CsvError(`${problems.length} image file problem(s)`, problems.slice(0, 20));

  const out = path.resolve(opts.outFile);
  const tag = randomBytes(6).toString('hex');
  const payloadTmp = `${out}.payload-${tag}`;
  const partFile = `${out}.part-${tag}`;
  try {
    const ws = createWriteStream(payloadTmp, { mode: 0o600 });
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
    };
  } finally {
    rmSync(payloadTmp, { force: true });
    rmSync(partFile, { force: true });
  }
}
