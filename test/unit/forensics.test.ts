// The forensic detectors of the safeguards tests (test/helpers/forensics.ts) against positive and
// negative controls: a detector that cannot find a planted template would make those tests vacuous.
import test from 'ava';
import { randomBytes } from 'node:crypto';
import { findFloatVectors, scanFiles } from '../helpers/forensics.js';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

function template(dim = 512, seed = 1): Float32Array {
  const v = new Float32Array(dim);
  let a = seed;
  let s = 0;
  for (let i = 0; i < dim; i++) {
    a = (Math.imul(a, 1664525) + 1013904223) >>> 0;
    // Sum of 4 uniforms: roughly Gaussian, like embedding values.
    v[i] = ((a & 0xff) + ((a >>> 8) & 0xff) + ((a >>> 16) & 0xff) + (a >>> 24) - 510) / 255;
    s += v[i]! * v[i]!;
  }
  for (let i = 0; i < dim; i++) v[i]! /= Math.sqrt(s);
  return v;
}

test('a normalised template hidden in random bytes is found at any alignment; random bytes and text are not', (t) => {
  for (const off of [0, 1, 2, 3, 4097]) {
    const buf = randomBytes(20_000);
    Buffer.from(template().buffer).copy(buf, off + 5000);
    t.true(findFloatVectors(buf).length > 0, `offset ${off}`);
  }
  t.deepEqual(findFloatVectors(randomBytes(2_000_000)), []);
  t.deepEqual(findFloatVectors(Buffer.from(JSON.stringify({ alerts: Array.from({ length: 2000 }, (_, i) => ({ id: i, score: 0.61 + i / 1e5 })) }))), []);
  t.deepEqual(findFloatVectors(Buffer.alloc(100_000)), [], 'zero fill');
});

test('scanFiles reports JPEG markers, template runs and planted needles per file', (t) => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'lfr-forensics-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(path.join(dir, 'clean'), randomBytes(50_000));
  writeFileSync(path.join(dir, 'jpeg'), Buffer.concat([randomBytes(100).fill(1), Buffer.from([0xff, 0xd8, 0xff, 0xe0]), Buffer.alloc(100)]));
  writeFileSync(path.join(dir, 'tpl'), Buffer.concat([Buffer.alloc(64), Buffer.from(template(512, 7).buffer)]));
  writeFileSync(path.join(dir, 'needle'), Buffer.from('xx ALERT-ID-123 yy'));
  const f = scanFiles(['clean', 'jpeg', 'tpl', 'needle'].map((n) => path.join(dir, n)), [{ what: 'the alert id', bytes: Buffer.from('ALERT-ID-123') }]);
  t.deepEqual(f.map((x) => `${path.basename(x.file)}: ${x.what.split(' ')[0]}`).sort(), ['jpeg: JPEG', 'needle: the', 'tpl: a']);
});
