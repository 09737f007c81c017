// ONE guard against clock steps, shared by everything that deletes on time (alert retention,
// the watchlist's 24 h life, the import record). Two halves:
//   - guardedClock(): inside the running daemon the wall clock may step back (NTP, an operator,
//     root with `date -s`) as often as it likes; the guarded clock never goes back from the wall
//     time at start plus the MONOTONIC time since (performance.now, CLOCK_MONOTONIC: no one sets
//     it). Repeated backwards steps therefore keep nothing alive. A forward step is followed: data
//     then goes EARLIER, the safe direction.
//   - stampAhead(): across a restart nothing monotonic survives, so a record stamped further ahead
//     of the clock than CLOCK_STEP_TOLERANCE_MS cannot prove it is young: it is treated as due.
import type { Clock } from '../lifecycle.js';

/** A stamp this far ahead of the clock means the clock went back. A minute covers a slow NTP slew. */
export const CLOCK_STEP_TOLERANCE_MS = 60_000;

/** True when `stamp` (ms) is in the future by more than the tolerance, or not a time at all. */
export function stampAhead(stamp: number, now: number): boolean {
  return !Number.isFinite(stamp) || stamp > now + CLOCK_STEP_TOLERANCE_MS;
}

/** A clock that never runs behind (wall at creation + monotonic elapsed); follows forward steps. */
export function guardedClock(wall: Clock, monotonic: () => number = () => performance.now()): Clock {
  const wall0 = wall();
  const mono0 = monotonic();
  return () => Math.max(wall(), wall0 + (monotonic() - mono0));
}
