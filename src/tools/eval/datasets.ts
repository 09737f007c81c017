// Reading evaluation data sets laid out like LFW: pairs.txt (the standard 10-fold verification
// list) and <identity>/<files> folders (for 1:N). Every problem becomes a DatasetError with a plain
// message naming the file and line, so `lfr eval` can report it without a stack trace.
import { readdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';

export class DatasetError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DatasetError';
  }
}

export interface LfwPair {
  a: string;
  b: string;
  same: boolean;
  fold: number;
}

/** LFW image path for an identity and 1-based image number: Name/Name_0001.jpg. */
export const lfwImage = (name: string, n: number): string => path.join(name, `${name}_${String(n).padStart(4, '0')}.jpg`);

/**
 * Parse pairs.txt: a header "folds perFold", then per fold `perFold` matched lines (name i j) and
 * `perFold` mismatched lines (name1 i name2 j). Paths are relative to the images folder. The fold
 * of a line is its position, as in the LFW README (View 2).
 */
export function parsePairs(text: string, file = 'pairs.txt'): LfwPair[] {
  const lines = text.split(/\r?\n/).map((l) => l.trim());
  const header = (lines[0] ?? '').split(/\s+/).map(Number);
  if (header.length !== 2 || !header.every((v) => Number.isInteger(v) && v > 0)) {
    throw new DatasetError(`${file}: first line must be "<folds> <pairs per fold>", e.g. "10 300"`);
  }
  const [folds, perFold] = header as [number, number];
  const pairs: LfwPair[] = [];
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i]!;
    if (line === '') continue;
    const f = line.split(/\s+/);
    const idx = pairs.length;
    const fold = Math.floor(idx / (2 * perFold));
    const num = (s: string | undefined): number => {
      const v = Number(s);
      if (!Number.isInteger(v) || v < 1) throw new DatasetError(`${file} line ${i + 1}: "${s}" is not an image number`);
      return v;
    };
    if (f.length === 3) pairs.push({ a: lfwImage(f[0]!, num(f[1])), b: lfwImage(f[0]!, num(f[2])), same: true, fold });
    else if (f.length === 4) pairs.push({ a: lfwImage(f[0]!, num(f[1])), b: lfwImage(f[2]!, num(f[3])), same: false, fold });
    else throw new DatasetError(`${file} line ${i + 1}: expected "name i j" or "name1 i name2 j"`);
  }
  if (pairs.length !== folds * perFold * 2) {
    throw new DatasetError(`${file}: header promises ${folds} folds of ${perFold} + ${perFold} pairs (${folds * perFold * 2}), found ${pairs.length}`);
  }
  return pairs;
}

/**
 * Take `limit` pairs spread over every fold (the first limit/folds of each fold, matched and
 * mismatched alike), so a quick run still exercises the 10-fold protocol.
 */
export function limitPairs(pairs: readonly LfwPair[], limit: number): LfwPair[] {
  const byFold = new Map<number, LfwPair[]>();
  for (const p of pairs) byFold.set(p.fold, [...(byFold.get(p.fold) ?? []), p]);
  const perFold = Math.max(2, Math.floor(limit / byFold.size));
  const out: LfwPair[] = [];
  for (const list of byFold.values()) {
    const same = list.filter((p) => p.same).slice(0, Math.ceil(perFold / 2));
    const diff = list.filter((p) => !p.same).slice(0, Math.floor(perFold / 2));
    out.push(...same, ...diff);
  }
  return out;
}

const IMAGE_EXT = /\.(jpe?g|png|webp|bmp|tiff?)$/i;

export interface Identity {
  name: string;
  /** Image paths (absolute), sorted by file name. */
  images: string[];
}

/** DIR/<identity>/<images>, or DIR/images/<identity>/<images>. */
export async function readIdentityFolders(dir: string): Promise<{ root: string; identities: Identity[] }> {
  const isDir = async (p: string): Promise<boolean> => (await stat(p).catch(() => undefined))?.isDirectory() ?? false;
  if (!(await isDir(dir))) throw new DatasetError(`not a folder: ${dir}`);
  const root = (await isDir(path.join(dir, 'images'))) ? path.join(dir, 'images') : dir;
  const identities: Identity[] = [];
  const names = (await readdir(root, { withFileTypes: true })).filter((d) => d.isDirectory() || d.isSymbolicLink()).map((d) => d.name);
  names.sort();
  for (const name of names) {
    const sub = path.join(root, name);
    if (!(await isDir(sub))) continue;
    const files = (await readdir(sub)).filter((f) => IMAGE_EXT.test(f)).sort();
    if (files.length > 0) identities.push({ name, images: files.map((f) => path.join(sub, f)) });
  }
  if (identities.length === 0) throw new DatasetError(`${root} holds no <identity>/<image> folders`);
  return { root, identities };
}

/** Identity names to leave out: one per line, or the first tab-separated column; # comments. */
export function parseExcludeList(text: string): string[] {
  return text
    .split(/\r?\n/)
    .map((l) => l.split('\t')[0]!.trim())
    .filter((l) => l !== '' && !l.startsWith('#'));
}

export async function readExcludeFile(file: string): Promise<string[]> {
  try {
    return parseExcludeList(await readFile(file, 'utf8'));
  } catch (err) {
    throw new DatasetError(`cannot read exclude list ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
}

export interface WatchlistSplit {
  /** Identities with >= 2 images: enrolled with their first image (by file name). */
  enrolled: { name: string; reference: string; probes: string[] }[];
  /** The single image of each identity with exactly one image. */
  nonMated: { name: string; image: string }[];
  excluded: string[];
}

/** The NPL-style split of identity folders into a gallery, mated and non-mated probes. */
export function splitWatchlist(identities: readonly Identity[], exclude: readonly string[] = []): WatchlistSplit {
  const ex = new Set(exclude);
  const out: WatchlistSplit = { enrolled: [], nonMated: [], excluded: [] };
  for (const id of identities) {
    if (ex.has(id.name)) {
      out.excluded.push(id.name);
      continue;
    }
    if (id.images.length >= 2) out.enrolled.push({ name: id.name, reference: id.images[0]!, probes: id.images.slice(1) });
    else out.nonMated.push({ name: id.name, image: id.images[0]! });
  }
  return out;
}
