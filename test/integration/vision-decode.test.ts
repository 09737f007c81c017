// Decoding with real libvips: every input becomes 8-bit RGB, and bad input a plain ImageError.
import test from 'ava';
import sharp from 'sharp';
import path from 'node:path';
import { INSTALL_ROOT } from '../../src/paths.js';
import { decodeImage, decodeImageFile, ImageError } from '../../src/vision/decode.js';
import { encodeFaceCrop } from '../../src/vision/jpeg.js';

const sample1 = path.join(INSTALL_ROOT, 'node_modules/@vladmandic/face-api/demo/sample1.jpg');

test('grey, RGBA, 16-bit, CMYK and WebP inputs all decode to 8-bit RGB', async (t) => {
  const base = sharp(sample1).resize(64);
  const inputs = {
    grey: await base.clone().greyscale().jpeg().toBuffer(),
    rgba: await base.clone().ensureAlpha().png().toBuffer(),
    png16: await base.clone().toColourspace('rgb16').png().toBuffer(),
    cmyk: await base.clone().toColourspace('cmyk').jpeg().toBuffer(),
    webp: await base.clone().webp().toBuffer(),
  };
  for (const [name, bytes] of Object.entries(inputs)) {
    const img = await decodeImage(bytes, { label: name });
    t.is(img.width, 64, name);
    t.is(img.data.length, img.width * img.height * 3, name);
  }
});

test('EXIF orientation is applied', async (t) => {
  const rotated = await sharp(sample1).resize(64).withMetadata({ orientation: 6 }).jpeg().toBuffer();
  const img = await decodeImage(rotated);
  t.true(img.height > img.width);
});

test('empty, oversized and garbage inputs are ImageErrors with plain messages', async (t) => {
  const e1 = await t.throwsAsync(decodeImage(new Uint8Array(0), { label: 'x.jpg' }), { instanceOf: ImageError });
  t.is(e1!.message, 'x.jpg is empty');
  const e2 = await t.throwsAsync(decodeImageFile(sample1, { maxPixels: 1000 }), { instanceOf: ImageError });
  t.regex(e2!.message, /too many pixels/);
  const e3 = await t.throwsAsync(decodeImage(new TextEncoder().encode('GIF89a but not really'), { label: 'y.gif' }), { instanceOf: ImageError });
  t.regex(e3!.message, /^y\.gif (is not an image|is truncated or corrupt|could not be decoded)/);
  const e4 = await t.throwsAsync(decodeImageFile(INSTALL_ROOT), { instanceOf: ImageError });
  t.regex(e4!.message, /directory/);
});

test('face crop encodes to JPEG of the requested size', async (t) => {
  const img = await decodeImageFile(sample1);
  const crop = await encodeFaceCrop(img, { x: 415, y: 388, width: 183, height: 227 }, { margin: 0.25 });
  const cm = await sharp(crop).metadata();
  t.is(cm.format, 'jpeg');
  t.is(cm.width, Math.ceil(415 + 183 * 1.25) - Math.floor(415 - 183 * 0.25));
});
