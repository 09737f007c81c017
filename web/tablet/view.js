// DOM rendering: the deployment bar, the cards (one per person and deployment) in three lists
// (live, "earlier": seen before this officer signed in, and "previous": an ended deployment's
// cards, read-only, shown only to its own officers by the van), the decision and engagement steps. Images are data: URLs
// built from the API's JSON (nothing lands in the HTTP cache) and are cleared when an alert's
// deletion time passes. Times shown are the VAN's clock (VanApi.now()).

const OUTCOME_TEXT = { confirmed_match: 'Confirmed match', false_alert: 'False alert', not_engaged: 'Not engaged' };
/** This officer's note, by its state (app.js): what the card says under the decision. */
const NOTE_TEXT = { waiting: 'Note: waiting for the van to record your decision…', sending: 'Note: saving on the van…', saved: '✔ Note saved on the van (kept with the alert, deleted with it).', failed: '✖ Note NOT saved:' };
const ENGAGEMENT_TEXT = { arrested: 'Arrested', spoken_to: 'Spoken to', no_further_action: 'No further action', not_located: 'Not located' };

// In the van's time zone (config van.timeZone, sent in /api/state), not the tablet's own.
let timeFmt = new Intl.DateTimeFormat('en-GB', { hour: '2-digit', minute: '2-digit', second: '2-digit', hour12: false, timeZone: 'Europe/London' });
let clockFmt = new Intl.DateTimeFormat('en-GB', { hour: '2-digit', minute: '2-digit', hour12: false, timeZone: 'Europe/London' });

/** Show times in the van's zone from now on (an unknown zone keeps the previous one). */
export function setTimeZone(tz) {
  if (typeof tz !== 'string' || !tz) return;
  try {
    timeFmt = new Intl.DateTimeFormat('en-GB', { hour: '2-digit', minute: '2-digit', second: '2-digit', hour12: false, timeZone: tz });
    clockFmt = new Intl.DateTimeFormat('en-GB', { hour: '2-digit', minute: '2-digit', hour12: false, timeZone: tz });
  } catch { /* keep the zone we had */ }
}

/** "3 h 05 min" / "4 min 09 s": coarse far away, precise near. */
export function formatDuration(ms) {
  if (ms <= 0) return 'now';
  const s = Math.floor(ms / 1000);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  if (h > 0) return `${h} h ${String(m).padStart(2, '0')} min`;
  if (m > 0) return `${m} min ${String(s % 60).padStart(2, '0')} s`;
  return `${s} s`;
}

/** When each alert's card had both faces drawn (Date.now(): the machine's clock, as the van's raisedAt): read by `lfr bench tablet`. */
export const drawnAt = new Map();

export class CardsView {
  /**
   * @param {Document} doc
   * @param {{ decide(key: string, outcome: string, note: string): void, engage(key: string, engagement: string): void, decorate?(el: HTMLElement): void, updateCheck?(el: HTMLElement, open: boolean): void }} actions
   */
  constructor(doc, actions) {
    this.doc = doc;
    this.live = doc.getElementById('alerts');
    this.earlier = doc.getElementById('earlier');
    this.earlierSection = doc.getElementById('earlier-section');
    this.previous = doc.getElementById('previous');
    this.previousSection = doc.getElementById('previous-section');
    this.empty = doc.getElementById('empty');
    this.template = doc.getElementById('alert-card');
    /** @type {Map<string, HTMLElement>} */
    this.cards = new Map();
    this.actions = actions;
  }

  /**
   * @param {import('./alert-list.js').Card[]} cards newest first
   * @param {number} vanNow
   * @param {{ id: string } | null} deployment the running deployment
   */
  render(cards, vanNow, deployment) {
    const seen = new Set();
    for (const c of cards) {
      seen.add(c.key);
      let el = this.cards.get(c.key);
      if (!el) {
        el = this.create(c);
        this.cards.set(c.key, el);
      }
      this.update(el, c, vanNow, deployment);
      // appendChild moves existing nodes: this orders them without re-creating images.
      (c.previous ? this.previous : c.earlier ? this.earlier : this.live).appendChild(el);
    }
    for (const [key, el] of this.cards) if (!seen.has(key)) this.drop(key, el);
    this.empty.hidden = cards.some((c) => !c.earlier && !c.previous);
    this.earlierSection.hidden = !cards.some((c) => c.earlier && !c.previous);
    this.previousSection.hidden = !cards.some((c) => c.previous);
  }

