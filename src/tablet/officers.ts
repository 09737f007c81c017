// Who may read an alert's content over HTTPS: the officers' broker accounts (broker.dir/
// officers.passwd, written by `lfr officers`), checked against the same PBKDF2 hashes mosquitto
// checks, so one account signs an officer in to the broker and the page alike, and removing it
// removes both. The daemon's own account is not an officer.
//
// The file is re-read when it changes (stat on each check: an account removed at the station is
// refused at once). A successful check is remembered as an HMAC of the password under a key that
// lives only in this process, so a busy tablet does not pay ~55 ms of PBKDF2 per request; a
// failed check always pays it (no fast path for guessing). At most two PBKDF2 runs at once, in
// libuv's pool, so a flood of bad sign-ins cannot stall the daemon's main thread.
//
// Guessing and flooding (red team: a flood of bad sign-ins queued PBKDF2 runs without bound and
// delayed a real officer's sign-in by 12 s): each address may have MAX_PER_ADDRESS checks in flight (a page
// signing in asks for its state and an alert at once); after
// FREE_FAILURES failed checks it must wait 1 s, then 2, 4 ... up to a minute before the next, and
// the answer meanwhile is "throttled" (HTTP 429, Retry-After) at no PBKDF2 cost. A queue longer
// than MAX_WAITING answers "busy" the same way. A tablet already signed in is answered from the
// HMAC cache and never waits behind either. An unknown account pays the same PBKDF2 as a wrong
// password, so the time of the answer does not tell which officer ids exist.
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { statSync } from 'node:fs';
import { hashPassword, readPasswd, verifyPassword } from '../mqtt/passwd.js';
import { OFFICER_ID_RE } from '../mqtt/topics.js';

export type SignIn =
  | { ok: true; officerId: string }
  | { ok: false; reason: 'no credentials' | 'malformed credentials' | 'unknown account' | 'wrong password'; user: string | null }
  | { ok: false; reason: 'throttled'; user: string | null; retryAfterS: number };

const MAX_CONCURRENT = 2;
/** Checks waiting for a PBKDF2 slot beyond which new ones are turned away. */
const MAX_WAITING = 8;
/** Failed checks an address may make before it must wait. */
export const FREE_FAILURES = 10;
const MAX_BACKOFF_MS = 60_000;
/** An address's failures are forgotten this long after its last one. */
const FORGET_MS = 15 * 60_000;
const MAX_ADDRESSES = 4096;
const MAX_PER_ADDRESS = 4;

interface AddressState {
  failures: number;
  last: number;
  notBefore: number;
  inFlight: number;
}

export class OfficerDirectory {
  private users = new Map<string, string>();
  private stamp = '';
  private readonly cacheKey = randomBytes(32);
  /** user -> { hash it was checked against, HMAC of the password } */
  private readonly verified = new Map<string, { hash: string; mac: Buffer }>();
  private running = 0;
  private readonly waiting: Array<() => void> = [];
  private readonly addresses = new Map<string, AddressState>();
  /** A hash no password matches, checked for unknown accounts so they cost what a known one does. */
  private readonly decoyHash = hashPassword(randomBytes(24).toString('base64'));

  constructor(
    private readonly file: string,
    private readonly notOfficers: readonly string[] = [],
    private readonly now: () => number = Date.now,
  ) {}

  private refresh(): void {
    let stamp: string;
    try {
      const st = statSync(this.file);
      stamp = `${st.ino}:${st.size}:${st.mtimeMs}`;
    } catch {
      stamp = 'missing';
    }
    if (stamp === this.stamp) return;
    this.stamp = stamp;
    this.users = stamp === 'missing' ? new Map() : readPasswd(this.file);
    for (const u of [...this.verified.keys()]) if (this.users.get(u) !== this.verified.get(u)!.hash) this.verified.delete(u);
  }

  /** Officer ids with an account now. */
  list(): string[] {
    this.refresh();
    return [...this.users.keys()].filter((u) => !this.notOfficers.includes(u));
  }

