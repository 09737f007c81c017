// Shared by the research scripts: load a dump, LFW's perceived-sex labels and label errors, and
// the 1:N split of lfr eval watchlist (first image enrolled, other images mated, singletons non-mated).
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
const LFW = process.env.LFW ?? path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../shared/data/lfw');
export function load(prefix) {
  const j = JSON.parse(readFileSync(prefix + '.json', 'utf8'));
  const buf = readFileSync(prefix + '.f32');
  const E = new Float32Array(buf.buffer, buf.byteOffset, buf.byteLength / 4);
  return { dim: j.dim, meta: j.meta, E };
}
export function sexOf() {
  const m = new Map();
  const f = readFileSync(path.join(LFW, 'sex/female_names.txt'), 'utf8').split('\n').map(s=>s.trim()).filter(Boolean);
  const ml = readFileSync(path.join(LFW, 'sex/male_names.txt'), 'utf8').split('\n').map(s=>s.trim()).filter(Boolean);
  for (const x of f) m.set(x, 'F');
  for (const x of ml) m.set(x, m.get(x) === 'F' ? 'X' : 'M');
  return m;
}
export function excluded() {
  return new Set(readFileSync(path.join(LFW, 'known_label_errors.tsv'),'utf8').split('\n').filter(l=>l && !l.startsWith('#')).map(l=>l.split('\t')[0].trim()));
}
// Protocol: identities >=2 images: first = reference, rest mated; single = non-mated.
export function split(meta, ex) {
  const by = new Map();
  meta.forEach((m, i) => { if (!by.has(m.person)) by.set(m.person, []); by.get(m.person).push(i); });
  const enrolled = [], nonMated = [];
  for (const [p, idx] of [...by].sort((a,b)=>a[0]<b[0]?-1:1)) {
    if (ex.has(p)) continue;
    if (idx.length >= 2) enrolled.push({ person: p, ref: idx[0], probes: idx.slice(1) });
    else nonMated.push({ person: p, img: idx[0] });
  }
  return { enrolled, nonMated };
}
