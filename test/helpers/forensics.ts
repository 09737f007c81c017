// What an auditor looks for in the files a van wrote, without knowing the exact bytes of any face:
//  - a plaintext face template: a run of float32 values that all look like embedding values
//    (finite, 1e-4 < |v| < 16). An L2-normalised 512-d template has values around +-0.04; the
//    embedder's raw output and a mirrored sum are within the same band. Ciphertext, text, SQLite
//    pages and zero fill almost never give 240 such floats out of 256 in a row (a random 32-bit
//    pattern lands in the band with p ~ 0.09), so a hit means float vectors were written in clear.
//  - JPEG data: the SOI marker FF D8 FF, then a marker a JPEG starts with (APPn, DQT, SOF, DHT,
//    COM) whose segment length lands on the next marker's FF. Alert images are only ever stored
//    sealed. The three SOI bytes alone occur by chance in ciphertext (p = 2^-24 per byte: about one
//    hit in 4 MB of sealed alerts, which the photo-check test once found in alerts.db-wal); with the
//    structure check a chance hit is about 1e-11 per byte.
// Each detector is checked against a positive control by the tests that use it (a real template
// hidden in random bytes must be found), so a detector that finds nothing cannot pass vacuously.
import { readFileSync } from 'node:fs';

const WINDOW = 256;
const NEEDED = 240;

function plausible(v: number): boolean {
  const a = Math.abs(v);
  return Number.isFinite(v) && a > 1e-4 && a < 16;
}

/** Byte offsets where a run of float32 (little-endian, any 4-byte alignment) looks like a template. */
export function findFloatVectors(buf: Buffer, limit = 5): number[] {
  const hits: number[] = [];
  for (let align = 0; align < 4 && hits.length < limit; align++) {
    const n = Math.floor((buf.length - align) / 4);
    if (n < WINDOW) continue;
    const ok = new Uint8Array(n);
    for (let i = 0; i < n; i++) ok[i] = plausible(buf.readFloatLE(align + i * 4)) ? 1 : 0;
    let count = 0;
    for (let i = 0; i < n; i++) {
      count += ok[i]!;
      if (i >= WINDOW) count -= ok[i - WINDOW]!;
      if (i >= WINDOW - 1 && count >= NEEDED) {
        hits.push(align + (i - WINDOW + 1) * 4);
        if (hits.length >= limit) break;
        i += WINDOW; // report each run once
        count = 0;
        for (let j = Math.max(0, i - WINDOW + 1); j <= i && j < n; j++) count += ok[j]!;
      }
    }
  }
  return hits;
}

export const JPEG_SOI = Buffer.from([0xff, 0xd8, 0xff]);

/** A marker that can follow SOI in a real JPEG: APP0-APP15, DQT, SOF0-SOF3, DHT, COM. */
function firstMarker(m: number): boolean {
  return (m >= 0xe0 && m <= 0xef) || m === 0xdb || (m >= 0xc0 && m <= 0xc4) || m === 0xfe;
}

/** Byte offset of the first JPEG start (SOI + a first segment that leads to the next marker), or -1. */
export function findJpeg(buf: Buffer): number {
  for (let i = buf.indexOf(JPEG_SOI); i >= 0; i = buf.indexOf(JPEG_SOI, i + 1)) {
    if (i + 6 > buf.length || !firstMarker(buf[i + 3]!)) continue;
    const len = buf.readUInt16BE(i + 4);
    const next = i + 4 + len;
    if (len >= 2 && next < buf.length && buf[next] === 0xff) return i;
  }
  return -1;
}

export interface Finding {
  file: string;
  what: string;
}

/** Every finding in `files`: plaintext float vectors, JPEG data, and any of the `needles`. */
export function scanFiles(files: readonly string[], needles: ReadonlyArray<{ what: string; bytes: Buffer }> = []): Finding[] {
  const out: Finding[] = [];
  for (const file of files) {
    let buf: Buffer;
    try {
      buf = readFileSync(file);
    } catch {
      continue; // removed meanwhile (a WAL checkpointed away)
    }
    const jpeg = findJpeg(buf);
    if (jpeg >= 0) out.push({ file, what: `JPEG data (FF D8 FF and a JPEG segment) at byte ${jpeg}` });
    const vec = findFloatVectors(buf, 1);
    if (vec.length) out.push({ file, what: `a run of float32 template-like values at byte ${vec[0]}` });
    for (const n of needles) if (n.bytes.length && buf.includes(n.bytes)) out.push({ file, what: n.what });
  }
  return out;
}
