// The photo check's pure parts (issue 25): the 1:1 score touches one subject's templates only,
// the verdict rule, the face choice, the unusable reasons, the rate limit, the 1:1 calibration
// shipped in models/, a decision citing a check, and the report's counts. The van-level proof
// (fake tablet camera, forensics) is test/integration/photo-check.test.ts.
import test from 'ava';
import path from 'node:path';
import { Gallery } from '../../src/match/gallery.js';
import { loadOneToOne, verdictOf, OneToOneError } from '../../src/match/one-to-one.js';
import { meanLuma, pickPhotoFace, RateLimiter, unusableReasons, MIN_FACE_LUMA } from '../../src/tablet/photo-check-rules.js';
import { SCHEMA } from '../../src/mqtt/topics.js';
import { parseDecision } from '../../src/mqtt/decision.js';
import { photoCheckCounts } from '../../src/deployment/report.js';
import { findModel, loadManifest } from '../../src/vision/manifest.js';
import { INSTALL_ROOT } from '../../src/paths.js';
import type { FaceDetection, FaceQuality } from '../../src/vision/types.js';

const unit = (v: number[]): Float32Array => {
  const a = Float32Array.from(v);
  const n = Math.hypot(...a);
  return a.map((x) => x / n);
};

test('scoreSubject compares with that subject only: the best of its templates, never another row', (t) => {
  const g = new Gallery(3);
  g.add([
    { subjectId: 'a', embedding: unit([1, 0, 0]) },
    { subjectId: 'a', embedding: unit([1, 1, 0]) },
    { subjectId: 'b', embedding: unit([0, 1, 0]) },
  ]);
  const probe = unit([0, 1, 0]);
  t.is(g.scoreSubject(probe, 'b'), 1);
  // The probe is subject b exactly, but a check on subject a's alert answers about a only.
  t.true(Math.abs(g.scoreSubject(probe, 'a')! - Math.SQRT1_2) < 1e-6);
  t.is(g.scoreSubject(probe, 'nobody'), null);
  t.throws(() => g.scoreSubject(unit([1, 0]), 'a'));
});

test('verdict: at or above the 1:1 threshold "same person likely", below "not supported"', (t) => {
  t.is(verdictOf(0.42, 0.42), 'same_person_likely');
  t.is(verdictOf(0.4199, 0.42), 'not_supported');
});

const det = (x: number, size: number, score = 0.95): FaceDetection => ({ box: { x, y: 0, width: size, height: size }, score, landmarks: [] });
const gates = { minInterEyePx: 30, minSharpness: 25, maxYawDeg: 25, maxPitchDeg: 25, minDetectorScore: 0.8 };

test('the photo must show one person: none, or two faces of similar size, are refused; a small background face is not a second person', (t) => {
  t.deepEqual(pickPhotoFace([], gates), { refused: 'no_face' });
  t.deepEqual(pickPhotoFace([det(0, 200), det(300, 150)], gates), { refused: 'several_faces' });
  const big = det(0, 200);
  t.deepEqual(pickPhotoFace([det(300, 60), big], gates), { face: big });
  // A faint detection below the gate never counts as a second person.
  t.deepEqual(pickPhotoFace([big, det(300, 200, 0.5)], gates), { face: big });
});

test('unusable reasons: the gate\'s codes and darkness, once each', (t) => {
  const q = (codes: string[]): FaceQuality => ({ interEyePx: 0, faceHeightPx: 0, sharpness: 0, yawDeg: 0, pitchDeg: 0, rollDeg: 0, detectorScore: 0, ok: codes.length === 0, reasons: codes.map((c) => ({ code: c as 'pose', message: c })) });
  t.deepEqual(unusableReasons(q([]), 120), []);
  t.deepEqual(unusableReasons(q(['pose', 'blurred']), 120), ['pose', 'blurred']);
  t.deepEqual(unusableReasons(q([]), MIN_FACE_LUMA - 1), ['too_dark']);
  const dark = { width: 112, height: 112, data: new Uint8Array(112 * 112 * 3).fill(20) };
  const light = { width: 112, height: 112, data: new Uint8Array(112 * 112 * 3).fill(200) };
  t.true(meanLuma(dark) < MIN_FACE_LUMA && meanLuma(light) > MIN_FACE_LUMA);
});

test('rate limit: N attempts per officer per window, then seconds to wait; other officers unaffected', (t) => {
  const r = new RateLimiter(2, 60_000);
  t.is(r.take('a', 0), 0);
  t.is(r.take('a', 1000), 0);
  t.is(r.take('a', 2000), 58);
  t.is(r.take('b', 2000), 0);
  t.is(r.take('a', 60_001), 0, 'the first attempt left the window');
});

test('the shipped 1:1 calibration matches the default embedder, and its thresholds rise as the false-match rate falls', async (t) => {
  const modelsDir = path.join(INSTALL_ROOT, 'models');
  const entry = findModel(await loadManifest(modelsDir), 'faceplugin-feature-int8', 'embedder');
  const p3 = (await loadOneToOne(modelsDir, entry, false, 1e-3)).point;
  const p4 = (await loadOneToOne(modelsDir, entry, false, 1e-4)).point;
  const p5 = (await loadOneToOne(modelsDir, entry, false, 1e-5)).point;
  t.true(p3.threshold < p4.threshold && p4.threshold < p5.threshold);
  t.true(p3.tar >= p4.tar && p4.tar >= p5.tar);
  await t.throwsAsync(loadOneToOne(modelsDir, entry, true, 1e-4), { instanceOf: OneToOneError, message: /mirrorAugment/ });
  await t.throwsAsync(loadOneToOne(modelsDir, { ...entry, sha256: '0'.repeat(64) }, false, 1e-4), { instanceOf: OneToOneError, message: /other embedder bytes/ });
  await t.throwsAsync(loadOneToOne(modelsDir, entry, false, 1e-2), { instanceOf: OneToOneError, message: /no point/ });
});

test('a decision may cite a photo check by its id, nothing else', (t) => {
  const me = { officerId: 'PC1', alertId: 'a1' };
  const base = { schema: SCHEMA, alertId: 'a1', outcome: 'false_alert', decidedAt: '2026-12-04T18:00:00Z' };
  const buf = (o: object): Buffer => Buffer.from(JSON.stringify(o));
  t.like(parseDecision(me, buf({ ...base, photoCheck: 'chk-0123456789abcdef' })) as object, { photoCheck: 'chk-0123456789abcdef' });
  t.regex(parseDecision(me, buf({ ...base, photoCheck: 'John Smith' })) as string, /photoCheck must be/);
  t.false('photoCheck' in (parseDecision(me, buf(base)) as object));
});

test('the report counts checks by outcome and decisions citing one', (t) => {
  const a = (same: number, not: number, unusable: number, cited: boolean) => ({ alertId: 'x', camera: 'c', capturedAt: 0, outcome: null, engagement: null, decidedAt: null, late: false, photoChecks: { same_person_likely: same, not_supported: not, photo_unusable: unusable }, citedCheck: cited });
  t.deepEqual(photoCheckCounts(true, [a(1, 0, 2, true), a(0, 1, 0, false)]), { enabled: true, made: 4, sameLikely: 1, notSupported: 1, unusable: 2, decisionsCitingACheck: 1 });
  t.deepEqual(photoCheckCounts(false, []), { enabled: false, made: 0, sameLikely: 0, notSupported: 0, unusable: 0, decisionsCitingACheck: 0 });
});
