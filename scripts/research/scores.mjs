// Genuine and impostor score distributions per perceived sex (raw cosines of one dump): genuine =
// every pair of photos of one person; impostor = the reference photos of different people of the
// same group. Albiero et al. (2020) found women's genuine scores lower AND impostor scores higher;
// this checks which of the two this embedder shows on LFW.
//   node scripts/research/scores.mjs /tmp/eq/lfw-default
import { load, sexOf, excluded } from './lib.mjs';
const { meta, E, dim } = load(process.argv[2]);
const sex = sexOf();
const ex = excluded();
const by = new Map();
meta.forEach((m, i) => { if (!m.ok || ex.has(m.person)) return; (by.get(m.person) ?? by.set(m.person, []).get(m.person)).push(i); });
const cos = (a, b) => { let s = 0; const oa = meta[a].row * dim, ob = meta[b].row * dim; for (let i = 0; i < dim; i++) s += E[oa + i] * E[ob + i]; return s; };
const q = (a, p) => a[Math.min(a.length - 1, Math.floor(p * a.length))];
for (const g of ['F', 'M']) {
  const gen = [];
  const refs = [];
  for (const [, idx] of by) {
    if (sex.get(meta[idx[0]].file) !== g) continue;
    refs.push(idx[0]);
    for (let a = 0; a < idx.length; a++) for (let b = a + 1; b < idx.length; b++) if (sex.get(meta[idx[b]].file) === g) gen.push(cos(idx[a], idx[b]));
  }
  const imp = [];
  // the first 1,500 people of the group, every pair (same-group impostors)
  const r = refs.slice(0, 1500);
  for (let a = 0; a < r.length; a++) for (let b = a + 1; b < r.length; b++) imp.push(cos(r[a], r[b]));
  gen.sort((x, y) => x - y); imp.sort((x, y) => x - y);
  const mean = (a) => a.reduce((s, x) => s + x, 0) / a.length;
  console.log(`${g}: genuine n=${gen.length} mean ${mean(gen).toFixed(3)} p10 ${q(gen, 0.1).toFixed(3)} median ${q(gen, 0.5).toFixed(3)}; impostor (same group) n=${imp.length} mean ${mean(imp).toFixed(3)} p99.9 ${q(imp, 0.999).toFixed(3)} p99.99 ${q(imp, 0.9999).toFixed(3)}; rate >= 0.5: ${(imp.filter((x) => x >= 0.5).length / imp.length).toExponential(2)}`);
}
