// An officer's note on an alert, over the tablet's HTTPS API (issue 21: "notes stay on the van";
// before this they travelled in the MQTT decision, through the broker):
//
//   POST /api/alerts/<id>/note   body: {"note": "..."} (application/json, <= MAX_NOTE_CHARS)
//
// Signed in like every /api/ route (TabletApi checked the officer's account before this runs).
// The page sends the note once the van has acknowledged the officer's decision on that alert;
// AlertService.addOfficerNote holds the rules (their own decision, a deployment they may act on,
// at most MAX_NOTES_PER_OFFICER) and stores it sealed with the alert, where notes always lived.
//
// The audit trail holds no free text: a saved note is audited as `alert.note_added` with the alert,
// its deployment, the officer (actor) and the note's LENGTH; a refusal as `alert.note_refused` with
// a fixed reason code (and the alert id only when it is well-formed). The body is read into one
// bounded buffer and zeroed once parsed; nothing of it is logged.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { z } from 'zod';
import type { AuditRecorder } from '../audit/log.js';
import type { Clock } from '../lifecycle.js';
import type { Logger } from '../log.js';
import type { NoteOutcome } from '../alerts/service.js';
import { ALERT_ID_RE, MAX_NOTE_CHARS, SCHEMA, type NoteRefusal, type NoteSaved } from '../mqtt/topics.js';
import type { Send } from './api.js';

const JSON_TYPE = 'application/json; charset=utf-8';
/**
 * Largest body read. 280 characters as JSON take at most 280 x 6 bytes (every one a \uXXXX
 * escape) plus the braces and the key: 2 KB covers any note a page can send, and anything larger
 * is refused from Content-Length before a byte is read.
 */
export const MAX_NOTE_BODY_BYTES = 2048;
/** Refusals itemised in the audit trail per minute; the rest are counted in one entry. */
const AUDIT_MAX = 60;

/** The body: exactly one field, a string with something in it besides spaces. */
export const NoteBodySchema = z.strictObject({ note: z.string().max(MAX_NOTE_CHARS) });

export interface NoteRouteDeps {
  alerts: { addOfficerNote(alertId: string, officerId: string, text: string): NoteOutcome };
  audit: AuditRecorder;
  clock: Clock;
  log: Logger;
}

type RefusalCode = 'unknown_alert' | 'no_decision' | 'too_many_notes' | 'not_json_type' | 'no_length' | 'too_large' | 'truncated' | 'not_json' | 'bad_body' | 'too_long' | 'empty';

/** Each refusal: its HTTP status and the plain words the officer reads. Never what was sent. */
const REFUSALS: Record<RefusalCode, [number, string]> = {
  unknown_alert: [404, 'no such alert on the van (never raised, already deleted, or not of a deployment you were on): note not saved'],
  no_decision: [409, 'record your decision on this alert first: a note is kept with your decision (note not saved)'],
  too_many_notes: [409, 'you have already added the most notes allowed on this alert: note not saved'],
  not_json_type: [415, 'the note must be sent as JSON (Content-Type: application/json)'],
  no_length: [411, 'the request must say its length'],
  too_large: [413, `the note is too long (at most ${MAX_NOTE_CHARS} characters)`],
  truncated: [400, 'the request ended early: note not saved'],
  not_json: [400, 'the body is not valid JSON: note not saved'],
  bad_body: [400, 'the body must be {"note": "..."} with the note as text, and nothing else'],
  too_long: [413, `the note is too long (at most ${MAX_NOTE_CHARS} characters)`],
  empty: [400, 'the note is empty: nothing to save'],
};

class Refused extends Error {
  constructor(readonly code: RefusalCode) {
    super(code);
  }
}

export class NoteRoute {
  private window = { start: 0, n: 0, suppressed: 0 };

  constructor(private readonly d: NoteRouteDeps) {}

