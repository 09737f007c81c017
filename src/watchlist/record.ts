// Binary encoding of one enrolled subject inside the encrypted store: the whole record (reference,
// category, reason, reference JPEG, templates) is one AEAD ciphertext, so nothing about a person is
// readable, or can be swapped between rows, without the store key.
//
//   u32 jsonLen | json {subjectRef, category, reason, dim, templates} | u32 jpegLen | jpeg | f32 LE x dim x templates
import { wipe } from '../crypto/secure.js';

export interface SubjectRecord {
  subjectRef: string;
  category: string;
  reason: string;
  referenceJpeg: Buffer;
  templates: Float32Array[];
}

export function encodeRecord(r: SubjectRecord, dim: number): Buffer {
  const json = Buffer.from(JSON.stringify({ subjectRef: r.subjectRef, category: r.category, reason: r.reason, dim, templates: r.templates.length }), 'utf8');
  const out = Buffer.alloc(4 + json.length + 4 + r.referenceJpeg.length + r.templates.length * dim * 4);
  let o = out.writeUInt32LE(json.length, 0);
  o += json.copy(out, o);
  o = out.writeUInt32LE(r.referenceJpeg.length, o);
  o += r.referenceJpeg.copy(out, o);
  for (const t of r.templates) {
    if (t.length !== dim) throw new Error('template dimension mismatch');
    for (let i = 0; i < dim; i++, o += 4) out.writeFloatLE(t[i]!, o);
  }
  wipe(json);
  return out;
}

export function decodeRecord(buf: Buffer): SubjectRecord & { dim: number } {
  const fail = () => new Error('store record is malformed');
  if (buf.length < 8) throw fail();
  const jl = buf.readUInt32LE(0);
  if (4 + jl + 4 > buf.length) throw fail();
  const meta = JSON.parse(buf.subarray(4, 4 + jl).toString('utf8')) as { subjectRef: string; category: string; reason: string; dim: number; templates: number };
  let o = 4 + jl;
  const pl = buf.readUInt32LE(o);
  o += 4;
  if (o + pl + meta.dim * meta.templates * 4 !== buf.length) throw fail();
  const referenceJpeg = Buffer.from(buf.subarray(o, o + pl));
  o += pl;
  const templates: Float32Array[] = [];
  for (let t = 0; t < meta.templates; t++) {
    const v = new Float32Array(meta.dim);
    for (let i = 0; i < meta.dim; i++, o += 4) v[i] = buf.readFloatLE(o);
    templates.push(v);
  }
  return { subjectRef: meta.subjectRef, category: meta.category, reason: meta.reason, referenceJpeg, templates, dim: meta.dim };
}
