// `lfr bench tablet --guessers N`: alert delivery to the tablet with and without password guessers,
// side by side in ONE run on the same van, page and box. The run alternates windows of
// WINDOW_MS: no guessers; N guessers on the page's sign-in and /mqtt proxy; and, when the broker's
// WebSocket listener is reachable from the guessers (the bench rig: no systemd in front of it),
// N guessers on those two and on the broker directly (src/tools/bench/guessers.ts). Alternating
// rather than running one condition after the other keeps the box's own drift (other jobs, the
// camera loop, Chromium) out of the comparison.
//
// An alert counts for a window when the van raised it at least SETTLE_MS after the window began
// (attempts of the previous mode have finished) and before it ended (guesses and the bench's CPU
// are counted over the same span); the window's mode is kept
// until every such alert is on the screen (at most DRAIN_MS more), so a slow delivery is measured
// under the load that slowed it, never cut off. An alert not drawn by then counts as not delivered.
import { Guessers, type GuessCounts, type GuessMode, type GuessTargets } from './guessers.js';

export const WINDOW_MS = 15_000;
export const SETTLE_MS = 2_000;
export const DRAIN_MS = 15_000;

type Mode = 'none' | GuessMode;

/** What the bench reads from the page and the van (all times: this machine's clock, ms). */
export interface DeliveryProbe {
  /** alertId -> the van's raisedAt. */
  raised(): Promise<Map<string, number>>;
  /** alertId -> when the card had both faces drawn (the page's lfrDrawnAt). */
  drawn(): Promise<Record<string, number>>;
  /** alertId -> when the MQTT message reached the page (lfrMessageAt). */
  message(): Promise<Record<string, number>>;
}

export interface GuessingCondition {
  /** none; page (sign-in API + /mqtt proxy); broker (those and the broker's WebSocket listener directly). */
  mode: Mode;
  guessers: number;
  alerts: number;
  /** Alerts raised in this condition's windows that were not on the screen DRAIN_MS after the window. */
  notDelivered: number;
  raiseToScreenP50Ms: number;
  raiseToScreenP95Ms: number;
  raiseToScreenMaxMs: number;
  raiseToMessageP50Ms: number;
  raiseToMessageP95Ms: number;
  /** Guesses made in this condition's windows, by target and answer, and their rate. */
  guesses: GuessCounts['byTarget'];
  guessesPerSecond: number;
  /** Seconds counted (each window from the end of its settle time to the last delivery). */
  seconds: number;
  /**
   * CPU the bench process used meanwhile (% of one core): mostly the guessers themselves, which on
   * a van would run on the attackers' devices but here share the box with the van.
   */
  benchCpuPercent: number;
}

export interface GuessingResult {
  guessers: number;
  windowSeconds: number;
  /** Whether the guessers reached the broker's WebSocket listener itself (a wrong password refused by mosquitto). */
  brokerWsReachable: boolean;
  brokerWsProbe: string;
  conditions: GuessingCondition[];
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const quantile = (sorted: number[], q: number): number => (sorted.length ? sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)]! : Number.NaN);
const round1 = (v: number): number => Math.round(v * 10) / 10;

function diff(after: GuessCounts, before: GuessCounts): GuessCounts['byTarget'] {
  const out: GuessCounts['byTarget'] = {};
  for (const [target, answers] of Object.entries(after.byTarget)) {
    for (const [answer, n] of Object.entries(answers)) {
      const d = n - (before.byTarget[target]?.[answer] ?? 0);
      if (d > 0) (out[target] ??= {})[answer] = d;
    }
  }
  return out;
}

const copy = (c: GuessCounts): GuessCounts => ({ attempts: c.attempts, byTarget: Object.fromEntries(Object.entries(c.byTarget).map(([k, v]) => [k, { ...v }])) });

function add(into: GuessCounts['byTarget'], d: GuessCounts['byTarget']): void {
  for (const [target, answers] of Object.entries(d)) for (const [answer, n] of Object.entries(answers)) (into[target] ??= {})[answer] = (into[target]?.[answer] ?? 0) + n;
}

/**
 * Runs the alternating windows until each condition has `perMode` delivered alerts. Also returns
 * the ids of the alerts delivered with no guessers (the bench's usual figures are taken over those).
 */
