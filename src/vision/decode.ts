// Image file/buffer -> RgbImage with sharp (libvips). Every failure becomes an ImageError with a
// plain message: missing file, not an image, truncated or corrupt data, too many pixels. The
// pixel limit stops a hostile or mistaken 30k x 30k "photo" from exhausting memory on the van.
import { NotARegularFile, readSmallFile } from '../util/files.js';
import sharp from './sharp.js';
import type { RgbImage } from './types.js';

/** 40 MP: larger than any camera still a force would enrol, small enough to decode safely. */
export const DEFAULT_MAX_PIXELS = 40_000_000;

export class ImageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ImageError';
  }
}

export interface DecodeOptions {
  maxPixels?: number;
  /** Name used in error messages (a path, or "reference image 12"). */
  label?: string;
}

/** Largest image file read from disk (a 40 MP PNG is ~120 MB). */
const MAX_IMAGE_FILE_BYTES = 256 * 1024 * 1024;

/**
 * Reads an image named on the command line or in a dataset folder. A FIFO or a device where a
 * file should be is refused at once instead of blocking for ever (util/files.ts); symbolic links
 * are followed (evaluation folders are often links).
 */
export async function decodeImageFile(file: string, opts: DecodeOptions = {}): Promise<RgbImage> {
  let bytes: Buffer;
  try {
    bytes = await readSmallFile(file, MAX_IMAGE_FILE_BYTES);
  } catch (err) {
    if (!(err instanceof NotARegularFile)) throw new ImageError(`cannot read image ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    if (/ not found$/.test(err.message)) throw new ImageError(`image not found: ${file}`);
    if (/ is a directory,/.test(err.message)) throw new ImageError(`not an image file (a directory): ${file}`);
    if (/ is a FIFO,/.test(err.message)) throw new ImageError(`not an image file (a FIFO): ${file}`);
    throw new ImageError(err.message.startsWith('permission denied') ? `permission denied reading image: ${file}` : `not an image file: ${err.message}`);
  }
  return decodeImage(bytes, { ...opts, label: opts.label ?? file });
}

export async function decodeImage(bytes: Uint8Array, opts: DecodeOptions = {}): Promise<RgbImage> {
  const label = opts.label ?? 'image';
  if (bytes.length === 0) throw new ImageError(`${label} is empty`);
  try {
    const { data, info } = await sharp(bytes, {
      limitInputPixels: opts.maxPixels ?? DEFAULT_MAX_PIXELS,
      // 'warning' makes libvips fail on truncated or corrupt JPEG/PNG data instead of returning a
      // grey-filled image, on which a detector could still "find" nothing or garbage.
      failOn: 'warning',
      sequentialRead: true,
    })
      .rotate() // apply EXIF orientation: phone photos are often stored sideways
      .removeAlpha()
      .toColourspace('srgb')
      .raw()
      .toBuffer({ resolveWithObject: true });
    if (info.channels !== 3) throw new ImageError(`${label}: unexpected ${info.channels} channels after decoding`);
    return { width: info.width, height: info.height, data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength) };
  } catch (err) {
    if (err instanceof ImageError) throw err;
    throw new ImageError(`${label} ${explain((err as Error).message ?? String(err))}`);
  }
}

function explain(msg: string): string {
  if (/unsupported image format|Input buffer contains unsupported/i.test(msg)) return 'is not an image (unsupported or unrecognised format)';
  if (/pixel limit/i.test(msg)) return 'has too many pixels (over the decode limit)';
  if (/premature end|truncated|unexpected end|not enough data|corrupt|bad huffman/i.test(msg)) return 'is truncated or corrupt (image data ends early or is damaged)';
  return `could not be decoded: ${msg.split('\n')[0]}`;
}
