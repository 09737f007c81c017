// Officer tablet: signs in with the officer's own account (checked first over HTTPS, then used
// for the broker's MQTT-over-WebSocket listener), learns of alerts over MQTT (messages that
// carry no face and no name), fetches each alert's content over HTTPS from the van, shows one
// card per person, publishes decisions under the officer's own name and shows the van's answer.
// An officer's note goes to the van over HTTPS only (never through the broker), once the van has
// recorded their decision.
//
// Missed alerts: on every (re)connect the page re-reads the van's state over HTTPS (deployment,
// live alerts and their decisions), so nothing depends on the broker keeping anything; an MQTT 5
// session (expiry from /config.json) also queues alerts across short link losses. Nothing is
// written to any browser storage: the password and the alerts live in this module's memory.
import mqtt from './lib/mqtt.esm.js';
import { topicsFor, alertIdFromTopic, SCHEMA, ADJUDICATION_OUTCOMES, ENGAGEMENT_OUTCOMES, MAX_NOTE_CHARS } from './lib/topics.js';
import { AlertBook } from './alert-list.js';
import { keepHead } from './audit-heads.js';
import { VanApi, SignInRefused } from './van-api.js';
import { CardsView, drawnAt, showConnection, showVan, showDeployment, setTimeZone } from './view.js';
import { PhotoCheck } from './photo-check.js';

const RECONNECT_MS = 2000; // short: an officer looking at a stale screen is worse than a busy broker
const TICK_MS = 1000; // age and countdown resolution

const doc = document;
const book = new AlertBook();
let client = null;
let api = null;
let topics = null;
let officerId = '';
let audio = null;
/** Van time of the sign-in: alerts captured before it are "earlier". */
let signInAt = 0;
/** The running deployment ({id, location, startedAt, endsAt}) or null. */
let deployment = null;
let deploymentEnded = false;
/** When each alert's MQTT message arrived (ms since the epoch): read by `lfr bench tablet`. */
const messageAt = new Map();
/** Alert ids being fetched (an MQTT message and a state read may name the same one). */
const fetching = new Set();

/** The van offers "Check with a photo" (GET /api/state says so). */
let photoCheckOn = false;
const checks = new PhotoCheck(doc, { api: () => api, enabled: () => photoCheckOn });
const view = new CardsView(doc, { decide, engage, decorate: (el) => checks.decorate(el), updateCheck: (el, open) => checks.update(el, open) });

function refresh() {
  if (!api) return;
  const now = api.now();
  book.expire(now);
  deploymentEnded = deploymentEnded || [...book.byId.values()].some((e) => e.alert.deploymentId && e.alert.deploymentId !== deployment?.id);
  showDeployment(doc, deployment, deploymentEnded);
  view.render(book.cards(signInAt, deployment?.id ?? null), now, deployment);
}

/** Sound (two tones, Web Audio) and vibration on a new alert. The AudioContext is made and
 * resumed on the sign-in tap: browsers allow audio only after a user gesture. */
function signal() {
  try {
    navigator.vibrate?.([300, 150, 300]);
  } catch { /* not supported: sound only */ }
  if (!audio) return;
  if (audio.state !== 'running') audio.resume().catch(() => undefined);
  const t = audio.currentTime;
  for (const [i, f] of [880, 1175].entries()) {
    const osc = audio.createOscillator();
    const gain = audio.createGain();
    osc.frequency.value = f;
    gain.gain.setValueAtTime(0.4, t + i * 0.25);
    gain.gain.exponentialRampToValueAtTime(0.001, t + i * 0.25 + 0.22);
    osc.connect(gain).connect(audio.destination);
    osc.start(t + i * 0.25);
    osc.stop(t + i * 0.25 + 0.23);
  }
  doc.body.dataset.signals = String(Number(doc.body.dataset.signals ?? 0) + 1);
}

/** Each message names the alert AND its deployment: the van refuses it for any other deployment's alert. */
function publish({ alertId, deploymentId }, body) {
  // QoS 1: if the link drops now, MQTT.js re-sends it after reconnecting (same session).
  client?.publish(topics.adjudication(officerId, alertId), JSON.stringify({ schema: SCHEMA, alertId, deploymentId, decidedAt: new Date(api.now()).toISOString(), ...body }), { qos: 1 });
}

/**
 * A decision applies to every undecided sighting on the card (one person, one deployment). The
 * note never goes through the broker (the van refuses a decision that carries one): it is held
 * here, in memory, and sent over HTTPS to the latest sighting once the van has acknowledged this
 * officer's decision on it (the van keeps a note only with the decision of the officer who wrote
 * it).
 */