  create(c) {
    const el = /** @type {HTMLElement} */ (this.template.content.firstElementChild.cloneNode(true));
    // data-key: the subject (what tests and officers look for); data-card: the card's full key
    // (deployment + subject), which the buttons act on.
    el.dataset.key = c.subject;
    el.dataset.card = c.key;
    el.dataset.deployment = c.deploymentId ?? '';
    el.querySelector('.subject').textContent = c.subject;
    for (const b of el.querySelectorAll('.decide button')) {
      b.addEventListener('click', () => {
        const note = el.querySelector('textarea.note');
        this.actions.decide(el.dataset.card, b.dataset.outcome, note.value.trim());
        note.value = '';
      });
    }
    for (const b of el.querySelectorAll('.engage button')) b.addEventListener('click', () => this.actions.engage(el.dataset.card, b.dataset.engagement));
    this.actions.decorate?.(el); // e.g. "Check with a photo" (photo-check.js)
    return el;
  }

  /** Images of the latest sighting (face, context) and the watchlist image, once each. */
  images(el, c) {
    const a = c.latest.alert;
    if (el.dataset.alertId === a.alertId) return;
    el.dataset.alertId = a.alertId;
    el.dataset.alertIds = c.entries.map((e) => e.alert.alertId).join(' ');
    const face = el.querySelector('img.face');
    const ref = el.querySelector('img.ref');
    const ctx = el.querySelector('img.context');
    face.src = `data:image/jpeg;base64,${a.faceJpeg}`;
    if (!ref.getAttribute('src')) ref.src = `data:image/jpeg;base64,${a.referenceJpeg}`;
    if (a.contextJpeg) {
      ctx.src = `data:image/jpeg;base64,${a.contextJpeg}`;
      ctx.hidden = false;
    } else {
      ctx.removeAttribute('src');
      ctx.hidden = true;
    }
    Promise.all([face.decode(), ref.decode()])
      .then(() => {
        drawnAt.set(a.alertId, Date.now());
        if (el.dataset.alertId === a.alertId) el.dataset.drawn = a.alertId;
      })
      .catch(() => undefined);
  }

