import test from 'ava';
import { Gallery, type ScoreBackend } from '../../src/match/gallery.js';
import { benchSearch, randomUnitVector } from '../../src/tools/bench/search.js';

function rng(seed: number) {
  let s = seed;
  return () => ((s = (s * 1664525 + 1013904223) >>> 0) / 4294967296);
}

function bruteForce(rows: { subjectId: string; embedding: Float32Array }[], q: Float32Array, k: number) {
  const best = new Map<string, number>();
  for (const r of rows) {
    let s = 0;
    for (let i = 0; i < q.length; i++) s += r.embedding[i]! * q[i]!;
    best.set(r.subjectId, Math.max(best.get(r.subjectId) ?? -Infinity, s));
  }
  return [...best.entries()].sort((a, b) => b[1] - a[1]).slice(0, k);
}

test('top-k matches a brute-force search, most to least likely, one hit per subject', (t) => {
  const rand = rng(1);
  const dim = 37; // odd on purpose: exercises the unrolled loop's tail
  const rows = Array.from({ length: 500 }, (_, i) => ({ subjectId: `s${i % 180}`, embedding: randomUnitVector(dim, rand) }));
  const g = new Gallery(dim);
  g.add(rows.slice(0, 200));
  g.add(rows.slice(200));
  t.is(g.size, 500);
  t.is(g.subjects, 180);
  for (let n = 0; n < 30; n++) {
    const q = randomUnitVector(dim, rand);
    for (const k of [1, 3, 7]) {
      const hits = g.search(q, k);
      const want = bruteForce(rows, q, k);
      t.deepEqual(hits.map((h) => h.subjectId), want.map((w) => w[0]));
      hits.forEach((h, i) => t.true(Math.abs(h.score - want[i]![1]) < 1e-5));
      t.is(new Set(hits.map((h) => h.subjectId)).size, hits.length);
    }
  }
});

test('a probe equal to a template finds that subject first with score 1', (t) => {
  const rand = rng(2);
  const rows = Array.from({ length: 50 }, (_, i) => ({ subjectId: `s${i}`, embedding: randomUnitVector(16, rand) }));
  const g = new Gallery(16);
  g.load(rows);
  const hits = g.searchBatch([rows[17]!.embedding, rows[3]!.embedding], 2);
  t.is(hits[0]![0]!.subjectId, 's17');
  t.true(Math.abs(hits[0]![0]!.score - 1) < 1e-5);
  t.is(hits[1]![0]!.subjectId, 's3');
});

test('clear() wipes and empties; wrong dimensions are refused; small galleries return fewer hits', (t) => {
  const g = new Gallery(4);
  t.deepEqual(g.search(new Float32Array(4), 3), []);
  g.add([{ subjectId: 'a', embedding: new Float32Array([1, 0, 0, 0]) }]);
  t.is(g.search(new Float32Array([1, 0, 0, 0]), 5).length, 1);
  t.throws(() => g.add([{ subjectId: 'b', embedding: new Float32Array(3) }]));
  t.throws(() => g.search(new Float32Array(5), 1));
  g.clear();
  t.is(g.size, 0);
  t.deepEqual(g.search(new Float32Array([1, 0, 0, 0]), 1), []);
});

test('the scoring backend is replaceable without changing the API', (t) => {
  let loaded = 0;
  const backend: ScoreBackend = {
    name: 'reverse',
    load: (_m, rows) => {
      loaded = rows;
    },
    score: (_p, out) => {
      for (let i = 0; i < loaded; i++) out[i] = -i;
    },
    clear: () => {
      loaded = 0;
    },
  };
  const g = new Gallery(2, { backend });
  g.add([0, 1, 2].map((i) => ({ subjectId: `s${i}`, embedding: new Float32Array(2) })));
  t.deepEqual(g.search(new Float32Array(2), 2).map((h) => h.subjectId), ['s0', 's1']);
  t.is(g.backendName, 'reverse');
});

test('benchSearch reports a median per size', (t) => {
  const rows = benchSearch({ sizes: [100, 1000], dim: 32, probes: 10 });
  t.is(rows.length, 2);
  t.true(rows.every((r) => r.medianMsPerProbe > 0 && r.p95MsPerProbe >= r.medianMsPerProbe));
});
