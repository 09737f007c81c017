// Unit: `lfr eval video --truth` (src/tools/eval/truth.ts): the truth file is read whole or
// refused naming the line; scoring attributes faces and alerts to people by time and box.
import test from 'ava';
import { parseTruth, scoreTruth, type Sighting } from '../../src/tools/eval/truth.js';
import { DatasetError } from '../../src/tools/eval/datasets.js';

const gallery = new Set(['Ann', 'Bob']);
const box = { x: 100, y: 100, width: 100, height: 120 };

test('a truth file that does not parse, names an unknown identity or overlaps one person is refused, naming the line', (t) => {
  t.throws(() => parseTruth('[\n {"identity": "Ann", "start": 0, "end": 1},\n {"identity": "Ann" "start": 2}\n]', 'f.json', gallery), { instanceOf: DatasetError, message: /f\.json line 3: not JSON/ });
  t.throws(() => parseTruth('[\n {"identity": "Ann", "start": 0, "end": 1},\n {"identity": "Zed", "start": 2, "end": 3}\n]', 'f.json', gallery), { instanceOf: DatasetError, message: /line 3: identity "Zed" is not in the gallery/ });
  t.throws(() => parseTruth('[\n {"identity": "Ann", "start": 0, "end": 2},\n {"identity": "Bob", "start": 1, "end": 3},\n {"identity": "Ann", "start": 1.5, "end": 3}\n]', 'f.json', gallery), { instanceOf: DatasetError, message: /line 4: "Ann" overlaps the span on line 2/ });
  t.throws(() => parseTruth('{"identity": "Ann"}', 'f.json', gallery), { message: /line 1: expected a JSON array/ });
  t.throws(() => parseTruth('[{"identity": "Ann", "start": 2, "end": 1}]', 'f.json', gallery), { message: /line 1: "end"/ });
  t.throws(() => parseTruth('[{"identity": "Ann", "start": 0, "end": 1, "box": [0, 0, 2, 1]}]', 'f.json', gallery), { message: /"box"/ });
  t.is(parseTruth('[{"identity": null, "start": 0, "end": 1}, {"identity": "Ann", "start": 1, "end": 2}]', 'f.json', gallery).length, 2, 'adjacent spans do not overlap');
});

test('scoring: alerted, time to alert, a wrong-identity alert, an identity switch', (t) => {
  const spans = parseTruth(JSON.stringify([
    { identity: 'Ann', start: 1, end: 3 },
    { identity: null, label: 'stranger', start: 3, end: 5 },
    { identity: 'Bob', start: 6, end: 8 },
  ]), 'f', gallery);
  const s = (at: number, trackId: number): Sighting => ({ at, trackId, box, frameWidth: 640, frameHeight: 360 });
  // Track 1 holds Ann and then the stranger (a switch); Bob is on track 2 and never alerted.
  const sightings = [s(1100, 1), s(2000, 1), s(3500, 1), s(6500, 2)];
  const alerts = [
    { identity: 'Ann', timeMs: 1400, track: 1, box, frameWidth: 640, frameHeight: 360 },
    { identity: 'Ann', timeMs: 4000, track: 1, box, frameWidth: 640, frameHeight: 360 },
  ];
  const r = scoreTruth(spans, sightings, alerts);
  t.is(r.alerted, 1);
  t.is(r.missed, 1);
  t.is(r.wrongIdentityAlerts, 1, 'Ann named on the stranger\'s face');
  t.is(r.identitySwitches, 1);
  const ann = r.people.find((p) => p.person === 'Ann')!;
  t.is(ann.timeToAlertMs, 400);
  t.is(r.people.find((p) => p.person === 'stranger')!.wrongAlerts, 1);
  t.is(r.people.find((p) => p.person === 'Bob')!.alerted, false);
});

test('scoring by box when two people are on screen; a face at a span edge is not attributed', (t) => {
  const spans = parseTruth(JSON.stringify([
    { identity: 'Ann', start: 0, end: 4, box: [0, 0, 0.5, 1] },
    { identity: 'Bob', start: 0, end: 4, box: [0.5, 0, 0.5, 1] },
  ]), 'f', gallery);
  const left = { x: 50, y: 100, width: 100, height: 120 };
  const right = { x: 450, y: 100, width: 100, height: 120 };
  const r = scoreTruth(spans, [
    { at: 1000, trackId: 1, box: left, frameWidth: 640, frameHeight: 360 },
    { at: 1000, trackId: 2, box: right, frameWidth: 640, frameHeight: 360 },
    { at: 4000, trackId: 1, box: right, frameWidth: 640, frameHeight: 360 },
  ], [{ identity: 'Bob', timeMs: 1000, track: 2, box: right, frameWidth: 640, frameHeight: 360 }]);
  t.is(r.identitySwitches, 0);
  t.is(r.unattributedFaces, 1);
  t.is(r.alerted, 1);
  t.is(r.wrongIdentityAlerts, 0);
});
