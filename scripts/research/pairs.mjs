// LFW View-2 10-fold accuracy (the protocol of `lfr eval lfw`: a pair with an unusable image
// scores -1; per fold, the threshold that maximises accuracy on the other nine folds) for each
// variant: one dump, or a fusion of dumps (globally z-scored cosines, weights), and the accuracy
// per perceived sex of the pair (both images of the pair labelled alike).
//   node scripts/research/pairs.mjs '[["default",[["/tmp/eq/lfw-default",1]]], ...]'
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { load, sexOf } from './lib.mjs';
const LFW = process.env.LFW ?? path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../shared/data/lfw');
const lines = readFileSync(path.join(LFW, 'pairs.txt'), 'utf8').trim().split('\n').map((l) => l.trim().split(/\s+/));
const [folds, per] = lines[0].map(Number);
const name = (p, n) => `${p}_${String(n).padStart(4, '0')}.jpg`;
const pairs = [];
let k = 1;
for (let f = 0; f < folds; f++) {
  for (let i = 0; i < per; i++, k++) { const [p, a, b] = lines[k]; pairs.push({ fold: f, same: true, a: name(p, a), b: name(p, b) }); }
  for (let i = 0; i < per; i++, k++) { const [p, a, q, b] = lines[k]; pairs.push({ fold: f, same: false, a: name(p, a), b: name(q, b) }); }
}
const sex = sexOf();
function scorer(prefix) {
  const d = load(prefix);
  const at = new Map(d.meta.map((m) => [m.file, m.ok ? m.row : -1]));
  const cos = (a, b) => { const ra = at.get(a), rb = at.get(b); if (ra < 0 || rb < 0) return null; let s = 0; for (let i = 0; i < d.dim; i++) s += d.E[ra * d.dim + i] * d.E[rb * d.dim + i]; return s; };
  // impostor distribution of the mismatched pairs, for fusion z-scoring
  const imp = pairs.filter((p) => !p.same).map((p) => cos(p.a, p.b)).filter((x) => x !== null);
  const m = imp.reduce((s, x) => s + x, 0) / imp.length;
  const sd = Math.sqrt(imp.reduce((s, x) => s + (x - m) ** 2, 0) / imp.length);
  return { cos, m, sd };
}
const cache = {};
for (const [label, parts] of JSON.parse(process.argv[2])) {
  const S = parts.map(([p, w]) => [(cache[p] ??= scorer(p)), w]);
  const scored = pairs.map((p) => {
    let s = 0;
    for (const [sc, w] of S) { const c = sc.cos(p.a, p.b); if (c === null) return { ...p, s: -1e9 }; s += w * (S.length > 1 ? (c - sc.m) / sc.sd : c); }
    return { ...p, s };
  });
  const accs = [];
  const right = [];
  for (let f = 0; f < folds; f++) {
    const train = scored.filter((p) => p.fold !== f).sort((x, y) => x.s - y.s);
    let best = -1, bt = 0;
    const nSame = train.filter((p) => p.same).length;
    let belowSame = 0, belowDiff = 0;
    for (let i = 0; i <= train.length; i++) {
      const acc = belowDiff + (nSame - belowSame);
      if (acc > best) { best = acc; bt = i === 0 ? train[0].s - 1e-6 : i === train.length ? train[i - 1].s + 1e-6 : (train[i - 1].s + train[i].s) / 2; }
      if (i < train.length) { if (train[i].same) belowSame++; else belowDiff++; }
    }
    const test = scored.filter((p) => p.fold === f);
    const ok = test.filter((p) => (p.s >= bt) === p.same);
    accs.push(ok.length / test.length);
    for (const p of test) right.push({ ...p, ok: (p.s >= bt) === p.same });
  }
  const mean = accs.reduce((s, x) => s + x, 0) / folds;
  const sd = Math.sqrt(accs.reduce((s, x) => s + (x - mean) ** 2, 0) / (folds - 1));
  const by = (g) => { const a = right.filter((p) => sex.get(p.a) === g && sex.get(p.b) === g); return `${(100 * a.filter((p) => p.ok).length / a.length).toFixed(2)} % of ${a.length}`; };
  console.log(`${label.padEnd(28)} 10-fold ${(100 * mean).toFixed(2)} % (+-${(100 * sd).toFixed(2)}); pairs of women ${by('F')}, of men ${by('M')}`);
}
