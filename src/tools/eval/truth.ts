// Ground truth for `lfr eval video --truth FILE`: who is on screen when. The file is a JSON array
// of spans, one object per person per stretch of time:
//   { "identity": "Name" | null, "start": 1.0, "end": 4.0, "box": [x, y, w, h], "label": "..." }
// times in seconds from the start of the video (start inclusive, end exclusive); `identity` a
// gallery identity, or null for a person who is not on the watchlist (a passer-by; `label` tells
// passers-by apart, else each span is its own person); `box` optional, fractions of the frame.
// Bad input is refused whole, naming the line: nothing is evaluated on a half-read truth.
// Then scoreTruth() (pure) compares the live path's alerts and track sightings with it.
import { DatasetError } from './datasets.js';

export interface TruthSpan {
  /** Gallery identity, or null: a person not on the watchlist. */
  identity: string | null;
  /** Who this is, for identity switches: the identity, the label, or `passer-by@LINE`. */
  person: string;
  startMs: number;
  endMs: number;
  /** Fractions of the frame [x, y, width, height]. */
  box?: [number, number, number, number];
  line: number;
}

/** Line (1-based) of each top-level array element's opening brace, by a scan that skips strings. */
function elementLines(text: string): number[] {
  const lines: number[] = [];
  let line = 1;
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '\n') line++;
    if (inString) {
      if (c === '\\') i++;
      else if (c === '"') inString = false;
      continue;
    }
    if (c === '"') inString = true;
    else if (c === '[' || c === '{') {
      if (depth === 1) lines.push(line);
      depth++;
    } else if (c === ']' || c === '}') depth--;
  }
  return lines;
}

function lineOf(text: string, pos: number): number {
  let line = 1;
  for (let i = 0; i < pos && i < text.length; i++) if (text[i] === '\n') line++;
  return line;
}

export function parseTruth(text: string, file: string, gallery: ReadonlySet<string>): TruthSpan[] {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    const m = /position (\d+)/.exec((err as Error).message);
    const where = m ? `line ${lineOf(text, Number(m[1]))}` : 'line ?';
    throw new DatasetError(`${file} ${where}: not JSON (${(err as Error).message})`);
  }
  if (!Array.isArray(raw)) throw new DatasetError(`${file} line 1: expected a JSON array of spans ({"identity", "start", "end", "box"?})`);
  const lines = elementLines(text);
  const spans: TruthSpan[] = [];
  raw.forEach((e: unknown, k) => {
    const line = lines[k] ?? 0;
    const bad = (why: string): never => {
      throw new DatasetError(`${file} line ${line}: ${why}`);
    };
    if (typeof e !== 'object' || e === null || Array.isArray(e)) bad('a span must be an object {"identity", "start", "end", "box"?}');
    const o = e as Record<string, unknown>;
    for (const k of Object.keys(o)) if (!['identity', 'start', 'end', 'box', 'label'].includes(k)) bad(`unknown field "${k}"`);
    const id = o.identity;
    if (id !== null && typeof id !== 'string') bad('"identity" must be a gallery identity or null (not on the watchlist)');
    if (typeof id === 'string' && !gallery.has(id)) bad(`identity "${id}" is not in the gallery`);
    const { start, end } = o;
    if (typeof start !== 'number' || !Number.isFinite(start) || start < 0) bad('"start" must be a number of seconds >= 0');
    if (typeof end !== 'number' || !Number.isFinite(end) || !(end > (start as number))) bad('"end" must be a number of seconds after "start"');
    let box: TruthSpan['box'];
    if (o.box !== undefined) {
      const b = o.box;
      if (!Array.isArray(b) || b.length !== 4 || !b.every((x) => typeof x === 'number' && x >= 0 && x <= 1) || !(b[2] > 0 && b[3] > 0)) bad('"box" must be [x, y, width, height], fractions of the frame (0..1)');
      box = b as [number, number, number, number];
    }
    if (o.label !== undefined && typeof o.label !== 'string') bad('"label" must be a string');
    const person = (id as string | null) ?? (o.label as string | undefined) ?? `passer-by@${line}`;
    spans.push({ identity: id as string | null, person, startMs: Math.round((start as number) * 1000), endMs: Math.round((end as number) * 1000), line, ...(box ? { box } : {}) });
  });
  // One person cannot be in two places at once: overlapping spans of one identity are a mistake.
  const byPerson = new Map<string, TruthSpan[]>();
  for (const s of spans) byPerson.set(s.person, [...(byPerson.get(s.person) ?? []), s]);
  for (const list of byPerson.values()) {
    const sorted = [...list].sort((a, b) => a.startMs - b.startMs);
    for (let i = 1; i < sorted.length; i++) {
      const a = sorted[i - 1]!;
      const b = sorted[i]!;
      if (b.startMs < a.endMs) throw new DatasetError(`${file} line ${Math.max(a.line, b.line)}: "${b.person}" overlaps the span on line ${Math.min(a.line, b.line)}`);
    }
  }
  return spans;
}

