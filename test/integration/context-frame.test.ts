// The alert's context frame (src/vision/context-frame.ts) on a real photo with the real detector:
// of demo photo 3's three women, one is the subject; the frame keeps her (outlined) and masks the
// two others so that the detector finds exactly one face. Unit-level: the running van's version of
// this check is in safeguards.test.ts.
import sharp from 'sharp';
import { needs } from '../helpers/prereq.js';
import { parseConfig } from '../../src/config/load.js';
import { silentLogger } from '../../src/log.js';
import { createFaceEngine } from '../../src/vision/engine.js';
import { decodeImage, decodeImageFile } from '../../src/vision/decode.js';
import { contextFrame } from '../../src/vision/context-frame.js';
import { demoPhoto } from '../helpers/faces.js';

const { test } = needs(['models', 'demo-photos']);

test('context frame: bystanders masked (one detectable face left), subject outlined, width as configured', async (t) => {
  const engine = await createFaceEngine(parseConfig({}), silentLogger());
  t.teardown(() => engine.close());
  const img = await decodeImageFile(demoPhoto(3));
  const faces = await engine.detect(img);
  t.is(faces.length, 3);
  const [subject, ...others] = [...faces].sort((a, b) => a.box.x - b.box.x).map((f) => f.box);
  const { jpeg, masked } = await contextFrame(engine, img, subject!, others, { contextWidth: 640 });
  t.true(masked >= 2);
  const meta = await sharp(jpeg).metadata();
  t.is(meta.width, 640);
  const seen = await engine.detect(await decodeImage(jpeg));
  t.is(seen.length, 1, JSON.stringify(seen.map((f) => f.box)));
  const s = 640 / img.width;
  t.true(Math.abs(seen[0]!.box.x - subject!.x * s) < subject!.width * s * 0.5, 'the face left is the subject');
  // The outline: high-visibility yellow pixels around the subject's box.
  const raw = await decodeImage(jpeg);
  const y = Math.round((subject!.y - subject!.height * 0.1) * s) - 2;
  let yellow = 0;
  for (let x = Math.round(subject!.x * s); x < Math.round((subject!.x + subject!.width) * s); x++) {
    const i = (y * raw.width + x) * 3;
    if (raw.data[i]! > 200 && raw.data[i + 1]! > 170 && raw.data[i + 2]! < 90) yellow++;
  }
  t.true(yellow > 10, `outline pixels on the top edge: ${yellow}`);
});
