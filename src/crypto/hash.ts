// Hashes used across the product (bundle manifests, audit chain, model files). SHA-256 because
// the formats are read by other tools (sha256sum) and forces' own checkers.
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';

export const sha256Hex = (data: Uint8Array | string): string => createHash('sha256').update(data).digest('hex');

export async function sha256File(file: string): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of createReadStream(file)) h.update(chunk as Buffer);
  return h.digest('hex');
}
