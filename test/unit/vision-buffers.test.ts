// Owned, reused face buffers (src/buffers/pools.ts): one lease per frame, wiped at its one
// release point, reused by the next frame; the audit reads the buffers themselves.
import test from 'ava';
import { BufferPools, isAllZero, withLease } from '../../src/buffers/pools.js';
import { frameOf } from '../../src/ingest/frame.js';
import { FairQueue } from '../../src/vision/pool/fair-queue.js';

test('a lease wipes every buffer at release and the next lease reuses them', (t) => {
  const pools = new BufferPools('main');
  const a = pools.lease();
  const f = a.u8('frame', 1000, { shared: true });
  const e = a.f32('embedding', 512);
  f.fill(9);
  e.fill(0.5);
  t.true(f.buffer instanceof SharedArrayBuffer);
  let hooked = 0;
  a.onRelease(() => hooked++);
  a.release();
  a.release(); // idempotent
  t.is(hooked, 1);
  t.true(isAllZero(f) && isAllZero(e));
  const b = pools.lease();
  t.is(b.u8('frame', 1000, { shared: true }), f, 'the same buffer serves the next frame');
  t.not(b.u8('frame', 1000), f, 'shared and private buffers are kept apart');
  t.throws(() => a.f32('embedding', 512), { message: /after release/ });
  b.release();
});

test('audit counts buffers, bytes and in-use ones, and finds a released buffer that holds data', (t) => {
  const pools = new BufferPools('worker-0');
  const a = pools.lease();
  const x = a.f32('aligned', 100);
  const y = a.u8('aligned', 30);
  a.release();
  const b = pools.lease();
  b.f32('detector-input', 10);
  let audit = pools.audit();
  const aligned = audit.find((p) => p.pool === 'aligned')!;
  t.like(aligned, { thread: 'worker-0', buffers: 2, bytes: 430, inUse: 0, released: 2, releasedNotZero: 0, acquired: 2 });
  t.like(audit.find((p) => p.pool === 'detector-input')!, { buffers: 1, inUse: 1, released: 0 });
  // Something writes into a released buffer (a bug the audit must show): counted, not shown.
  x[50] = 1;
  audit = pools.audit();
  t.is(audit.find((p) => p.pool === 'aligned')!.releasedNotZero, 1);
  t.false(JSON.stringify(audit).includes('"data"'));
  y.fill(0);
  b.release();
});

test('withLease releases a scratch lease even when the work throws', async (t) => {
  let seen: Float32Array | null = null;
  await t.throwsAsync(
    withLease(undefined, async (l) => {
      seen = l.f32('quality', 8).fill(3);
      throw new Error('boom');
    }),
  );
  t.true(seen !== null && isAllZero(seen));
});

test('frameOf: a frame that did not come from ingest is zeroed by its lease too', (t) => {
  const data = new Uint8Array(12).fill(200);
  const f = frameOf('cam', 1, 0, { width: 2, height: 2, data });
  f.lease.release();
  t.true(isAllZero(data));
});

test('isAllZero spans more than its 1 MB comparison block', (t) => {
  const b = new Uint8Array(3 * 2 ** 20 + 5);
  t.true(isAllZero(b));
  b[b.length - 1] = 1;
  t.false(isAllZero(b));
});

test('fair queue: cameras are served in turn, a backlog does not starve another camera', (t) => {
  const q = new FairQueue<string>();
  for (let i = 0; i < 4; i++) q.push('a', `a${i}`);
  q.push('b', 'b0');
  q.push('c', 'c0');
  const order = [q.shift(), q.shift(), q.shift(), q.shift()];
  t.deepEqual(order, ['a0', 'b0', 'c0', 'a1']);
  q.push('b', 'b1');
  t.is(q.shift(), 'b1', 'b had waited longer than a');
  t.is(q.size, 2);
  t.deepEqual(q.drain(), ['a2', 'a3']);
  t.is(q.shift(), undefined);
});

test("sharp's cache is off in the product (src/vision/sharp.ts): no decoded or encoded face lingers in libvips", async (t) => {
  const sharp = (await import('../../src/vision/sharp.js')).default;
  const c = sharp.cache() as { memory: { max: number }; items: { max: number }; files: { max: number } };
  t.is(c.memory.max, 0);
  t.is(c.items.max, 0);
  t.is(c.files.max, 0);
});