function decide(key, outcome, note) {
  if (!client || !ADJUDICATION_OUTCOMES.includes(outcome)) return;
  const ids = book.beginDecision(key, outcome, deployment?.id ?? null); // a decision is sent once, never twice
  // A photo check made on one of these sightings is cited with the decision on that sighting.
  ids.forEach((a, i) => {
    const check = checks.citeFor(a.alertId);
    publish(a, { outcome, ...(check ? { photoCheck: check } : {}) });
    if (i === 0 && note) holdNote(a.alertId, note.slice(0, MAX_NOTE_CHARS));
  });
  refresh();
}

/** Notes waiting for the van to record their decision: alertId -> text (memory only). */
const pendingNotes = new Map();

function noteState(alertId, state, detail = '') {
  const e = book.byId.get(alertId);
  if (e) e.note = { state, detail };
  refresh();
}

function holdNote(alertId, text) {
  pendingNotes.set(alertId, text);
  noteState(alertId, 'waiting');
}

/** This officer's decision on the alert is recorded: the note goes to the van now, over HTTPS. */
async function sendNote(alertId) {
  const text = pendingNotes.get(alertId);
  if (text === undefined || !api) return;
  pendingNotes.delete(alertId);
  noteState(alertId, 'sending');
  try {
    await api.note(alertId, text);
    noteState(alertId, 'saved');
  } catch (e) {
    if (e instanceof SignInRefused) return refuse(e.message);
    // Shown with the officer's own text, so nothing they typed is lost.
    noteState(alertId, 'failed', `${e.message}. Your note was: "${text}"`);
  }
}

/** The decision was not recorded (refused, or a colleague's came first): the note is not sent. */
function dropNote(alertId, why) {
  const text = pendingNotes.get(alertId);
  if (text === undefined) return;
  pendingNotes.delete(alertId);
  noteState(alertId, 'failed', `${why}. Your note was: "${text}"`);
}

function engage(key, engagement) {
  if (!client || !ENGAGEMENT_OUTCOMES.includes(engagement)) return;
  for (const a of book.beginEngagement(key, engagement, deployment?.id ?? null)) publish(a, { outcome: 'confirmed_match', engagement });
  refresh();
}

/** Fetch an alert's content over HTTPS and show it; `live`: it just arrived (signal it). */
async function fetchAlert(alertId, live) {
  if (book.has(alertId) || fetching.has(alertId)) return;
  fetching.add(alertId);
  try {
    const content = await api.alert(alertId);
    if (content && book.add(content, api.now())) {
      refresh();
      if (live && Date.parse(content.capturedAt) >= signInAt) signal();
    }
  } catch (e) {
    if (e instanceof SignInRefused) return refuse(e.message);
    // The next state read (every reconnect) picks it up again.
  } finally {
    fetching.delete(alertId);
  }
}

/** Re-read the van's state: deployment, live alerts, decisions; drop what the van no longer holds. */
async function sync() {
  const s = await api.state();
  deployment = s.deployment;
  setTimeZone(s.timeZone);
  photoCheckOn = Boolean(s.photoCheck?.enabled);
  const held = new Set(s.alerts.map((a) => a.alertId));
  book.expire(api.now(), held);
  for (const a of s.alerts) book.sync(a);
  // A decision acknowledged while the link was down: send (or drop) its held note now.
  for (const a of s.alerts) {
    if (!pendingNotes.has(a.alertId) || !a.decision) continue;
    if (a.decision.officerId === officerId) void sendNote(a.alertId);
    else dropNote(a.alertId, `${a.decision.officerId} decided this sighting first`);
  }
  refresh();
  await Promise.all(s.alerts.filter((a) => !book.has(a.alertId)).map((a) => fetchAlert(a.alertId, false)));
}

function onMessage(topic, buf) {
  if (topic === topics.availability) {
    showVan(doc, buf.length ? new TextDecoder().decode(buf) : 'unknown');
    return;
  }
  let msg;
  try {
    msg = JSON.parse(new TextDecoder().decode(buf));
  } catch {
    return; // not ours to repair; the van never sends this
  }
  if (!msg || msg.schema !== SCHEMA) return;
  if (topic === topics.status) {
    const d = msg.deployment;
    deployment = d ? { id: d.id, location: d.location, startedAt: d.startedAt ?? '', endsAt: d.endsAt } : null;
    if (msg.auditHead) keepHead(msg.auditHead);
    refresh();
    return;
  }
  const id = alertIdFromTopic(topic);
  if (!id || msg.alertId !== id) return;
  if (topic === topics.alert(id)) {
    if (!messageAt.has(id)) messageAt.set(id, Date.now());
    void fetchAlert(id, true);
  }
  else if (topic === topics.ack(id)) {
    if (book.ack(msg, officerId)) refresh();
    // The van's answer to this officer's decision decides the fate of its held note.
    if (msg.officerId === officerId && pendingNotes.has(id)) {
      if (msg.accepted) void sendNote(id);
      else dropNote(id, `your decision was not recorded (${msg.reason ?? 'refused'})`);
    }
  }
}

