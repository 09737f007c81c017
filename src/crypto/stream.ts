// crypto_secretstream_xchacha20poly1305: authenticated encryption of a long payload in chunks.
// Each chunk is authenticated and ordered, and the last one carries TAG_FINAL, so reordering,
// dropping, duplicating or truncating chunks is detected (a plain AEAD per chunk would not see a
// truncation at a chunk boundary).
import sodium from 'sodium-native';

type State = Parameters<typeof sodium.crypto_secretstream_xchacha20poly1305_push>[0];
// sodium-native 4 keeps the state in a plain STATEBYTES buffer (its typings predate that).
const newState = (): State => Buffer.alloc(STATE_BYTES) as unknown as State;
import type { SecretKey } from './secure.js';

export const STREAM_HEADER_BYTES = sodium.crypto_secretstream_xchacha20poly1305_HEADERBYTES; // 24
export const STREAM_ABYTES = sodium.crypto_secretstream_xchacha20poly1305_ABYTES; // 17
export const STREAM_KEY_BYTES = sodium.crypto_secretstream_xchacha20poly1305_KEYBYTES; // 32
const STATE_BYTES = (sodium as unknown as { crypto_secretstream_xchacha20poly1305_STATEBYTES: number }).crypto_secretstream_xchacha20poly1305_STATEBYTES;
// sodium-native 4 takes and returns tags as small numbers although its typings say Buffer.
const TAG_MESSAGE = sodium.crypto_secretstream_xchacha20poly1305_TAG_MESSAGE as unknown as Buffer;
const TAG_FINAL = sodium.crypto_secretstream_xchacha20poly1305_TAG_FINAL as unknown as Buffer;
const TAG_FINAL_BYTE = Number(sodium.crypto_secretstream_xchacha20poly1305_TAG_FINAL);

export class StreamError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'StreamError';
  }
}

export class StreamEncryptor {
  readonly header = Buffer.alloc(STREAM_HEADER_BYTES);
  private readonly state = newState();
  private done = false;

  constructor(key: SecretKey) {
    if (key.bytes.length !== STREAM_KEY_BYTES) throw new Error('secretstream key must be 32 bytes');
    sodium.crypto_secretstream_xchacha20poly1305_init_push(this.state, this.header, key.bytes);
  }

  /** Encrypt one chunk; `final` marks the end of the stream (no chunk may follow). */
  push(chunk: Uint8Array, final = false): Buffer {
    if (this.done) throw new StreamError('stream already finished');
    const out = Buffer.alloc(chunk.length + STREAM_ABYTES);
    sodium.crypto_secretstream_xchacha20poly1305_push(this.state, out, Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength), null, final ? TAG_FINAL : TAG_MESSAGE);
    if (final) {
      this.done = true;
      sodium.sodium_memzero(this.state as unknown as Buffer);
    }
    return out;
  }
}

export class StreamDecryptor {
  private readonly state = newState();
  private finished = false;

  constructor(header: Uint8Array, key: SecretKey) {
    if (header.length !== STREAM_HEADER_BYTES) throw new StreamError('stream header has the wrong length');
    sodium.crypto_secretstream_xchacha20poly1305_init_pull(this.state, Buffer.from(header), key.bytes);
  }

  get isFinished(): boolean {
    return this.finished;
  }

  /** Decrypt one chunk; throws StreamError on any authentication failure or data after the end. */
  pull(chunk: Uint8Array): { message: Buffer; final: boolean } {
    if (this.finished) throw new StreamError('data after the end of the encrypted stream');
    if (chunk.length < STREAM_ABYTES) throw new StreamError('encrypted chunk too short');
    const message = Buffer.alloc(chunk.length - STREAM_ABYTES);
    const tag = Buffer.alloc(1);
    try {
      sodium.crypto_secretstream_xchacha20poly1305_pull(this.state, message, tag, Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength), null);
    } catch {
      throw new StreamError('encrypted chunk failed authentication (wrong key, tampered, reordered or truncated)');
    }
    const final = tag[0] === TAG_FINAL_BYTE;
    if (final) {
      this.finished = true;
      sodium.sodium_memzero(this.state as unknown as Buffer);
    }
    return { message, final };
  }
}
