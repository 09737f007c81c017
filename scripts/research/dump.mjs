// Embed every LFW image once through the product pipeline (detector, landmarks, alignment,
// embedder; open quality gate, the central face as lfr eval does), and save the embeddings
// (OUT.f32) with each face's quality figures (OUT.json) for the lever studies of docs/accuracy.md
// (quality.mjs, levers.mjs). Research only: OUT holds biometric templates of LFW, keep it in a
// temporary folder and delete it after.
//   node scripts/research/dump.mjs /tmp/eq/lfw-default [config.json]
import { readdirSync, writeFileSync, openSync, writeSync, closeSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const M = path.join(REPO, 'dist/src');
const { loadConfig } = await import(`${M}/config/load.js`);
const { silentLogger } = await import(`${M}/log.js`);
const { createFaceEngine } = await import(`${M}/vision/engine.js`);
const { decodeImageFile } = await import(`${M}/vision/decode.js`);
const { pickCentralFace, OPEN_GATE } = await import(`${M}/tools/eval/embed-images.js`);
const cfgFile = process.argv[3];
const cfg = loadConfig(cfgFile);
const engine = await createFaceEngine(cfg, silentLogger());
const root = path.join(process.env.LFW ?? path.join(REPO, '../shared/data/lfw'), 'images');
const people = readdirSync(root).sort();
const meta = [];
const out = openSync(process.argv[2] + '.f32', 'w');
let n = 0; let rows = 0; const t0 = Date.now();
for (const p of people) {
  for (const f of readdirSync(path.join(root, p)).sort()) {
    const file = path.join(root, p, f);
    let rec = { file: f, person: p, ok: false };
    try {
      const img = await decodeImageFile(file);
      const dets = await engine.detect(img);
      const face = pickCentralFace(dets, img.width, img.height);
      if (face) {
        const a = engine.analyse(img, face, OPEN_GATE);
        const e = await engine.embed(a.aligned);
        const q = a.quality;
        rec = { file: f, person: p, ok: true, faces: dets.length, w: face.box.width, h: face.box.height, det: q.detectorScore, eye: q.interEyePx, sharp: q.sharpness, yaw: q.yawDeg, pitch: q.pitchDeg, roll: q.rollDeg, row: rows++ };
        writeSync(out, Buffer.from(e.buffer, e.byteOffset, e.byteLength));
      }
    } catch (err) { rec.err = String(err.message ?? err); }
    meta.push(rec);
    if (++n % 500 === 0) console.error(n, ((Date.now() - t0) / n).toFixed(1), 'ms/img');
  }
}
closeSync(out);
writeFileSync(process.argv[2] + '.json', JSON.stringify({ dim: engine.embeddingSize, models: engine.models, meta }));
await engine.close();
console.error('done', n);
