// "Check with a photo" on an alert card (issue 25): the tablet's rear camera (getUserMedia; there
// is no file input, so nothing can come from the gallery), one photo, sent over HTTPS to the van,
// which compares it 1:1 with THIS alert's subject and answers. Nothing is kept here: the camera
// is stopped the moment the photo is taken, the canvas is never attached to the page and is
// cleared and shrunk to nothing at once, the JPEG exists only as the request body (fetch with
// cache: 'no-store'; the van answers Cache-Control: no-store), and the answer keeps only the
// verdict and the check id (so the decision can cite it), in this module's memory.

const RATE = (r) => `1 in ${Math.round(1 / r).toLocaleString('en-GB')}`;

export class PhotoCheck {
  /**
   * @param {Document} doc
   * @param {{ api: () => ({ auth: string } | null), enabled: () => boolean }} deps
   */
  constructor(doc, deps) {
    this.doc = doc;
    this.deps = deps;
    /** alertId -> checkId of this officer's latest check (what a decision cites). */
    this.checks = new Map();
    this.stream = null;
    this.dialog = null;
  }

  /** Add the button and the result line to a new card (view.js calls this once per card). */
  decorate(el) {
    const box = this.doc.createElement('div');
    box.className = 'photo-check';
    box.hidden = !this.deps.enabled();
    const button = this.doc.createElement('button');
    button.className = 'photo-check-open';
    button.type = 'button';
    button.textContent = 'Check with a photo';
    const result = this.doc.createElement('p');
    result.className = 'photo-check-result';
    result.setAttribute('role', 'status');
    box.append(button, result);
    button.addEventListener('click', () => this.open(el).catch((e) => this.show(el, 'error', `Camera not available: ${e.message}`)));
    el.querySelector('.decide')?.before(box);
  }

  /** Show or hide the button as the van's setting and the card's state say. */
  update(el, open) {
    const box = el.querySelector('.photo-check');
    if (!box) return;
    box.hidden = !this.deps.enabled();
    box.querySelector('button').disabled = !open || this.dialog !== null;
  }

  /** The check to cite with a decision on these alert ids (the first one checked), or null. */
  citeFor(alertId) {
    return this.checks.get(alertId) ?? null;
  }

  async open(el) {
    if (this.dialog) return;
    const alertId = el.dataset.alertId;
    if (!alertId) return;
    // The rear camera when there is one; no audio, ever.
    const stream = await navigator.mediaDevices.getUserMedia({ video: { facingMode: { ideal: 'environment' }, width: { ideal: 1280 }, height: { ideal: 720 } }, audio: false });
    this.stream = stream;
    const d = this.doc.createElement('div');
    d.className = 'photo-check-dialog';
    d.setAttribute('role', 'dialog');
    d.setAttribute('aria-label', 'Photograph the person');
    const video = this.doc.createElement('video');
    video.autoplay = true;
    video.muted = true;
    video.playsInline = true;
    video.srcObject = stream;
    const take = this.doc.createElement('button');
    take.className = 'photo-check-take';
    take.type = 'button';
    take.textContent = 'Take photo';
    const cancel = this.doc.createElement('button');
    cancel.className = 'photo-check-cancel';
    cancel.type = 'button';
    cancel.textContent = 'Cancel';
    const hint = this.doc.createElement('p');
    hint.textContent = 'One person, facing you, eyes visible. The van compares it with this alert only and keeps nothing.';
    d.append(hint, video, take, cancel);
    this.doc.body.append(d);
    this.dialog = d;
    cancel.addEventListener('click', () => this.close());
    take.addEventListener('click', () => {
      take.disabled = true;
      this.capture(video)
        .then((blob) => {
          this.close();
          return this.send(el, alertId, blob);
        })
        .catch((e) => {
          this.close();
          this.show(el, 'error', `Check not made: ${e.message}`);
        });
    });
    await video.play().catch(() => undefined);
  }

  /** One JPEG from the video; the canvas is cleared and emptied before this returns. */
  async capture(video) {
    const w = video.videoWidth, h = video.videoHeight;
    if (!w || !h) throw new Error('the camera gave no picture');
    const canvas = this.doc.createElement('canvas');
    canvas.width = w;
    canvas.height = h;
    const ctx = canvas.getContext('2d');
    try {
      ctx.drawImage(video, 0, 0, w, h);
      return await new Promise((resolve, reject) => canvas.toBlob((b) => (b ? resolve(b) : reject(new Error('no photo'))), 'image/jpeg', 0.92));
    } finally {
      ctx.clearRect(0, 0, w, h);
      canvas.width = 0;
      canvas.height = 0;
    }
  }

  close() {
    for (const t of this.stream?.getTracks() ?? []) t.stop();
    this.stream = null;
    const v = this.dialog?.querySelector('video');
    if (v) v.srcObject = null;
    this.dialog?.remove();
    this.dialog = null;
  }

  async send(el, alertId, blob) {
    const api = this.deps.api();
    if (!api) throw new Error('signed out');
    this.show(el, 'sending', 'Checking with the van…');
    let res;
    try {
      res = await fetch(`api/alerts/${encodeURIComponent(alertId)}/photo-check`, { method: 'POST', headers: { Authorization: api.auth, 'Content-Type': 'image/jpeg' }, body: blob, cache: 'no-store', credentials: 'omit' });
    } finally {
      blob = null; // the only reference: nothing of the photo outlives the request
    }
    const body = await res.json().catch(() => null);
    if (!body) return this.show(el, 'error', `Check not made: the van answered ${res.status}`);
    if (body.refused) return this.show(el, 'refused', `Check refused: ${body.refused}`);
    this.checks.set(alertId, body.checkId);
    const detail = body.score === null ? '' : ` (score ${body.score.toFixed(3)}, 1:1 threshold ${body.threshold.toFixed(3)} at ${RATE(body.falseMatchRate)} false matches)`;
    this.show(el, body.verdict, `Photo check: ${body.text}${detail}. You decide.`);
  }

  show(el, state, text) {
    const line = el.querySelector('.photo-check-result');
    if (!line) return;
    el.dataset.photoCheck = state;
    line.textContent = text;
  }

  clear() {
    this.close();
    this.checks.clear();
  }
}