  /**
   * How a refused sign-in's officer ID goes into the audit trail (kept for years): an existing
   * account as is; anything else (an unknown ID, often a password typed into the wrong field) as
   * "unknown#" and 8 hex of an HMAC under a key of this process only, so repeats within a run can
   * be told apart while the typed text never reaches the trail.
   */
  auditName(user: string | null): string | null {
    if (user === null) return null;
    this.refresh();
    if (this.users.has(user) && !this.notOfficers.includes(user)) return user;
    return `unknown#${createHmac('sha256', this.cacheKey).update('audit\u0000').update(user).digest('hex').slice(0, 8)}`;
  }

  private mac(password: string): Buffer {
    return createHmac('sha256', this.cacheKey).update(password).digest();
  }

  private async slot<T>(fn: () => Promise<T>): Promise<T> {
    while (this.running >= MAX_CONCURRENT) await new Promise<void>((r) => this.waiting.push(r));
    this.running++;
    try {
      return await fn();
    } finally {
      this.running--;
      this.waiting.shift()?.();
    }
  }

  /** Checks an HTTP Authorization header (Basic: the officer's broker account) from an address. */
  async check(header: string | undefined, address = 'unknown'): Promise<SignIn> {
    if (!header) return { ok: false, reason: 'no credentials', user: null };
    const m = /^Basic ([A-Za-z0-9+/=]{1,400})$/.exec(header.trim());
    if (!m) return { ok: false, reason: 'malformed credentials', user: null };
    const text = Buffer.from(m[1]!, 'base64').toString('utf8');
    const i = text.indexOf(':');
    if (i <= 0) return { ok: false, reason: 'malformed credentials', user: null };
    const user = text.slice(0, i);
    const password = text.slice(i + 1);
    if (!OFFICER_ID_RE.test(user)) return { ok: false, reason: 'malformed credentials', user: null };
    this.refresh();
    const hash = this.notOfficers.includes(user) ? undefined : this.users.get(user);
    const mac = this.mac(password);
    const known = hash ? this.verified.get(user) : undefined;
    if (known && known.hash === hash && timingSafeEqual(known.mac, mac)) return { ok: true, officerId: user };
    // Everything below costs a PBKDF2 run: throttled per address.
    const now = this.now();
    const st = this.addressState(address, now);
    const waitMs = st.inFlight >= MAX_PER_ADDRESS ? 1000 : st.notBefore - now;
    if (waitMs > 0) return { ok: false, reason: 'throttled', user, retryAfterS: Math.ceil(waitMs / 1000) };
    if (this.waiting.length >= MAX_WAITING) return { ok: false, reason: 'throttled', user, retryAfterS: 1 };
    st.inFlight++;
    let good: boolean;
    try {
      good = await this.slot(() => verifyPassword(hash ?? this.decoyHash, password));
    } finally {
      st.inFlight--;
    }
    if (!hash || !good) {
      st.failures++;
      st.last = this.now();
      if (st.failures >= FREE_FAILURES) st.notBefore = st.last + Math.min(MAX_BACKOFF_MS, 1000 * 2 ** (st.failures - FREE_FAILURES));
      return { ok: false, reason: hash ? 'wrong password' : 'unknown account', user };
    }
    this.verified.set(user, { hash, mac });
    return { ok: true, officerId: user };
  }

  private addressState(address: string, now: number): AddressState {
    let st = this.addresses.get(address);
    if (st && st.inFlight === 0 && now - st.last > FORGET_MS && now >= st.notBefore) st = undefined;
    if (!st) {
      if (this.addresses.size >= MAX_ADDRESSES) {
        for (const [a, s] of this.addresses) if (s.inFlight === 0 && now - s.last > FORGET_MS && now >= s.notBefore) this.addresses.delete(a);
        // Still full (a flood from many addresses): the oldest entry goes; its back-off is lost,
        // the queue bound (MAX_WAITING) still holds.
        if (this.addresses.size >= MAX_ADDRESSES) this.addresses.delete(this.addresses.keys().next().value!);
      }
      st = { failures: 0, last: now, notBefore: 0, inFlight: 0 };
      this.addresses.set(address, st);
    }
    return st;
  }
}
