// Why are women missed more often? Mated searches of the 1:N protocol (raw cosines, the van's
// scores) at threshold T, with misses stratified by the quality of the probe and of the
// reference photo, women's rate reweighted to men's pose and size mix, and mean scores.
//   node scripts/research/quality.mjs /tmp/eq/lfw-default 0.5548
import { load, sexOf, excluded, split } from './lib.mjs';
const { meta, E, dim } = load(process.argv[2]);
const t = Number(process.argv[3] ?? 0.5548);
const sex = sexOf();
const { enrolled } = split(meta, excluded());
const vec = (i) => (meta[i].ok ? E.subarray(meta[i].row * dim, (meta[i].row + 1) * dim) : null);
const gal = enrolled.map((e) => vec(e.ref));
const dotv = (a, b) => { let s = 0; for (let i = 0; i < dim; i++) s += a[i] * b[i]; return s; };
const raw = { mated: [] };
enrolled.forEach((e, k) => {
  for (const p of e.probes) {
    const v = vec(p);
    const g = sex.get(meta[p].file) ?? '?';
    if (!v) { raw.mated.push({ mate: -Infinity, other: -Infinity, g, i: p }); continue; }
    let other = -Infinity;
    let mate = -Infinity;
    gal.forEach((r, j) => { if (!r) return; const s = dotv(r, v); if (j === k) mate = s; else if (s > other) other = s; });
    raw.mated.push({ mate, other, g, i: p });
  }
});
const refOf = new Map(); for (const e of enrolled) for (const p of e.probes) refOf.set(p, e.ref);
const miss = (m) => !(m.mate >= t && m.mate > m.other);
const rows = raw.mated.filter(m => m.g === 'F' || m.g === 'M').map(m => ({ ...m, q: meta[m.i], r: meta[refOf.get(m.i)], miss: miss(m) }));
const rate = (a) => a.length ? (100 * a.filter(x => x.miss).length / a.length).toFixed(1) + '% of ' + a.length : '-';
console.log('overall F', rate(rows.filter(r=>r.g==='F')), 'M', rate(rows.filter(r=>r.g==='M')));
const mean = (a) => (a.reduce((s,x)=>s+x,0)/a.length).toFixed(3);
for (const g of ['F','M']) { const a = rows.filter(r=>r.g===g && isFinite(r.mate)); console.log(g, 'mate mean', mean(a.map(r=>r.mate)), 'best non-mate mean', mean(a.map(r=>r.other)), 'probe failed', rows.filter(r=>r.g===g && !isFinite(r.mate)).length); }
function strat(name, f, edges) {
  console.log('\n' + name);
  for (let k = 0; k < edges.length - 1; k++) {
    const inb = (r) => { const v = f(r); return v !== undefined && v >= edges[k] && v < edges[k+1]; };
    const F = rows.filter(r => r.g==='F' && inb(r)), M = rows.filter(r => r.g==='M' && inb(r));
    console.log(`  [${edges[k]}, ${edges[k+1]})  F ${rate(F).padEnd(14)} M ${rate(M)}`);
  }
}
const worst = (a, b) => (a === undefined || b === undefined) ? undefined : Math.max(a, b);
strat('probe |yaw|', r => r.q.ok ? Math.abs(r.q.yaw) : undefined, [0, 5, 10, 15, 20, 30, 90]);
strat('max(|yaw| probe, ref)', r => r.q.ok && r.r.ok ? Math.max(Math.abs(r.q.yaw), Math.abs(r.r.yaw)) : undefined, [0, 5, 10, 15, 20, 30, 90]);
strat('probe |pitch|', r => r.q.ok ? Math.abs(r.q.pitch) : undefined, [0, 5, 10, 15, 20, 90]);
strat('probe inter-eye px', r => r.q.ok ? r.q.eye : undefined, [0, 30, 35, 40, 45, 50, 200]);
strat('probe sharpness', r => r.q.ok ? r.q.sharp : undefined, [0, 50, 100, 200, 400, 1e9]);
strat('probe det score', r => r.q.ok ? r.q.det : undefined, [0, 0.9, 0.97, 0.99, 0.999, 1.01]);
strat('probe faces in image', r => r.q.ok ? r.q.faces : undefined, [1, 2, 3, 100]);
strat('probe roll', r => r.q.ok ? Math.abs(r.q.roll) : undefined, [0, 5, 10, 20, 90]);
// Reweight: women's FNIR if their (probe yaw x ref yaw) distribution matched men's.
const key = (r) => r.q.ok && r.r.ok ? [Math.min(3, Math.floor(Math.abs(r.q.yaw)/8)), Math.min(3, Math.floor(Math.abs(r.r.yaw)/8)), Math.min(2, Math.floor(r.q.eye/38))].join(',') : 'x';
const cells = new Map();
for (const r of rows) { const k = key(r); if (!cells.has(k)) cells.set(k, { F: [], M: [] }); cells.get(k)[r.g].push(r); }
let num = 0, den = 0; const nM = rows.filter(r=>r.g==='M').length;
for (const [, c] of cells) { if (!c.F.length) continue; const w = c.M.length / nM; num += w * c.F.filter(x=>x.miss).length / c.F.length; den += w; }
console.log('\nwomen FNIR reweighted to men\'s pose+size mix:', (100*num/den).toFixed(1) + '%', '(coverage', den.toFixed(3) + ')');
// Per identity: how concentrated are women's misses?
const byId = new Map(); for (const r of rows) { const p = r.q.person; if (!byId.has(p)) byId.set(p, { g: r.g, n: 0, miss: 0 }); const o = byId.get(p); o.n++; o.miss += r.miss ? 1 : 0; }
for (const g of ['F','M']) { const ids = [...byId.values()].filter(o=>o.g===g); const allMiss = ids.filter(o=>o.miss===o.n).length; console.log(g, 'identities', ids.length, 'all probes missed', allMiss, 'any missed', ids.filter(o=>o.miss>0).length); }
// Probes missed because the REFERENCE is bad: misses per identity where ref quality poor
strat('reference |yaw|', r => r.r.ok ? Math.abs(r.r.yaw) : undefined, [0, 5, 10, 15, 20, 30, 90]);
strat('reference inter-eye', r => r.r.ok ? r.r.eye : undefined, [0, 35, 40, 45, 200]);
