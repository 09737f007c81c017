// DOM rendering of the alert list and the status bar. Images are data: URLs built from the
// base64 JPEGs in the payload (nothing is fetched, nothing lands in the HTTP cache) and are
// cleared from the <img> elements when the alert's deletion time passes.

const OUTCOME_TEXT = { confirmed_match: 'Confirmed match', false_alert: 'False alert', not_engaged: 'Not engaged' };

const timeFmt = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit', second: '2-digit', hour12: false });

/** "3 h 05 min" / "4 min 09 s": coarse far away, precise near the end. */
export function formatCountdown(ms) {
  if (ms <= 0) return 'now';
  const s = Math.floor(ms / 1000);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  if (h > 0) return `${h} h ${String(m).padStart(2, '0')} min`;
  return `${m} min ${String(s % 60).padStart(2, '0')} s`;
}

export class AlertsView {
  /** @param {Document} doc @param {(alertId: string, outcome: string) => void} onDecide */
  constructor(doc, onDecide) {
    this.doc = doc;
    this.list = doc.getElementById('alerts');
    this.empty = doc.getElementById('empty');
    this.template = doc.getElementById('alert-card');
    /** @type {Map<string, HTMLElement>} */
    this.cards = new Map();
    this.onDecide = onDecide;
  }

  /** Re-orders the cards to match `entries` (newest first), creating missing ones. */
  render(entries, nowMs) {
    for (const e of entries) {
      let card = this.cards.get(e.alert.alertId);
      if (!card) {
        card = this.create(e);
        this.cards.set(e.alert.alertId, card);
      }
      this.update(card, e, nowMs);
    }
    // appendChild moves existing nodes, so this puts them in order without re-creating images.
    for (const e of entries) this.list.appendChild(this.cards.get(e.alert.alertId));
    this.empty.hidden = entries.length > 0;
  }

  create(e) {
    const a = e.alert;
    const card = /** @type {HTMLElement} */ (this.template.content.firstElementChild.cloneNode(true));
    card.dataset.alertId = a.alertId;
    card.querySelector('img.face').src = `data:image/jpeg;base64,${a.faceJpeg}`;
    card.querySelector('img.ref').src = `data:image/jpeg;base64,${a.referenceJpeg}`;
    card.querySelector('.category').textContent = a.category;
    card.querySelector('.score').textContent = `${a.likelihood.toFixed(3)} (threshold ${a.threshold.toFixed(3)})`;
    card.querySelector('.camera').textContent = a.camera;
    card.querySelector('.time').textContent = timeFmt.format(new Date(e.capturedMs));
    for (const b of card.querySelectorAll('.decide button')) {
      b.addEventListener('click', () => this.onDecide(a.alertId, b.dataset.outcome));
    }
    card.classList.add('new');
    return card;
  }

  update(card, e, nowMs) {
    card.querySelector('.countdown').textContent = formatCountdown(e.expiresMs - nowMs);
    const decided = e.decision !== 'none';
    for (const b of card.querySelectorAll('.decide button')) {
      b.disabled = decided;
      b.classList.toggle('chosen', decided && (e.sentOutcome ?? e.ack?.outcome) === b.dataset.outcome);
    }
    card.dataset.decision = e.decision;
    card.classList.toggle('new', !decided);
    const line = card.querySelector('.decision');
    if (e.decision === 'sending') line.textContent = `Sending "${OUTCOME_TEXT[e.sentOutcome]}"… waiting for the van`;
    else if (e.decision === 'acked') {
      const by = e.ack.officerId ? ` by ${e.ack.officerId}` : '';
      line.textContent = `✔ Recorded by the van: ${OUTCOME_TEXT[e.ack.outcome] ?? e.ack.outcome}${by}`;
    } else if (e.decision === 'refused') line.textContent = `✖ Not recorded: ${e.ack.reason ?? 'refused by the van'}`;
    else line.textContent = '';
  }

  /** Removes cards and clears their images (the alert's deletion time has passed). */
  remove(ids) {
    for (const id of ids) {
      const card = this.cards.get(id);
      if (!card) continue;
      for (const img of card.querySelectorAll('img')) {
        img.removeAttribute('src');
      }
      card.remove();
      this.cards.delete(id);
    }
    this.empty.hidden = this.cards.size > 0;
  }
}

/** Connection and van state, always visible at the top of the screen. */
export function showConnection(doc, state, detail = '') {
  const el = doc.getElementById('conn');
  const text = { 'signed-out': 'Signed out', connecting: 'Connecting…', connected: 'Connected', reconnecting: 'Reconnecting…', refused: 'Sign-in refused' };
  el.dataset.state = state;
  el.className = `conn conn-${state === 'connected' ? 'on' : state === 'signed-out' || state === 'refused' ? 'off' : 'wait'}`;
  el.textContent = text[state] + (detail ? ` (${detail})` : '');
}

export function showVan(doc, availability) {
  const el = doc.getElementById('van');
  const text = { online: 'Van online', offline: 'VAN OFFLINE', stopped: 'Van stopped', unknown: 'Van: unknown' };
  el.dataset.state = availability;
  el.className = `van van-${availability}`;
  el.textContent = text[availability] ?? text.unknown;
}
