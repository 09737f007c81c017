// Does enrolling several photos per person (watchlist.referenceFusion "mean": the normalised mean
// of their embeddings, as the van enrols) narrow the gap between groups? Identities with >= 4
// photos: gallery = photo 1 alone, or the mean of photos 1-3; probes = photo 4 onwards (the same
// probes for both); non-mated = every single-photo identity. FNIR per group at FPIR 1e-2 / 1e-3.
//   node scripts/research/refs.mjs /tmp/eq/lfw-default
import { load, sexOf, excluded, split } from './lib.mjs';
const { meta, E, dim } = load(process.argv[2]);
const sex = sexOf();
const { enrolled, nonMated } = split(meta, excluded());
const vec = (i) => (meta[i].ok ? E.subarray(meta[i].row * dim, (meta[i].row + 1) * dim) : null);
const ids = enrolled.filter((e) => e.probes.length >= 3).map((e) => ({ person: e.person, photos: [e.ref, ...e.probes] }));
const dotv = (a, b) => { let s = 0; for (let i = 0; i < dim; i++) s += a[i] * b[i]; return s; };
function template(photos) {
  const vs = photos.map(vec).filter(Boolean);
  if (!vs.length) return null;
  const m = new Float32Array(dim);
  for (const v of vs) for (let i = 0; i < dim; i++) m[i] += v[i];
  const n = Math.sqrt(dotv(m, m));
  for (let i = 0; i < dim; i++) m[i] /= n;
  return m;
}
for (const k of [1, 3]) {
  const gal = ids.map((e) => template(e.photos.slice(0, k)));
  const mated = [];
  ids.forEach((e, j) => {
    for (const p of e.photos.slice(3)) {
      const v = vec(p);
      const g = sex.get(meta[p].file) ?? '?';
      if (!v) { mated.push({ mate: -Infinity, other: -Infinity, g }); continue; }
      let mate = -Infinity, other = -Infinity;
      gal.forEach((t, r) => { if (!t) return; const s = dotv(t, v); if (r === j) mate = s; else if (s > other) other = s; });
      mated.push({ mate, other, g });
    }
  });
  const nm = nonMated.map((n) => vec(n.img)).filter(Boolean).map((v) => Math.max(...gal.map((t) => (t ? dotv(t, v) : -Infinity))));
  const out = [];
  for (const rate of [1e-2, 1e-3]) {
    const a = [...nm].sort((x, y) => y - x);
    const c = Math.floor(rate * a.length + 1e-9);
    const t = c === 0 ? a[0] + 1e-9 : (a[c] + a[c - 1]) / 2;
    const fn = (g) => { const s = mated.filter((m) => g === '*' || m.g === g); return (100 * s.filter((m) => !(m.mate >= t && m.mate > m.other)).length) / s.length; };
    out.push(`@${rate} (t ${t.toFixed(4)}): FNIR ${fn('*').toFixed(2)} F ${fn('F').toFixed(2)} M ${fn('M').toFixed(2)} ratio ${(fn('F') / fn('M')).toFixed(2)}`);
  }
  console.log(`${k} photo(s) per person (${ids.length} people, ${mated.length} mated: ${mated.filter((m) => m.g === 'F').length} of women; ${nm.length} non-mated): ${out.join(' | ')}`);
}