  /** POST /api/alerts/<id>/note by a signed-in officer. Never throws. */
  async handle(req: IncomingMessage, res: ServerResponse, officerId: string, alertId: string, send: Send): Promise<void> {
    const idOk = ALERT_ID_RE.test(alertId);
    try {
      if (!idOk) throw new Refused('unknown_alert');
      const text = await this.readNote(req);
      const r = this.d.alerts.addOfficerNote(alertId, officerId, text);
      if (!r.ok) throw new Refused(r.code);
      // The length, never the text: the audit trail refuses free text (audit/log.ts FORBIDDEN_FIELDS).
      this.d.audit.record('alert.note_added', { alertId, deploymentId: r.deploymentId, chars: text.length }, officerId);
      this.d.log.info({ alertId, chars: text.length }, 'officer note saved with the alert');
      const body: NoteSaved = { schema: SCHEMA, alertId, saved: true, chars: text.length };
      send(res, 201, JSON_TYPE, JSON.stringify(body));
    } catch (err) {
      const code = err instanceof Refused ? err.code : null;
      if (!code) this.d.log.warn({ err, alertId: idOk ? alertId : null }, 'note failed');
      const [status, message] = code ? REFUSALS[code] : [500, 'the van could not save the note; try again'];
      this.refused(idOk ? alertId : null, code ?? 'failed', officerId);
      const headers: Record<string, string> = {};
      // Whatever is still arriving is not kept: the connection closes once the answer is out.
      if (!req.complete) {
        headers.Connection = 'close';
        req.on('data', (chunk: Buffer) => chunk.fill(0));
        res.once('finish', () => req.destroy());
      }
      const body: NoteRefusal = { schema: SCHEMA, refused: message };
      send(res, status, JSON_TYPE, JSON.stringify(body), headers);
    }
  }

  /** The note's text, checked: JSON of the right type and size, one string field, not blank. */
  private async readNote(req: IncomingMessage): Promise<string> {
    const type = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
    if (type !== 'application/json') throw new Refused('not_json_type');
    const raw = await readBody(req);
    let v: unknown;
    try {
      v = JSON.parse(raw.toString('utf8'));
    } catch {
      throw new Refused('not_json');
    } finally {
      raw.fill(0);
    }
    const r = NoteBodySchema.safeParse(v);
    if (!r.success) throw new Refused(r.error.issues.some((i) => i.code === 'too_big') ? 'too_long' : 'bad_body');
    const text = r.data.note.trim();
    if (!text) throw new Refused('empty');
    return text;
  }

  /** Audited refusal: a fixed code, the alert when well-formed, the officer; rate-limited. */
  private refused(alertId: string | null, reason: string, officerId: string): void {
    const now = this.d.clock();
    if (now - this.window.start >= 60_000) {
      if (this.window.suppressed) this.d.audit.record('alert.note_refused', { alertId: null, reason: 'further refusals not itemised (rate limit)', count: this.window.suppressed });
      this.window = { start: now, n: 0, suppressed: 0 };
    }
    if (this.window.n++ < AUDIT_MAX) {
      this.d.audit.record('alert.note_refused', { alertId, reason }, officerId);
      this.d.log.warn({ alertId, reason }, 'officer note refused');
    } else this.window.suppressed++;
  }
}

/** The body into one buffer of at most MAX_NOTE_BODY_BYTES, each socket chunk zeroed once copied. */
function readBody(req: IncomingMessage): Promise<Buffer> {
  const declared = Number(req.headers['content-length']);
  if (req.headers['content-length'] === undefined || !Number.isInteger(declared) || declared < 0) return Promise.reject(new Refused('no_length'));
  if (declared > MAX_NOTE_BODY_BYTES) return Promise.reject(new Refused('too_large'));
  const buf = Buffer.alloc(declared);
  let n = 0;
  return new Promise((resolve, reject) => {
    req.on('data', (chunk: Buffer) => {
      if (n + chunk.length > declared) {
        chunk.fill(0);
        buf.fill(0);
        req.removeAllListeners('data');
        req.pause();
        reject(new Refused('too_large'));
        return;
      }
      chunk.copy(buf, n);
      n += chunk.length;
      chunk.fill(0);
    });
    req.once('end', () => {
      if (n === declared) return resolve(buf);
      buf.fill(0);
      reject(new Refused('truncated'));
    });
    req.once('error', () => {
      buf.fill(0);
      reject(new Refused('truncated'));
    });
  });
}