  update(el, c, vanNow, deployment) {
    this.images(el, c);
    const a = c.latest.alert;
    const n = c.entries.length;
    el.dataset.count = String(n);
    el.dataset.stage = c.stage;
    el.dataset.earlier = String(c.earlier);
    el.dataset.previous = String(c.previous);
    el.querySelector('.category').textContent = a.category;
    const reason = el.querySelector('.reason');
    reason.textContent = a.reason || '(none given)';
    el.querySelector('.score').textContent = `${a.likelihood.toFixed(3)} (threshold ${a.threshold.toFixed(3)})`;
    el.querySelector('.camera').textContent = a.cameraLocation ? `${a.camera}: ${a.cameraLocation}` : a.camera;
    const age = formatDuration(vanNow - c.latest.capturedMs);
    el.querySelector('.time').textContent = `${age} ago (${timeFmt.format(new Date(c.latest.capturedMs))})`;
    el.querySelector('.sightings').textContent = n === 1 ? '1' : `${n}, first at ${timeFmt.format(new Date(c.entries[n - 1].capturedMs))}`;
    el.querySelector('.countdown').textContent = formatDuration(Math.min(...c.entries.map((e) => e.expiresMs)) - vanNow);
    el.querySelector('.age-badge').textContent = c.previous ? `ENDED DEPLOYMENT (read only): ${age} ago` : c.earlier ? `EARLIER: ${age} ago` : n > 1 ? `SEEN ${n} TIMES` : 'NEW';

    // Read-only once the deployment the alert belongs to is not running any more.
    const readOnly = c.previous;
    el.dataset.readonly = String(readOnly);
    const open = c.stage === 'open' && !readOnly;
    for (const b of el.querySelectorAll('.decide button')) b.disabled = !open;
    el.querySelector('textarea.note').disabled = !open;
    el.querySelector('.decide').hidden = !(c.stage === 'open' || c.stage === 'sending');
    this.actions.updateCheck?.(el, !readOnly && (c.stage === 'open' || c.stage === 'engage'));
    const engage = el.querySelector('.engage');
    engage.hidden = !(c.stage === 'engage' || c.stage === 'engaging');
    for (const b of engage.querySelectorAll('button')) b.disabled = c.stage !== 'engage' || readOnly;

    const line = el.querySelector('.decision');
    const decided = c.entries.find((e) => e.decision)?.decision;
    const refused = c.entries.find((e) => e.refused)?.refused;
    const sending = c.entries.find((e) => e.sending)?.sending;
    const engaging = c.entries.find((e) => e.engaging)?.engaging;
    let text = '';
    if (decided) {
      text = `✔ Recorded by the van: ${OUTCOME_TEXT[decided.outcome] ?? decided.outcome} by ${decided.officerId}`;
      const eng = c.entries.find((e) => e.decision?.engagement)?.decision?.engagement;
      if (eng) text += `; outcome: ${ENGAGEMENT_TEXT[eng] ?? eng}`;
      if (c.stage === 'open') text += '. NEW SIGHTING since: decide again.';
      const repeats = c.entries.filter((e) => e.alert.repeatOf).length;
      if (repeats) text += `. Seen again ${repeats} time(s) since: already dealt with, nothing to decide.`;
      if (c.stage === 'engage' && !readOnly) text += '. What happened?';
    }
    if (sending) text = `Sending "${OUTCOME_TEXT[sending]}"… waiting for the van`;
    if (engaging) text = `Sending "${ENGAGEMENT_TEXT[engaging]}"… waiting for the van`;
    if (refused) text = `✖ Not recorded: ${refused}`;
    if (readOnly) text = `${text ? `${text}. ` : ''}Deployment ended: read only.`;
    line.textContent = text;

    // This officer's note: it goes over HTTPS once the van has recorded the decision.
    const note = c.entries.find((e) => e.note)?.note;
    const noteLine = el.querySelector('.note-status');
    el.dataset.note = note?.state ?? '';
    noteLine.textContent = note ? NOTE_TEXT[note.state] + (note.detail ? ` ${note.detail}` : '') : '';
  }

  drop(key, el) {
    for (const img of el.querySelectorAll('img')) img.removeAttribute('src');
    el.remove();
    this.cards.delete(key);
  }

  clear() {
    for (const [key, el] of this.cards) this.drop(key, el);
  }
}

/** Connection state, always visible at the top of the screen. */
export function showConnection(doc, state) {
  const el = doc.getElementById('conn');
  const text = { 'signed-out': 'Signed out', connecting: 'Connecting…', connected: 'Connected', reconnecting: 'Reconnecting…', refused: 'Sign-in refused' };
  el.dataset.state = state;
  el.className = `conn conn-${state === 'connected' ? 'on' : state === 'signed-out' || state === 'refused' ? 'off' : 'wait'}`;
  el.textContent = text[state];
}

export function showVan(doc, availability) {
  const el = doc.getElementById('van');
  const text = { online: 'Van online', offline: 'VAN OFFLINE', stopped: 'Van stopped', unknown: 'Van: unknown' };
  el.dataset.state = availability;
  el.className = `van van-${availability}`;
  el.textContent = text[availability] ?? text.unknown;
}

/**
 * @param {{ id: string, location: string, endsAt: string } | null} d the running deployment
 * @param {boolean} ended a deployment ended while this officer was signed in (or before)
 */
export function showDeployment(doc, d, ended) {
  const el = doc.getElementById('deployment');
  el.dataset.state = d ? 'running' : ended ? 'ended' : 'none';
  el.className = `deployment deployment-${el.dataset.state}`;
  el.textContent = d ? `Deployment running: ${d.location} (until ${clockFmt.format(new Date(d.endsAt))})` : ended ? 'Deployment ENDED: alerts are read only' : 'No deployment running';
}
