// Officer tablet: signs in to the van's broker over MQTT-over-WebSocket (TLS) with the officer's
// own credentials, shows alerts, publishes decisions and shows the daemon's acknowledgement.
// Topics and payload shapes come from the daemon's own src/mqtt/topics.ts (served compiled as
// lib/topics.js), so this page cannot drift from the daemon.
//
// Missed alerts: the session is persistent (clean: false) with a fixed clientId per officer and
// QoS 1 subscriptions, so the broker queues alerts while the tablet is away and re-delivers them
// on reconnect; AlertList drops the duplicates by alertId. Nothing is written to any browser
// storage: the password and the alerts live in this module's memory only.
import mqtt from './lib/mqtt.esm.js';
import { topicsFor, alertIdFromTopic, SCHEMA, ADJUDICATION_OUTCOMES } from './lib/topics.js';
import { AlertList } from './alert-list.js';
import { AlertsView, showConnection, showVan } from './view.js';

const RECONNECT_MS = 2000; // short: an officer looking at a stale screen is worse than a busy broker
const TICK_MS = 1000; // countdown resolution

const doc = document;
const list = new AlertList();
let client = null;
let officerId = '';
let audio = null;

const view = new AlertsView(doc, decide);

function now() {
  return Date.now();
}

function refresh() {
  view.remove(list.expire(now()));
  view.render(list.ordered(), now());
}

/** Sound and vibration on a new alert. The AudioContext is created on the sign-in tap (browsers
 * only allow audio after a user gesture). */
function notify() {
  try {
    navigator.vibrate?.([300, 150, 300]);
  } catch { /* not supported: sound only */ }
  if (!audio) return;
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
}

function decide(alertId, outcome) {
  if (!client || !ADJUDICATION_OUTCOMES.includes(outcome)) return;
  if (!list.beginDecision(alertId, outcome)) return; // a decision is sent once, never twice
  const payload = { schema: SCHEMA, alertId, outcome, officerId, decidedAt: new Date().toISOString() };
  // QoS 1: if the link drops now, MQTT.js re-sends it after reconnecting (same session).
  client.publish(topics.adjudication(alertId), JSON.stringify(payload), { qos: 1 });
  refresh();
}

let topics = null;

function onMessage(topic, buf) {
  let msg;
  if (topic === topics.availability) {
    showVan(doc, buf.length ? new TextDecoder().decode(buf) : 'unknown');
    return;
  }
  try {
    msg = JSON.parse(new TextDecoder().decode(buf));
  } catch {
    return; // not ours to repair; the van never sends this
  }
  if (!msg || msg.schema !== SCHEMA) return;
  const id = alertIdFromTopic(topic);
  if (!id || msg.alertId !== id) return;
  if (topic === topics.alert(id)) {
    if (list.add(msg, now())) {
      refresh();
      notify();
    }
  } else if (topic === topics.ack(id)) {
    if (list.ack(msg)) refresh();
  }
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
  } catch { /* no audio: vibration only */ }
  const cfg = await (await fetch('config.json', { cache: 'no-store' })).json();
  topics = topicsFor(cfg.topicPrefix, cfg.vanId);
  const url = `wss://${location.hostname}:${cfg.brokerWsPort}/mqtt`;
  showConnection(doc, 'connecting');
  client = mqtt.connect(url, {
    clientId: `tablet-${officerId}`, // fixed per officer: the broker keeps this officer's session
    clean: false,
    protocolVersion: 4, // 3.1.1: a clean:false session lives until the broker expires it
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
    // Subscribe on every connect: the persistent session already holds the subscriptions (its
    // queued alerts arrive regardless), but subscribing again makes the broker re-send the
    // retained availability and acks, so the van state shown is never one from before the gap.
    client.subscribe([topics.availability, topics.alertsWildcard, topics.acksWildcard], { qos: 1 });
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
    if (e && (e.code === 4 || e.code === 5 || e.code === 134 || e.code === 135)) {
      showConnection(doc, 'refused');
      err.textContent = 'The van refused this officer ID or password.';
      client.end(true);
      client = null;
    }
  });
  client.on('message', onMessage);
}

function signOut() {
  client?.end(true);
  client = null;
  list.clear();
  view.remove([...view.cards.keys()]);
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
// Closing the tab: end the socket now; the broker keeps the session for the next sign-in.
addEventListener('pagehide', () => client?.end(true));
