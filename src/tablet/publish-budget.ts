// How many MQTT publishes (decisions) the page server's proxy lets through to the broker: per
// officer, and for all officers together. Pure (the clock comes in as `now`).
//
// Why a total: everything the tablets publish ends up in ONE queue, the broker's queue for the
// daemon's session, which mosquitto 2.0.11 caps at max_inflight_messages (20, the default) +
// max_queued_messages (200, config/mosquitto/lfr.conf.template, global to every client) = 220
// messages; beyond that it drops messages SILENTLY (only a notice in its own log: "Outgoing
// messages are being dropped for client lfr-..."), whoever sent them. Per officer, 60 at once is
// safe; four officers at 60 at once are not (240). So the proxy also holds all officers together
// to TOTAL_BURST at once and TOTAL_PER_SECOND after that (the daemon takes decisions off the
// broker far faster: a refused or over-limit one costs it no database write), which keeps the
// queue under 220 whatever the officers do.
//
// Why a reserve: a plain total would let four flooders use it up and then cut the honest officer
// who decides next. The last RESERVE publishes of the total are for officers who have published
// at most LIGHT_USE in their own recent budget (a decision, its engagement outcome, a resend):
// a flooder is cut at the shared limit, the honest officer still gets through. A flooder needs an
// account of its own per LIGHT_USE publishes taken from the reserve (ten accounts to empty it),
// and it refills at TOTAL_PER_SECOND (4 s). Beyond that an honest decision is refused by the proxy,
// audited, and the page resends it on reconnect: refused in the open, never dropped unseen.

/**
 * Decisions an officer may publish at once, and per second after that: the daemon's own limit
 * (alerts/service.ts OFFICER_BURST, OFFICER_PER_SECOND). A shift's real decisions are rarely over 20.
 */
export const PUBLISH_BURST = 60;
export const PUBLISH_PER_SECOND = 2;
/** The broker's queue for the daemon's session: max_inflight_messages 20 + max_queued_messages 200. */
export const DAEMON_QUEUE = 220;
/**
 * All officers together, at once: 20 under DAEMON_QUEUE, left for the daemon's own clearing of a
 * retained decision (it subscribes to the topic it clears) and the HQ bridge's acknowledgements.
 */
export const TOTAL_BURST = 200;
/** All officers together, per second after the burst: five officers at their own 2/s. */
export const TOTAL_PER_SECOND = 10;
/** The last part of TOTAL_BURST, kept for officers who have published little (see above). */
export const RESERVE = 40;
/** An officer who has used at most this many of their own budget may take from the reserve. */
export const LIGHT_USE = 4;

interface Bucket {
  tokens: number;
  at: number;
}

export type Refusal = 'officer' | 'total';

export class PublishBudget {
  private readonly officers = new Map<string, Bucket>();
  private readonly total: Bucket = { tokens: TOTAL_BURST, at: Number.NEGATIVE_INFINITY };

  constructor(private readonly maxOfficers = 2048) {}

  /** Takes n publishes for the officer; null when allowed, else which limit refused (nothing taken). */
  take(officerId: string, n: number, now: number): Refusal | null {
    let b = this.officers.get(officerId);
    if (!b) {
      if (this.officers.size >= this.maxOfficers) this.officers.delete(this.officers.keys().next().value!);
      this.officers.set(officerId, (b = { tokens: PUBLISH_BURST, at: now }));
    }
    refill(b, PUBLISH_BURST, PUBLISH_PER_SECOND, now);
    refill(this.total, TOTAL_BURST, TOTAL_PER_SECOND, now);
    if (b.tokens < n) return 'officer';
    const light = PUBLISH_BURST - (b.tokens - n) <= LIGHT_USE;
    const floor = light ? 0 : RESERVE;
    if (this.total.tokens - n < floor) return 'total';
    b.tokens -= n;
    this.total.tokens -= n;
    return null;
  }

  /** Publishes all officers may still make at once (tests, health). */
  get totalLeft(): number {
    return Math.floor(this.total.tokens);
  }
}

function refill(b: Bucket, burst: number, perSecond: number, now: number): void {
  b.tokens = Number.isFinite(b.at) ? Math.min(burst, b.tokens + (Math.max(0, now - b.at) / 1000) * perSecond) : b.tokens;
  b.at = now;
}