export async function compareUnderGuessing(probe: DeliveryProbe, targets: GuessTargets, guessers: number, perMode: number, timeoutMs: number): Promise<{ result: GuessingResult; quietIds: string[] }> {
  const reach = await Guessers.brokerReachable(targets);
  const modes: Mode[] = reach.reachable ? ['none', 'page', 'broker'] : ['none', 'page'];
  const acc = new Map<Mode, { ids: string[]; notDelivered: number; guesses: GuessCounts['byTarget']; attempts: number; ms: number; cpuUs: number }>(modes.map((m) => [m, { ids: [], notDelivered: 0, guesses: {}, attempts: 0, ms: 0, cpuUs: 0 }]));
  const assigned = new Set<string>();
  const g = new Guessers(targets, guessers);
  g.start();
  const deadline = Date.now() + timeoutMs;
  try {
    for (let w = 0; modes.some((m) => acc.get(m)!.ids.length < perMode); w++) {
      if (Date.now() > deadline) throw new Error(`alerts under guessing: ${modes.map((m) => `${m} ${acc.get(m)!.ids.length}`).join(', ')} of ${perMode} each in ${Math.round(timeoutMs / 1000)} s`);
      const mode = modes[w % modes.length]!;
      const a = acc.get(mode)!;
      g.set(mode === 'none' ? null : mode);
      const start = Date.now();
      // Guesses and CPU are counted from the end of the settle time too: attempts of the previous
      // mode still in flight belong to it.
      await sleep(SETTLE_MS);
      const before = copy(g.counts);
      const cpu0 = process.cpuUsage();
      const counted = Date.now();
      await sleep(WINDOW_MS - SETTLE_MS);
      const end = Date.now();
      let ids: string[] = [];
      let drawn: Record<string, number> = {};
      for (const until = end + DRAIN_MS; ; ) {
        const raised = await probe.raised();
        ids = [...raised].filter(([id, t]) => t >= start + SETTLE_MS && t <= end && !assigned.has(id)).map(([id]) => id);
        drawn = await probe.drawn();
        if (ids.every((id) => drawn[id] !== undefined) || Date.now() > until) break;
        await sleep(250);
      }
      const after = copy(g.counts);
      const cpu = process.cpuUsage(cpu0);
      g.set(null);
      add(a.guesses, diff(after, before));
      a.attempts += after.attempts - before.attempts;
      a.ms += Date.now() - counted;
      a.cpuUs += cpu.user + cpu.system;
      for (const id of ids) {
        assigned.add(id);
        if (drawn[id] !== undefined) a.ids.push(id);
        else a.notDelivered++;
      }
    }
  } finally {
    await g.stop();
  }
  const [raised, drawn, message] = [await probe.raised(), await probe.drawn(), await probe.message()];
  const conditions = modes.map((mode): GuessingCondition => {
    const a = acc.get(mode)!;
    const sorted = (f: (id: string) => number) => a.ids.map(f).filter(Number.isFinite).sort((x, y) => x - y);
    const screen = sorted((id) => drawn[id]! - raised.get(id)!);
    const msg = sorted((id) => (message[id] ?? Number.NaN) - raised.get(id)!);
    return {
      mode,
      guessers: mode === 'none' ? 0 : guessers,
      alerts: a.ids.length,
      notDelivered: a.notDelivered,
      raiseToScreenP50Ms: round1(quantile(screen, 0.5)),
      raiseToScreenP95Ms: round1(quantile(screen, 0.95)),
      raiseToScreenMaxMs: round1(screen[screen.length - 1] ?? Number.NaN),
      raiseToMessageP50Ms: round1(quantile(msg, 0.5)),
      raiseToMessageP95Ms: round1(quantile(msg, 0.95)),
      guesses: a.guesses,
      guessesPerSecond: round1(a.attempts / (a.ms / 1000)),
      seconds: round1(a.ms / 1000),
      benchCpuPercent: round1((a.cpuUs / 1000 / a.ms) * 100),
    };
  });
  return { result: { guessers, windowSeconds: WINDOW_MS / 1000, brokerWsReachable: reach.reachable, brokerWsProbe: reach.answer, conditions }, quietIds: acc.get('none')!.ids };
}