export interface Sighting {
  at: number;
  trackId: number;
  /** Face box in frame pixels, and the frame size. */
  box: { x: number; y: number; width: number; height: number };
  frameWidth: number;
  frameHeight: number;
}

export interface TruthAlert {
  identity: string;
  timeMs: number;
  track: number;
  box: Sighting['box'];
  frameWidth: number;
  frameHeight: number;
}

export interface PersonResult {
  person: string;
  identity: string | null;
  onScreenMs: number;
  /** Watchlisted people: an alert naming them on their own face. */
  alerted: boolean | null;
  /** From the start of their first span to their first correct alert (ms). */
  timeToAlertMs: number | null;
  /** Alerts raised on this person's face naming someone else. */
  wrongAlerts: number;
  /** Tracks that held this person's face and another person's. */
  switches: number;
}

export interface TruthReport {
  people: PersonResult[];
  /** Alerts naming someone, on a face that is not theirs (or when nobody is on screen). */
  wrongIdentityAlerts: number;
  /** Tracks holding faces of two or more people. */
  identitySwitches: number;
  alerted: number;
  missed: number;
  /** Faces seen at a time no span covers, or not inside any span's box when several are on screen. */
  unattributedFaces: number;
}

/**
 * A frame this close to a span's start or end may still show the scene before it (the decoder's
 * rate cap picks the nearest source frame): its faces are not attributed, rather than wrongly.
 */
const EDGE_MS = 50;

/** The truth person whose face this is, or null (nobody on screen, or several and no box says). */
function whoIs(spans: readonly TruthSpan[], at: number, box: Sighting['box'], w: number, h: number, edgeMs = EDGE_MS): TruthSpan | null {
  if (spans.some((s) => Math.abs(at - s.startMs) < edgeMs || Math.abs(at - s.endMs) < edgeMs)) {
    // Edge of a span: attribute only if the same answer holds on both sides of the edge.
    const a = whoIs(spans, at - edgeMs, box, w, h, 0);
    const b = whoIs(spans, at + edgeMs, box, w, h, 0);
    return a && b && a.person === b.person ? a : null;
  }
  const on = spans.filter((s) => s.startMs <= at && at < s.endMs);
  const cx = (box.x + box.width / 2) / w;
  const cy = (box.y + box.height / 2) / h;
  const inside = on.filter((s) => s.box && cx >= s.box[0] && cx <= s.box[0] + s.box[2] && cy >= s.box[1] && cy <= s.box[1] + s.box[3]);
  if (inside.length === 1) return inside[0]!;
  if (inside.length > 1) {
    // Overlapping boxes (two people crossing): the one drawn nearest the face centre.
    const d = (s: TruthSpan): number => Math.hypot(s.box![0] + s.box![2] / 2 - cx, s.box![1] + s.box![3] / 2 - cy);
    return [...inside].sort((a, b) => d(a) - d(b))[0]!;
  }
  if (on.length === 1 && !on[0]!.box) return on[0]!;
  return null;
}

export function scoreTruth(spans: readonly TruthSpan[], sightings: readonly Sighting[], alerts: readonly TruthAlert[]): TruthReport {
  const people = new Map<string, PersonResult>();
  for (const s of spans) {
    const p = people.get(s.person) ?? { person: s.person, identity: s.identity, onScreenMs: 0, alerted: s.identity === null ? null : false, timeToAlertMs: null, wrongAlerts: 0, switches: 0 };
    p.onScreenMs += s.endMs - s.startMs;
    people.set(s.person, p);
  }
  const firstStart = (person: string): number => Math.min(...spans.filter((s) => s.person === person).map((s) => s.startMs));
  let unattributed = 0;
  const trackPeople = new Map<number, Set<string>>();
  for (const s of sightings) {
    const who = whoIs(spans, s.at, s.box, s.frameWidth, s.frameHeight);
    if (!who) {
      unattributed++;
      continue;
    }
    trackPeople.set(s.trackId, (trackPeople.get(s.trackId) ?? new Set()).add(who.person));
  }
  let switches = 0;
  for (const set of trackPeople.values()) {
    if (set.size < 2) continue;
    switches++;
    for (const person of set) people.get(person)!.switches++;
  }
  let wrong = 0;
  for (const a of alerts) {
    const who = whoIs(spans, a.timeMs, a.box, a.frameWidth, a.frameHeight);
    if (who && who.identity === a.identity) {
      const p = people.get(who.person)!;
      if (!p.alerted) {
        p.alerted = true;
        p.timeToAlertMs = a.timeMs - firstStart(who.person);
      }
      continue;
    }
    wrong++;
    if (who) people.get(who.person)!.wrongAlerts++;
  }
  const list = [...people.values()];
  return {
    people: list,
    wrongIdentityAlerts: wrong,
    identitySwitches: switches,
    alerted: list.filter((p) => p.alerted === true).length,
    missed: list.filter((p) => p.alerted === false).length,
    unattributedFaces: unattributed,
  };
}
