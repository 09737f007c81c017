// The forensic detectors of the safeguards tests (test/helpers/forensics.ts) against positive and
// negative controls: a detector that cannot find a planted template would make those tests vacuous.
import test from 'ava';
import { randomBytes } from 'node:crypto';
import { findFloatVectors, findJpeg, scanFiles } from '../helpers/forensics.js';
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
  // A real JPEG's first bytes (SOI, a JFIF APP0 segment of 16 bytes, then the DQT marker).
  const jfif = Buffer.concat([Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0x00, 0x10]), Buffer.from('JFIF\0\x01\x01\0\0\x01\0\x01\0\0', 'latin1'), Buffer.from([0xff, 0xdb, 0x00, 0x43]), Buffer.alloc(65)]);
  writeFileSync(path.join(dir, 'jpeg'), Buffer.concat([randomBytes(100).fill(1), jfif, Buffer.alloc(100)]));
  // The SOI bytes alone, as ciphertext holds them by chance: not a JPEG.
  writeFileSync(path.join(dir, 'soi-only'), Buffer.concat([randomBytes(100).fill(1), Buffer.from([0xff, 0xd8, 0xff, 0x00, 0x12, 0x34]), Buffer.alloc(100, 7)]));
  writeFileSync(path.join(dir, 'tpl'), Buffer.concat([Buffer.alloc(64), Buffer.from(template(512, 7).buffer)]));
  writeFileSync(path.join(dir, 'needle'), Buffer.from('xx ALERT-ID-123 yy'));
  const f = scanFiles(['clean', 'jpeg', 'soi-only', 'tpl', 'needle'].map((n) => path.join(dir, n)), [{ what: 'the alert id', bytes: Buffer.from('ALERT-ID-123') }]);
  t.deepEqual(f.map((x) => `${path.basename(x.file)}: ${x.what.split(' ')[0]}`).sort(), ['jpeg: JPEG', 'needle: the', 'tpl: a']);
});

test('findJpeg finds a real encoder JPEG inside other bytes, and nothing in 20 MB of random bytes', async (t) => {
  const sharp = (await import('sharp')).default;
  const jpeg = await sharp({ create: { width: 32, height: 32, channels: 3, background: { r: 200, g: 10, b: 10 } } }).jpeg().toBuffer();
  t.is(findJpeg(Buffer.concat([randomBytes(1000), jpeg, randomBytes(1000)])), 1000);
  // About 1.2 chance hits of the bare SOI bytes expected here; none passes the structure check.
  t.is(findJpeg(randomBytes(20_000_000)), -1);
});
