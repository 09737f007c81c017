// The proxy's publish budget (src/tablet/publish-budget.ts): per officer, and all officers
// together under the broker's queue for the daemon, with a reserve that keeps an honest officer's
// decision going through while others flood.
import test from 'ava';
import { readFileSync } from 'node:fs';
import { DAEMON_QUEUE, LIGHT_USE, PUBLISH_BURST, PUBLISH_PER_SECOND, PublishBudget, RESERVE, TOTAL_BURST, TOTAL_PER_SECOND } from '../../src/tablet/publish-budget.js';

const T0 = 1_000_000;

/** Publishes one at a time until refused; how many passed and why it stopped. */
function flood(b: PublishBudget, officer: string, max: number, now = T0): { passed: number; stop: string | null } {
  for (let i = 0; i < max; i++) {
    const r = b.take(officer, 1, now);
    if (r) return { passed: i, stop: r };
  }
  return { passed: max, stop: null };
}

test('one officer: 60 at once, then 2 a second', (t) => {
  const b = new PublishBudget();
  t.deepEqual(flood(b, 'PC1', 1000), { passed: PUBLISH_BURST, stop: 'officer' });
  t.is(b.take('PC1', 1, T0 + 400), 'officer', 'not yet a whole token back');
  t.is(b.take('PC1', 1, T0 + 1000 / PUBLISH_PER_SECOND), null);
});

test('officers flooding together never put more than the broker queue holds for the daemon; an honest officer still decides', (t) => {
  for (const flooders of [4, 5, 8, 10]) {
    const b = new PublishBudget();
    let through = 0;
    for (let i = 0; i < flooders; i++) through += flood(b, `PC${i}`, 2000).passed;
    t.true(through <= TOTAL_BURST - RESERVE + LIGHT_USE * flooders, `${flooders} flooders: ${through}`);
    t.true(through <= TOTAL_BURST && TOTAL_BURST < DAEMON_QUEUE, `${flooders} flooders put ${through} in the queue`);
    // The honest officer: a decision and its engagement outcome, at the same moment.
    if (flooders < RESERVE / LIGHT_USE) {
      t.is(b.take('HONEST', 1, T0), null, `${flooders} flooders: the honest decision passes`);
      t.is(b.take('HONEST', 1, T0), null);
    }
  }
});

test('a flooder is cut at the shared limit, not allowed into the reserve', (t) => {
  const b = new PublishBudget();
  t.deepEqual(flood(b, 'A', 2000), { passed: PUBLISH_BURST, stop: 'officer' });
  t.deepEqual(flood(b, 'B', 2000), { passed: PUBLISH_BURST, stop: 'officer' });
  const c = flood(b, 'C', 2000);
  t.deepEqual(c, { passed: TOTAL_BURST - RESERVE - 2 * PUBLISH_BURST, stop: 'total' });
  t.is(b.totalLeft, RESERVE);
  // A fresh account takes at most LIGHT_USE from the reserve before it counts as a flooder.
  t.deepEqual(flood(b, 'D', 2000), { passed: LIGHT_USE, stop: 'total' });
  // The total refills at TOTAL_PER_SECOND, and the reserve is made whole first.
  t.is(b.take('C', 1, T0 + (LIGHT_USE / TOTAL_PER_SECOND) * 1000), 'total', 'the refill goes to the reserve until it is whole again');
  t.deepEqual(flood(b, 'C', 2000, T0 + 1000), { passed: TOTAL_PER_SECOND - LIGHT_USE, stop: 'total' }, 'then to anyone within their own budget');
});

test('the total stays under the broker queue the config template sets (20 in flight + max_queued_messages)', (t) => {
  const template = readFileSync(new URL('../../../config/mosquitto/lfr.conf.template', import.meta.url), 'utf8');
  const queued = Number(/^max_queued_messages (\d+)$/m.exec(template)?.[1]);
  const inflight = Number(/^max_inflight_messages (\d+)$/m.exec(template)?.[1] ?? 20); // mosquitto's default
  t.is(queued + inflight, DAEMON_QUEUE, 'DAEMON_QUEUE names what the template sets');
  t.true(TOTAL_BURST + 10 <= DAEMON_QUEUE, 'room left for the daemon\'s own clearing messages and the bridge');
  t.true(TOTAL_PER_SECOND >= 5 * PUBLISH_PER_SECOND, 'five officers at their own rate fit the total');
});
