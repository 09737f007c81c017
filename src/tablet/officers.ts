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
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { statSync } from 'node:fs';
import { readPasswd, verifyPassword } from '../mqtt/passwd.js';
import { OFFICER_ID_RE } from '../mqtt/topics.js';

export type SignIn = { ok: true; officerId: string } | { ok: false; reason: 'no credentials' | 'malformed credentials' | 'unknown account' | 'wrong password'; user: string | null };

const MAX_CONCURRENT = 2;

export class OfficerDirectory {
  private users = new Map<string, string>();
  private stamp = '';
  private readonly cacheKey = randomBytes(32);
  /** user -> { hash it was checked against, HMAC of the password } */
  private readonly verified = new Map<string, { hash: string; mac: Buffer }>();
  private running = 0;
  private readonly waiting: Array<() => void> = [];

  constructor(
    private readonly file: string,
    private readonly notOfficers: readonly string[] = [],
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

  /** Checks an HTTP Authorization header (Basic: the officer's broker account). */
  async check(header: string | undefined): Promise<SignIn> {
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
    if (!hash) return { ok: false, reason: 'unknown account', user };
    const mac = this.mac(password);
    const known = this.verified.get(user);
    if (known && known.hash === hash && timingSafeEqual(known.mac, mac)) return { ok: true, officerId: user };
    const good = await this.slot(() => verifyPassword(hash, password));
    if (!good) return { ok: false, reason: 'wrong password', user };
    this.verified.set(user, { hash, mac });
    return { ok: true, officerId: user };
  }
}
