// Liveness that means something (src/health/analysis.ts): pure verdicts on analysis progress and
// on the inference workers.
import test from 'ava';
import { checkAnalysis, checkInference, checkPace, stalledCameras } from '../../src/health/analysis.js';

test('a live camera whose analysis sits on one frame past the limit is stalled; idle or not-live ones are not', (t) => {
  const now = 100_000;
  const cams = [
    { camera: 'a', state: 'live', busySince: now - 40_000 },
    { camera: 'b', state: 'live', busySince: now - 1_000 },
    { camera: 'c', state: 'live', busySince: null },
    { camera: 'd', state: 'failed', busySince: now - 90_000 },
  ];
  t.deepEqual(stalledCameras(cams, now, 30_000), ['a']);
  const c = checkAnalysis(cams, now, 30_000);
  t.is(c.level, 'FAIL');
  t.regex(c.message, /analysis of a has made no progress for over 30 s/);
  t.is(checkAnalysis(cams.slice(1), now, 30_000).level, 'OK');
});

test('inference workers: all up OK, a restarted one WARNs with its reason, one down WARNs, all down FAIL; lost frames per camera', (t) => {
  const up = { index: 0, state: 'ready' as const, restarts: 0, lastError: null };
  t.is(checkInference([up, { ...up, index: 1 }], {}).level, 'OK');
  const restarted = checkInference([up, { ...up, index: 1, restarts: 2, lastError: 'crashed: out of memory' }], { north: 3 });
  t.is(restarted.level, 'WARN');
  t.regex(restarted.message, /worker 1 \(2x, last: crashed: out of memory\).*north 3/);
  const down = checkInference([up, { index: 1, state: 'down', restarts: 1, lastError: 'stuck: one request ran over 10000 ms' }], {});
  t.is(down.level, 'WARN');
  t.regex(down.message, /1 of 2 inference workers down.*worker 1: stuck/);
  const all = checkInference([{ index: 0, state: 'down', restarts: 3, lastError: 'models failed to load: x' }], { north: 10 });
  t.is(all.level, 'FAIL');
  t.regex(all.message, /every inference worker is down/);
});

test('a camera analysed slower than the miss window WARNs with its analysed rate (issue 19)', (t) => {
  t.is(checkPace([{ camera: 'north-1', analysedFps: 9.8, lastIntervalMs: 100, slow: false, slowSince: null }], 1000), null);
  const c = checkPace([{ camera: 'north-1', analysedFps: 0.4, lastIntervalMs: 2500, slow: true, slowSince: 1 }], 1000)!;
  t.is(c.level, 'WARN');
  t.regex(c.message, /north-1 at 0\.4 frames\/s \(last two 2500 ms apart\)/);
});
