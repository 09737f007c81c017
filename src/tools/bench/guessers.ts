// Password guessers for `lfr bench tablet --guessers N` (issue 21: "password guessing must not slow
// alert delivery"). N workers, each from its own loopback address (127.0.0.20 + i: the van's
// throttles count per address, as N attackers' devices would be counted), each with one attempt
// in flight at a time and no pause between attempts (an attacker gains nothing by waiting, and
// the van must hold under the worst of it). Their targets, by mode:
//
//   'page'    what a van exposes to the van network: the tablet page's sign-in (GET /api/state
//             with a real officer ID and a wrong password, on a kept-alive TLS connection) and
//             its /mqtt proxy (a WebSocket upgrade with a made-up ticket, a new TLS connection
//             each time: the proxy closes a refused one), taken in turn;
//   'broker'  the page's two targets and, in turn with them, the broker's own WebSocket listener
//             directly: a TLS + WebSocket + MQTT CONNECT with a wrong password, which costs
//             single-threaded mosquitto a 50,000-round PBKDF2 each. On a van systemd closes that
//             listener to everything but loopback (IPAddressAllow=localhost); in the bench rig it
//             is open, which is what this mode measures.
//
// Counts of answers by target and kind (401, 429, refused, ...) are kept so the figure says what
// the load was. A tool, not the product: nothing here is imported by the daemon.
import https from 'node:https';
import mqtt from 'mqtt';
import WebSocket from 'ws';

export type GuessMode = 'page' | 'broker';

export interface GuessTargets {
  tabletPort: number;
  brokerWsPort: number;
  /** The van CA (trusted, as a real client would). */
  ca: Buffer;
  /** A real officer ID whose password is guessed (an unknown ID would cost the same on the page). */
  victim: string;
}

export interface GuessCounts {
  /** target -> answer -> count, e.g. { signin: { '401': 12, '429': 3400 } } */
  byTarget: Record<string, Record<string, number>>;
  attempts: number;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export class Guessers {
  private mode: GuessMode | null = null;
  private readonly workers: Promise<void>[] = [];
  private readonly agents: https.Agent[] = [];
  private stopped = false;
  private seq = 0;
  readonly counts: GuessCounts = { byTarget: {}, attempts: 0 };

  constructor(
    private readonly t: GuessTargets,
    readonly n: number,
  ) {}

  /** Whether the broker's WebSocket listener answers a CONNECT from here (and refuses a wrong password). */
  static async brokerReachable(t: GuessTargets): Promise<{ reachable: boolean; answer: string }> {
    const answer = await brokerGuess(t, 'probe', '127.0.0.1');
    return { reachable: answer === 'refused_credentials', answer };
  }

  /** Starts the workers (idle until a mode is set). */
  start(): void {
    for (let i = 0; i < this.n; i++) {
      const agent = new https.Agent({ keepAlive: true, maxSockets: 1, ca: this.t.ca });
      this.agents.push(agent);
      this.workers.push(this.work(`127.0.0.${20 + i}`, agent));
    }
  }

  /** What the workers guess at from now on (null: they pause). */
  set(mode: GuessMode | null): void {
    this.mode = mode;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.mode = null;
    await Promise.all(this.workers);
    for (const a of this.agents) a.destroy();
  }

  private count(target: string, answer: string): void {
    const m = (this.counts.byTarget[target] ??= {});
    m[answer] = (m[answer] ?? 0) + 1;
    this.counts.attempts++;
  }

  private async work(address: string, agent: https.Agent): Promise<void> {
    let turn = 0;
    while (!this.stopped) {
      const mode = this.mode;
      if (!mode) {
        await sleep(50);
        continue;
      }
      const targets = mode === 'broker' ? ['signin', 'proxy', 'broker'] : ['signin', 'proxy'];
      const target = targets[turn++ % targets.length]!;
      const guess = `wrong-${++this.seq}`;
      try {
        if (target === 'signin') this.count(target, await signInGuess(this.t, agent, address, guess));
        else if (target === 'proxy') this.count(target, await proxyGuess(this.t, address));
        else this.count(target, await brokerGuess(this.t, guess, address));
      } catch {
        this.count(target, 'error');
        await sleep(20);
      }
    }
  }
}

/** GET /api/state with a wrong password: the answer's status. */
function signInGuess(t: GuessTargets, agent: https.Agent, address: string, password: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = https.request(
      { host: '127.0.0.1', port: t.tabletPort, path: '/api/state', agent, localAddress: address, headers: { Authorization: `Basic ${Buffer.from(`${t.victim}:${password}`).toString('base64')}` } },
      (res) => {
        res.resume();
        res.on('end', () => resolve(String(res.statusCode ?? 0)));
      },
    );
    req.setTimeout(30_000, () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end();
  });
}

/** A WebSocket upgrade to the page's /mqtt with a made-up ticket: the answer's status. */
function proxyGuess(t: GuessTargets, address: string): Promise<string> {
  return new Promise((resolve) => {
    const ticket = Buffer.from(`${Date.now()}-${Math.random()}`).toString('base64url').padEnd(43, 'A').slice(0, 43);
    const ws = new WebSocket(`wss://127.0.0.1:${t.tabletPort}/mqtt?ticket=${ticket}`, 'mqtt', { ca: t.ca, localAddress: address, handshakeTimeout: 30_000 });
    ws.on('open', () => {
      ws.terminate();
      resolve('101');
    });
    ws.on('unexpected-response', (_req, res) => {
      resolve(String(res.statusCode ?? 0));
      ws.terminate();
    });
    ws.on('error', () => resolve('error'));
  });
}

/** An MQTT CONNECT with a wrong password straight to the broker's WebSocket listener. */
function brokerGuess(t: GuessTargets, password: string, address: string): Promise<string> {
  return new Promise((resolve) => {
    let done = false;
    const finish = (answer: string): void => {
      if (done) return;
      done = true;
      c.end(true);
      resolve(answer);
    };
    const c = mqtt.connect(`wss://127.0.0.1:${t.brokerWsPort}`, {
      ca: t.ca,
      username: t.victim,
      password,
      protocolVersion: 5,
      reconnectPeriod: 0,
      connectTimeout: 30_000,
      wsOptions: { localAddress: address },
    });
    c.on('connect', () => finish('connected'));
    c.on('error', (e: Error & { code?: number | string }) => finish(e.code === 134 || e.code === 135 || e.code === 4 || e.code === 5 ? 'refused_credentials' : `error_${String(e.code ?? 'other')}`));
    c.on('close', () => finish('closed'));
  });
}
