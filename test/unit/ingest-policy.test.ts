import test from 'ava';
import { backoffDelay, plainReason, RateMeter, watchdog } from '../../src/ingest/supervision.js';
import { FrameQueue } from '../../src/ingest/frame-queue.js';
import { parseCredentials, CredentialsError } from '../../src/ingest/credentials.js';

const policy = { initialMs: 1000, maxMs: 30000 };

test('back-off grows exponentially up to the ceiling, with full jitter', (t) => {
  t.is(backoffDelay(0, policy, () => 0.999999), 999);
  t.is(backoffDelay(3, policy, () => 0.999999), 7999);
  t.is(backoffDelay(10, policy, () => 0.999999), 29999);
  t.is(backoffDelay(1000, policy, () => 0.5), 15000);
  t.is(backoffDelay(5, policy, () => 0), 0);
  const seen = new Set<number>();
  for (let i = 0; i < 50; i++) seen.add(backoffDelay(4, policy, Math.random));
  t.true(seen.size > 10, 'jitter spreads delays');
  for (const v of seen) t.true(v >= 0 && v < 16000);
});

test('watchdog: live camera stalls after stallTimeoutMs without a frame', (t) => {
  const base = { connectStartedAt: 0, stallTimeoutMs: 5000, connectTimeoutMs: 10_000 };
  t.is(watchdog({ ...base, state: 'live', now: 10_000, lastFrameAt: 6000 }), 'ok');
  t.is(watchdog({ ...base, state: 'live', now: 11_001, lastFrameAt: 6000 }), 'stalled');
  t.is(watchdog({ ...base, state: 'connecting', now: 10_000, lastFrameAt: null }), 'ok');
  t.is(watchdog({ ...base, state: 'connecting', now: 10_001, lastFrameAt: null }), 'connect-timeout');
  t.is(watchdog({ ...base, state: 'failed', now: 1e9, lastFrameAt: 0 }), 'ok');
  t.is(watchdog({ ...base, state: 'stopped', now: 1e9, lastFrameAt: 0 }), 'ok');
});

test('rate meter measures frames per second over its window', (t) => {
  const m = new RateMeter(3000);
  t.is(m.rate(), 0);
  for (let i = 0; i <= 20; i++) m.sample(i * 250, i * 2.5); // 10 fps
  t.true(Math.abs(m.rate() - 10) < 1e-9);
});

test('GStreamer errors become plain reasons that keep the original text', (t) => {
  t.regex(plainReason('src: Could not open resource for reading and writing.'), /^cannot connect to the camera/);
  t.regex(plainReason('src: Not found'), /not found on the camera/);
  t.regex(plainReason('src: Unauthorized'), /refused the credentials/);
  t.regex(plainReason('src: Internal data stream error.'), /cannot be decoded/);
  t.regex(plainReason('x: something new'), /^stream error \[x: something new\]$/);
});

test('frame queue drops the oldest when full, counts and hands drops for wiping', (t) => {
  const wiped: number[] = [];
  const q = new FrameQueue<number>(2, (n) => wiped.push(n));
  q.push(1);
  q.push(2);
  t.true(q.full);
  q.push(3);
  q.push(4);
  t.deepEqual(wiped, [1, 2]);
  t.is(q.dropped, 2);
  t.is(q.shift(), 3);
  q.clear();
  t.deepEqual(wiped, [1, 2, 4]);
  t.is(q.dropped, 2, 'clear on stop is not a drop');
  t.throws(() => new FrameQueue<number>(0, () => {}));
});

test('credentials parse "user:password" and errors never show the content', (t) => {
  t.deepEqual(parseCredentials('admin:p:ss:w0rd\n', 'f'), { user: 'admin', password: 'p:ss:w0rd' });
  const e = t.throws(() => parseCredentials('nocolon-secret', '/etc/lfr/cam1.cred'), { instanceOf: CredentialsError });
  t.false(e!.message.includes('nocolon-secret'));
  t.throws(() => parseCredentials(':pw', 'f'));
  t.throws(() => parseCredentials('a:b\nc:d', 'f'));
});
