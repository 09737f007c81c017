// The van's HTTPS API (src/tablet/api.ts), signed in with the officer's broker account on every
// request (an Authorization header set here: the browser never caches or offers it elsewhere).
// Alert content (faces, context, subject reference, reason) comes ONLY this way, never through
// the broker. The van's clock is measured on every state read so ages are told by the van's
// clock, not the tablet's.

export class SignInRefused extends Error {}

export class VanApi {
  /** @param {string} officerId @param {string} password */
  constructor(officerId, password) {
    this.auth = `Basic ${btoa(`${officerId}:${password}`)}`;
    /** van clock minus tablet clock, ms (corrected on every state read) */
    this.offset = 0;
  }

  /** The van's clock now (ms). */
  now() {
    return Date.now() + this.offset;
  }

  async get(path) {
    const res = await fetch(path, { headers: { Authorization: this.auth }, cache: 'no-store', credentials: 'omit' });
    if (res.status === 401) throw new SignInRefused('The van refused this officer ID or password.');
    if (res.status === 429) throw new SignInRefused(`Too many sign-in attempts from this tablet: wait ${res.headers.get('Retry-After') ?? 'a few'} s and try again.`);
    return res;
  }

  /** @returns {Promise<import('./lib/topics.js').TabletState>} */
  async state() {
    const t0 = Date.now();
    const res = await this.get('api/state');
    if (!res.ok) throw new Error(`the van answered ${res.status}`);
    const s = await res.json();
    const t1 = Date.now();
    // The answer was made about half-way through the round trip.
    this.offset = s.serverTime - (t0 + t1) / 2;
    return s;
  }

  /** A ticket for wss://<this host>/mqtt: MQTT reaches the broker only through the van's server. */
  async mqttTicket() {
    const res = await this.get('api/mqtt-ticket');
    if (!res.ok) throw new Error(`the van answered ${res.status}`);
    return res.json();
  }

  /**
   * An officer's note on an alert they decided (POST api/alerts/<id>/note): over HTTPS only, never
   * through the broker. Resolves when the van has stored it; throws an Error whose message is the
   * van's plain reason when it did not (or SignInRefused).
   */
  async note(alertId, text) {
    let res;
    try {
      res = await fetch(`api/alerts/${encodeURIComponent(alertId)}/note`, {
        method: 'POST',
        headers: { Authorization: this.auth, 'Content-Type': 'application/json' },
        body: JSON.stringify({ note: text }),
        cache: 'no-store',
        credentials: 'omit',
      });
    } catch {
      throw new Error('the van could not be reached');
    }
    if (res.status === 401) throw new SignInRefused('The van refused this officer ID or password.');
    if (res.ok) return;
    const answer = await res.json().catch(() => null);
    throw new Error(answer?.refused ?? `the van answered ${res.status}`);
  }

  /** @returns {Promise<import('./lib/topics.js').AlertContent|null>} null: gone from the van */
  async alert(alertId) {
    const res = await this.get(`api/alerts/${encodeURIComponent(alertId)}`);
    if (res.status === 404) return null;
    if (!res.ok) throw new Error(`the van answered ${res.status}`);
    return res.json();
  }
}
