// Test fixtures for the watchlist: a tiny fake FaceEngine keyed on image colour (so bundle,
// import and store logic are tested without the ONNX models), in-memory keys and bundles.
import sharp from 'sharp';
import type { FaceEngine, FaceDetection, RgbImage, QualityGateSettings, AnalysedFace } from '../../src/vision/types.js';
import { generateSigningKeyPair, keyId } from '../../src/crypto/sign.js';
import { generateBoxKeyPair } from '../../src/crypto/box.js';
import type { PublicKeyInfo } from '../../src/crypto/keys.js';
import type { VanKey } from '../../src/watchlist/bundle-read.js';
import { packBundle, type MemberInput } from '../../src/watchlist/bundle-write.js';
import { CSV_MEMBER } from '../../src/watchlist/bundle-format.js';
import { sha256Hex } from '../../src/crypto/hash.js';

export const DIM = 8;

/** Solid-colour PNG: red/orange = one good face, blue = two faces, magenta = a face and a small background face, green = no face, grey = blurred face. */
export async function colourImage(colour: 'red' | 'blue' | 'green' | 'grey' | 'orange' | 'magenta', size = 64): Promise<Buffer> {
  const rgb = { red: [220, 10, 10], blue: [10, 10, 220], green: [10, 220, 10], grey: [128, 128, 128], orange: [230, 140, 10], magenta: [210, 10, 210] }[colour];
  return sharp({ create: { width: size, height: size, channels: 3, background: { r: rgb[0]!, g: rgb[1]!, b: rgb[2]! } } }).png().toBuffer();
}

const det = (x: number): FaceDetection => ({ box: { x, y: 4, width: 20, height: 20 }, score: 0.99, landmarks: [[8, 10], [16, 10], [12, 14], [9, 18], [15, 18]] });

export function fakeEngine(): FaceEngine & { detected: number } {
  const e = {
    detected: 0,
    embeddingSize: DIM,
    models: { detector: 'fake-det', landmarker: 'none', embedder: 'fake-emb' },
    async detect(img: RgbImage): Promise<FaceDetection[]> {
      e.detected++;
      const [r, g, b] = [img.data[0]!, img.data[1]!, img.data[2]!];
      if (r > 200 && b > 200) return [det(4), { ...det(40), box: { x: 40, y: 40, width: 8, height: 8 } }];
      if (b > 200) return [det(4), det(30)];
      if (g > 200) return [];
      void r;
      return [det(4)];
    },
    analyse(img: RgbImage, d: FaceDetection, _gates: QualityGateSettings): AnalysedFace {
      const grey = img.data[0] === img.data[1];
      return {
        detection: d,
        aligned: { width: 112, height: 112, data: new Uint8Array(112 * 112 * 3).fill(img.data[0]!) },
        quality: {
          interEyePx: 40, faceHeightPx: 20, sharpness: grey ? 1 : 100, yawDeg: 0, pitchDeg: 0, rollDeg: 0, detectorScore: d.score,
          ok: !grey,
          reasons: grey ? [{ code: 'blurred', message: 'face is blurred' }] : [],
        },
      };
    },
    async embed(aligned: RgbImage): Promise<Float32Array> {
      const v = new Float32Array(DIM);
      v[aligned.data[0]! % DIM] = 1;
      return v;
    },
    async close() {},
  };
  return e;
}

export interface Keys {
  signer: ReturnType<typeof generateSigningKeyPair>;
  trusted: PublicKeyInfo[];
  van: VanKey;
}

export function makeKeys(): Keys {
  const signer = generateSigningKeyPair();
  const box = generateBoxKeyPair();
  return {
    signer,
    trusted: [{ kind: 'signing', keyId: keyId(signer.publicKey), publicKey: signer.publicKey, file: 'mem' }],
    van: { ...box, keyId: keyId(box.publicKey) },
  };
}

export function memberOf(name: string, data: Buffer): MemberInput {
  return { name, bytes: data.length, sha256: sha256Hex(data), read: async () => data };
}

/** A complete bundle in memory. `files` excludes the CSV. */
export async function bundleBuffer(keys: Keys, csv: string | Buffer, files: [string, Buffer][], opts: { vanPublicKey?: Buffer; chunkBytes?: number; createdAt?: Date } = {}): Promise<Buffer> {
  const chunks: Buffer[] = [];
  const csvBuf = typeof csv === 'string' ? Buffer.from(csv, 'utf8') : csv;
  const { prefix } = await packBundle({
    members: [memberOf(CSV_MEMBER, csvBuf), ...files.map(([n, d]) => memberOf(n, d))],
    signer: keys.signer,
    vanPublicKey: opts.vanPublicKey ?? keys.van.publicKey,
    // Now (to the second): the van refuses bundles older than watchlist.maxBundleAgeHours.
    createdAt: opts.createdAt ?? new Date(Math.floor(Date.now() / 1000) * 1000),
    ...(opts.chunkBytes ? { chunkBytes: opts.chunkBytes } : {}),
    writePayload: (c) => {
      chunks.push(c);
    },
  });
  return Buffer.concat([prefix, ...chunks]);
}

export const LIMITS = { maxBundleBytes: 10_000_000, maxImageBytes: 1_000_000, maxSubjects: 100 };
export const GATES: QualityGateSettings = { minInterEyePx: 30, minSharpness: 25, maxYawDeg: 25, maxPitchDeg: 25, minDetectorScore: 0.8 };
export const CSV_OK = 'subject_ref,category,reason,images\nWL-1,wanted,burglary,a.png\nWL-2,missing person,vulnerable,b.png;c.png\nWL-3,court order,breach,d.png\n';
export async function okFiles(): Promise<[string, Buffer][]> {
  return [
    ['a.png', await colourImage('red')],
    ['b.png', await colourImage('orange')],
    ['c.png', await colourImage('blue')],
    ['d.png', await colourImage('green')],
  ];
}

/** The store trust a van with these keys has (its config trusts the test signer). */
export const trustOf = (keys: Keys): { trustedSignerKeyIds: string[] } => ({ trustedSignerKeyIds: keys.trusted.map((k) => k.keyId) });
