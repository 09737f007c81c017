// Levers on LFW 1:N by perceived sex, side by side on the same searches (docs/accuracy.md).
// Protocol: gallery = the first image of each identity with >= 2 images; mated probes = their
// other images; non-mated = single-image identities outside the cohort (the cohort is the other
// half, the fixed hash bit of src/tools/eval/cohort.ts); FNIR is read at FPIR 1e-2 and 1e-3 of
// those non-mated searches (a point of the curve, as lfr eval watchlist reports). Per model one
// score matrix (probes x gallery) and the cohort statistics, then each variant (cohort
// normalisation none/t/z/zt, score fusion of globally z-scored cosines with weights) is arithmetic.
//   node scripts/research/levers.mjs '[["default",[["/tmp/eq/lfw-default",1]],"none"], ...]'
import { load, sexOf, excluded, split } from './lib.mjs';
const sex = sexOf();
function cohortMember(s){let h=0x811c9dc5;for(let i=0;i<s.length;i++){h^=s.charCodeAt(i);h=Math.imul(h,0x01000193)>>>0;}return ((h>>>1)&1)===0;}
const variantsArg = JSON.parse(process.argv[2]);
const base = load(variantsArg[0][1][0][0]);
const meta = base.meta;
const { enrolled, nonMated } = split(meta, excluded());
const cohortImgs = nonMated.filter(n => cohortMember(n.person)).map(n => n.img);
const evalNM = nonMated.filter(n => !cohortMember(n.person)).map(n => n.img);
const matedList = []; enrolled.forEach((e, k) => e.probes.forEach(p => matedList.push({ img: p, mate: k })));
const probes = [...matedList.map(m => m.img), ...evalNM];
const G = enrolled.length;
function prep(prefix) {
  const d = load(prefix); const dim = d.dim; const E = d.E;
  const row = (i) => d.meta[i].ok ? d.meta[i].row : -1;
  const dot = (a, b) => { let s = 0; const oa = a * dim, ob = b * dim; for (let i = 0; i < dim; i++) s += E[oa + i] * E[ob + i]; return s; };
  const gRows = enrolled.map(e => row(e.ref));
  const cRows = cohortImgs.map(row).filter(r => r >= 0);
  const stats = (r) => { let s = 0, q = 0; for (const c of cRows) { const x = dot(r, c); s += x; q += x * x; } const m = s / cRows.length; return [m, Math.max(1e-6, Math.sqrt(q / cRows.length - m * m))]; };
  const gStat = gRows.map(r => r >= 0 ? stats(r) : [0, 1]);
  const S = new Float32Array(probes.length * G).fill(-Infinity);
  const pStat = [];
  probes.forEach((img, k) => { const r = row(img); if (r < 0) { pStat.push(null); return; } pStat.push(stats(r)); for (let g = 0; g < G; g++) if (gRows[g] >= 0) S[k * G + g] = dot(r, gRows[g]); });
  // global impostor distribution (cohort vs gallery) for fusion z-scoring
  let s = 0, q = 0; for (const [m, sd] of gStat) { s += m; q += sd * sd + m * m; } const gm = s / G, gsd = Math.sqrt(q / G - gm * gm);
  console.error(prefix, 'prepared');
  return { S, pStat, gStat, gm, gsd };
}
const cache = {};
const P = (prefix) => (cache[prefix] ??= prep(prefix));
function variant(name, parts, norm) {
  const Ps = parts.map(([p, w]) => [P(p), w]);
  const score = (k, g) => {
    let acc = 0;
    for (const [m, w] of Ps) {
      let x = m.S[k * G + g]; if (x === -Infinity) return -Infinity;
      const ps = m.pStat[k], gs = m.gStat[g];
      if (norm === 't') x = (x - ps[0]) / ps[1]; else if (norm === 'z') x = (x - gs[0]) / gs[1]; else if (norm === 'zt') x = ((x - ps[0]) / ps[1] + (x - gs[0]) / gs[1]) / 2;
      else if (Ps.length > 1) x = (x - m.gm) / m.gsd;
      acc += w * x;
    }
    return acc;
  };
  const mated = matedList.map((m, k) => { let o = -Infinity, mate = -Infinity; for (let g = 0; g < G; g++) { const x = score(k, g); if (g === m.mate) mate = x; else if (x > o) o = x; } return { mate, other: o, g: sex.get(meta[m.img].file) ?? '?' }; });
  const nm = evalNM.map((img, j) => { const k = matedList.length + j; let b = -Infinity; for (let g = 0; g < G; g++) { const x = score(k, g); if (x > b) b = x; } return { best: b, g: sex.get(meta[img].file) ?? '?' }; }).filter(x => x.best > -Infinity);
  const thrAt = (sc, rate) => { const a = [...sc].sort((x, y) => y - x); const k = Math.floor(rate * a.length + 1e-9); return k === 0 ? a[0] + 1e-9 : (a[k] + a[k - 1]) / 2; };
  const res = {};
  const parts2 = [];
  for (const rate of [1e-2, 1e-3]) {
    const t = thrAt(nm.map(x => x.best), rate);
    const miss = (m) => !(m.mate >= t && m.mate > m.other);
    const fn = (g) => { const a = mated.filter(m => g === '*' || m.g === g); return 100 * a.filter(miss).length / a.length; };
    const fa = (g) => `${nm.filter(x => x.g === g && x.best >= t).length}/${nm.filter(x => x.g === g).length}`;
    res[rate] = { fnir: fn('*'), F: fn('F'), M: fn('M'), faF: fa('F'), faM: fa('M') };
    parts2.push(`@${rate} (t ${t.toFixed(4)}): FNIR ${fn('*').toFixed(2)} F ${fn('F').toFixed(2)} M ${fn('M').toFixed(2)} ratio ${(fn('F') / fn('M')).toFixed(2)} FA F ${fa('F')} M ${fa('M')}`);
  }
  console.log(`${name.padEnd(30)} ${parts2.join(' | ')}`);
}
const variants = variantsArg;
console.error(`gallery ${G}, cohort ${cohortImgs.length}, mated ${matedList.length}, non-mated ${evalNM.length}`);
for (const [name, parts, norm] of variants) variant(name, parts, norm);
