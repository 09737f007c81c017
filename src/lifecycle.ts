// The tiny lifecycle every long-lived part of the daemon shares (GUIDE practice 2). Constructors
// only build objects; start() does the I/O and honours the AbortSignal; stop() must be safe to
// call after a failed or partial start.
export interface Component {
  readonly name: string;
  start(signal: AbortSignal): Promise<void>;
  stop(): Promise<void>;
}

/** Milliseconds since the epoch. Injected everywhere time matters so tests can move it. */
export type Clock = () => number;
export const systemClock: Clock = () => Date.now();

/** A Component from two functions: for parts whose own class has another lifecycle (open/close). */
export function component(name: string, start: (signal: AbortSignal) => Promise<void> | void, stop: () => Promise<void> | void): Component {
  return {
    name,
    start: async (signal) => {
      await start(signal);
    },
    stop: async () => {
      await stop();
    },
  };
}