function refuse(text) {
  showConnection(doc, 'refused');
  doc.getElementById('login-error').textContent = text;
  client?.end(true);
  client = null;
  doc.getElementById('login').hidden = false;
}

async function signIn(ev) {
  ev.preventDefault();
  const officerEl = doc.getElementById('officer');
  const passEl = doc.getElementById('password');
  const err = doc.getElementById('login-error');
  err.textContent = '';
  officerId = officerEl.value.trim();
  const password = passEl.value;
  passEl.value = ''; // keep it in this closure only, never in the DOM
  client?.end(true); // a second tap on "Sign in" replaces the first attempt, never adds one
  try {
    audio ??= new AudioContext();
    audio.resume().catch(() => undefined);
  } catch { /* no audio: vibration only */ }
  const cfg = await (await fetch('config.json', { cache: 'no-store' })).json();
  topics = topicsFor(cfg.topicPrefix, cfg.vanId);
  idleLockMs = (cfg.idleLockMinutes ?? 10) * 60_000;
  lastTouch = Date.now();
  api = new VanApi(officerId, password);
  showConnection(doc, 'connecting');
  // The account is checked by the van first: a wrong password is refused plainly, at once.
  try {
    const s = await api.state();
    signInAt = s.serverTime;
    setTimeZone(s.timeZone);
  } catch (e) {
    if (e instanceof SignInRefused) return refuse(e.message);
    throw e;
  }
  // Through the van's own HTTPS server (src/tablet/mqtt-proxy.ts): the broker is not on the network.
  const { ticket } = await api.mqttTicket();
  client = mqtt.connect(`wss://${location.host}/mqtt?ticket=${encodeURIComponent(ticket)}`, {
    clientId: `tablet-${officerId}`, // the broker replaces it with the account name anyway
    clean: false,
    protocolVersion: 5,
    properties: { sessionExpiryInterval: cfg.sessionExpirySeconds },
    username: officerId,
    password,
    reconnectPeriod: RECONNECT_MS,
    connectTimeout: 10_000,
    keepalive: 15, // seconds: a van that vanished is noticed within ~20 s
    resubscribe: false, // handled in 'connect' below
  });
  client.on('connect', () => {
    showConnection(doc, 'connected');
    doc.getElementById('login').hidden = true;
    doc.getElementById('main').hidden = false;
    doc.getElementById('signout').hidden = false;
    doc.getElementById('who').textContent = `Officer ${officerId}`;
    // Subscribe on every connect (the broker re-sends the retained availability and status),
    // then re-read the van's state: whatever happened during the gap is on the van, not here.
    client.subscribe([topics.availability, topics.status, topics.alertsWildcard, topics.acksWildcard], { qos: 1 });
    sync().catch((e) => {
      if (e instanceof SignInRefused) refuse(e.message);
    });
  });
  // Without a link the van's state is unknown: say so rather than show a stale "online".
  const lost = () => {
    showConnection(doc, 'reconnecting');
    showVan(doc, 'unknown');
  };
  client.on('reconnect', lost);
  client.on('offline', lost);
  client.on('close', () => {
    if (client && !client.disconnecting) lost();
  });
  client.on('error', (e) => {
    // Bad credentials or an ACL refusal: stop retrying and say so plainly.
    if (e && (e.code === 4 || e.code === 5 || e.code === 134 || e.code === 135)) refuse('The van refused this officer ID or password.');
  });
  client.on('message', onMessage);
}

function signOut() {
  client?.end(true);
  client = null;
  book.clear();
  checks.clear();
  view.clear();
  // A full reload drops every object this page held (and the server sends Clear-Site-Data).
  location.replace(location.pathname);
}

doc.getElementById('login').addEventListener('submit', (ev) => {
  signIn(ev).catch((e) => {
    showConnection(doc, 'signed-out');
    doc.getElementById('login-error').textContent = `Cannot reach the van: ${e.message}`;
  });
});
doc.getElementById('signout').addEventListener('click', signOut);
setInterval(refresh, TICK_MS);
// Idle lock (config tablet.idleLockMinutes): a tablet left on a seat signs itself out, which drops
// every alert and face it held (signOut reloads the page). Any touch or key resets the clock.
let idleLockMs = 0;
let lastTouch = Date.now();
for (const ev of ['pointerdown', 'keydown', 'touchstart']) addEventListener(ev, () => (lastTouch = Date.now()), { passive: true });
setInterval(() => {
  if (client && idleLockMs > 0 && Date.now() - lastTouch >= idleLockMs) signOut();
}, TICK_MS);
// Closing the tab: end the socket now; the broker keeps the session for its expiry only.
addEventListener('pagehide', () => client?.end(true));
// When each alert's card had both faces drawn (ms since the epoch): read by `lfr bench tablet`.
// Times only, no content.
Object.defineProperty(globalThis, 'lfrDrawnAt', { value: drawnAt });
Object.defineProperty(globalThis, 'lfrMessageAt', { value: messageAt });
