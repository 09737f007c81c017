// The live matcher's search backend follows the watchlist size: openWatchlist gives a gallery of
// ORT_SEARCH_MIN_TEMPLATES templates or more the int8 ONNX Runtime GEMM, a smaller one the JS
// loop, and the analyser's searchBatchAsync returns the same subjects and the same scores either
// way (the GEMM re-ranks its best rows in float). Real encrypted store files, real onnxruntime.
import test from 'ava';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { generateBoxKeyPair, type BoxKeyPair } from '../../src/crypto/box.js';
import { keyId } from '../../src/crypto/sign.js';
import { StoreWriter } from '../../src/watchlist/store.js';
import { openWatchlist, ORT_SEARCH_MIN_TEMPLATES } from '../../src/watchlist/service.js';
import { Gallery } from '../../src/match/gallery.js';

const DIM = 512;
let seed = 7;
/** Deterministic unit vectors (a small LCG), so a failure reproduces. */
function unit(): Float32Array {
  const v = new Float32Array(DIM);
  let n = 0;
  for (let i = 0; i < DIM; i++) {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    v[i] = seed / 2 ** 30 - 1;
    n += v[i]! * v[i]!;
  }
  for (let i = 0; i < DIM; i++) v[i]! /= Math.sqrt(n);
  return v;
}

function writeStore(file: string, van: BoxKeyPair, subjects: number, perSubject: number, keep: Float32Array[]): void {
  const w = StoreWriter.create(file, van);
  for (let s = 0; s < subjects; s++) {
    const templates = Array.from({ length: perSubject }, () => unit());
    keep.push(...templates.map((t) => Float32Array.from(t)));
    w.addSubject({ subjectRef: `S-${s}`, category: 'wanted', reason: 'test', referenceJpeg: Buffer.from([0xff, 0xd8, 0xff]), templates }, DIM);
  }
  const now = new Date();
  w.commit({ bundleSha256: 'a'.repeat(64), bundleId: 'b', signerKeyId: 'k', vanKeyId: keyId(van.publicKey), bundleCreatedAt: now.toISOString(), importedAt: now.toISOString(), expiresAt: new Date(now.getTime() + 3_600_000).toISOString(), subjects, templates: subjects * perSubject, categories: { wanted: subjects }, rejectedImages: 0, embeddingSize: DIM, models: { detector: 'd', landmarker: 'l', embedder: 'e' } });
}

for (const [subjects, perSubject, backend] of [[100, 2, 'js'], [Math.ceil(ORT_SEARCH_MIN_TEMPLATES / 2) + 100, 2, 'ort']] as const) {
  test(`${subjects * perSubject} templates: ${backend} backend, same hits as the exact loop`, async (t) => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'lfr-search-'));
    t.teardown(() => rmSync(dir, { recursive: true, force: true }));
    const van = generateBoxKeyPair();
    const vanKey = { ...van, keyId: keyId(van.publicKey) };
    const storeFile = path.join(dir, 'watchlist.db');
    const templates: Float32Array[] = [];
    writeStore(storeFile, van, subjects, perSubject, templates);
    const wl = openWatchlist({ storeFile, maxAgeHours: 24, clock: Date.now, van: vanKey, trust: { trustedSignerKeyIds: ['k'] } });
    t.truthy(wl);
    t.teardown(() => wl!.close());
    t.is(wl!.gallery.size > 0, true);
    t.regex(wl!.gallery.backendName, backend === 'js' ? /js/ : /ort|gemm/i);
    // Probes near enrolled templates (a live face of a listed person) and random strangers.
    const probes = [...templates.slice(0, 20).map((tpl) => { const p = Float32Array.from(tpl); p[0]! += 0.05; return p; }), ...Array.from({ length: 20 }, () => unit())];
    const exact = new Gallery(DIM);
    exact.load(templates.map((e, i) => ({ subjectId: String(Math.floor(i / perSubject)), embedding: e })));
    for (const p of probes) {
      const [live] = await wl!.gallery.searchBatchAsync([p], 3);
      const ref = exact.search(p, 3);
      t.deepEqual(live!.map((h) => h.score.toFixed(5)), ref.map((h) => h.score.toFixed(5)));
    }
  });
}
