// The tablet page's HTTPS API: the only way an alert's content (face crop, context frame,
// watchlist image, subject reference, reason) leaves the van. Every request is signed in with the
// officer's broker account (HTTP Basic over TLS, checked by OfficerDirectory), answered from the
// encrypted alert store, and gone the moment the alert is purged.
//
//   GET /api/state          the van's clock, deployment, cameras, live alerts (no content)
//   GET /api/alerts/<id>    one alert's content (AlertContent, src/mqtt/topics.ts)
//   GET /api/mqtt-ticket    a ticket for wss://<this host>/mqtt (src/tablet/mqtt-proxy.ts): the
//                           only way a tablet reaches the broker, after this throttled sign-in
//   POST /api/alerts/<id>/photo-check   one photo compared 1:1 with the alert's subject (photo-check.ts)
//   POST /api/alerts/<id>/note          the officer's note on their decision, kept sealed with the
//                                       alert (notes.ts): notes never cross the broker
//
// 401 (audited, no detail) without a valid account; 404 with nothing else for anything unknown,
// purged or another van's (ids are unguessable; the answer never says which). Who read which
// alert's content is audited once per officer and alert.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AuditRecorder } from '../audit/log.js';
import type { Clock } from '../lifecycle.js';
import type { Logger } from '../log.js';
import { wipe } from '../crypto/secure.js';
import { ALERT_ID_RE, NOTE_PATH_RE, PHOTO_CHECK_PATH_RE, SCHEMA, type AlertSummary, type TabletState } from '../mqtt/topics.js';
import type { OfficerDirectory } from './officers.js';
import type { DeploymentMembership, NoteOutcome } from '../alerts/service.js';
import type { PhotoCheck } from './photo-check.js';
import { NoteRoute } from './notes.js';

export interface TabletApiDeps {
  officers: OfficerDirectory;
  alerts: {
    summaries(): AlertSummary[];
    contentJson(id: string): Buffer | null;
    store?: { get(id: string): { deploymentId: string | null } | null };
    /** Keeps an officer's note with the alert (AlertService); absent: no note route (404). */
    addOfficerNote?(alertId: string, officerId: string, text: string): NoteOutcome;
  };
  /**
   * The deployment record: an officer signed in while a deployment runs is on it; an ended
   * deployment's alerts are shown only to its own officers. Absent (a test of the page alone):
   * every held alert is shown.
   */
  deployments?: DeploymentMembership;
  /** The van's time zone (config van.timeZone) for the page's clock and card times. */
  timeZone?: string;
  deployment: () => TabletState['deployment'];
  brokerConnected: () => boolean;
  cameras: TabletState['cameras'];
  vanId: string;
  audit: AuditRecorder;
  clock: Clock;
  log: Logger;
  /** Issues MQTT tickets (src/tablet/mqtt-proxy.ts); absent: no MQTT through this server. */
  mqttTicket?: (officerId: string) => { ticket: string; expiresAt: number };
  /** The photo check (null: this van does not offer it). */
  photoCheck?: PhotoCheck | null;
}

/** Refused sign-ins audited one by one per minute; the rest are counted in one entry. */
const AUTH_AUDIT_MAX = 30;

export type Send = (res: ServerResponse, status: number, type: string, body: string | Buffer, extra?: Record<string, string>) => void;

const JSON_TYPE = 'application/json; charset=utf-8';

export class TabletApi {
  private readonly viewed = new Set<string>();
  private window = { start: 0, n: 0, suppressed: 0 };
  private readonly notes: NoteRoute | null;

  constructor(private readonly d: TabletApiDeps) {
    const alerts = d.alerts;
    this.notes = alerts.addOfficerNote ? new NoteRoute({ alerts: { addOfficerNote: (a, o, t) => alerts.addOfficerNote!(a, o, t) }, audit: d.audit, clock: d.clock, log: d.log }) : null;
  }

  /** Handles /api/...; returns false when the path is not an API path. */
  async handle(req: IncomingMessage, res: ServerResponse, pathname: string, send: Send): Promise<boolean> {
    if (!pathname.startsWith('/api/')) return false;
    const who = await this.d.officers.check(req.headers.authorization, req.socket.remoteAddress ?? 'unknown');
    if (!who.ok) {
      this.refused(who.reason, who.user, req);
      if (who.reason === 'throttled') {
        send(res, 429, 'text/plain; charset=utf-8', 'too many sign-in attempts', { 'Retry-After': String(who.retryAfterS) });
        return true;
      }
      // A scheme browsers do not prompt for: the page asks, never a native dialog.
      send(res, 401, 'text/plain; charset=utf-8', 'sign-in required', { 'WWW-Authenticate': 'LFR-Basic realm="lfr"' });
      return true;
    }
    const running = this.d.deployment();
    if (running) this.d.deployments?.noteOfficer(who.officerId);
    if (pathname === '/api/state') {
      const state: TabletState = {
        schema: SCHEMA,
        serverTime: this.d.clock(),
        officerId: who.officerId,
        vanId: this.d.vanId,
        brokerConnected: this.d.brokerConnected(),
        deployment: running,
        cameras: this.d.cameras,
        alerts: this.d.alerts.summaries().filter((a) => this.visible(a.deploymentId, running?.id ?? null, who.officerId)),
        timeZone: this.d.timeZone ?? 'Europe/London',
        photoCheck: this.d.photoCheck ? (({ enabled, threshold, falseMatchRate }) => ({ enabled, threshold, falseMatchRate }))(this.d.photoCheck.setting()) : null,
      };
      send(res, 200, JSON_TYPE, JSON.stringify(state));
      return true;
    }
    if (pathname === '/api/mqtt-ticket' && this.d.mqttTicket) {
      const t = this.d.mqttTicket(who.officerId);
      send(res, 200, JSON_TYPE, JSON.stringify({ ticket: t.ticket, expiresAt: t.expiresAt, path: '/mqtt' }));
      return true;
    }
    const note = NOTE_PATH_RE.exec(pathname);
    if (note && this.notes) {
      if (req.method === 'POST') await this.notes.handle(req, res, who.officerId, note[1]!, send);
      else send(res, 405, 'text/plain; charset=utf-8', 'method not allowed', { Allow: 'POST' });
      return true;
    }
    const check = PHOTO_CHECK_PATH_RE.exec(pathname);
    if (check || req.method === 'POST') {
      if (check && req.method === 'POST' && this.d.photoCheck) await this.d.photoCheck.handle(req, res, who.officerId, check[1]!, send);
      else if (check && req.method === 'POST') {
        // Off on this van: refused before a byte of the photo is read, and audited like any refusal.
        this.d.audit.record('photo_check.refused', { alertId: ALERT_ID_RE.test(check[1]!) ? check[1]! : null, reason: 'disabled' }, who.officerId);
        send(res, 403, JSON_TYPE, JSON.stringify({ schema: SCHEMA, refused: 'photo checks are switched off on this van' }));
      }
      else send(res, 405, 'text/plain; charset=utf-8', 'method not allowed', { Allow: check ? 'POST' : 'GET, HEAD' });
      return true;
    }
    const m = /^\/api\/alerts\/([^/]+)$/.exec(pathname);
    const id = m?.[1];
    const row = id && ALERT_ID_RE.test(id) ? this.d.alerts.store?.get(id) : undefined;
    // Another deployment's alert is "not found" to an officer who was not on it (same answer as unknown).
    const allowed = row === undefined || (row !== null && this.visible(row.deploymentId, running?.id ?? null, who.officerId));
    const body = id && ALERT_ID_RE.test(id) && allowed ? this.d.alerts.contentJson(id) : null;
    if (!body) {
      send(res, 404, 'text/plain; charset=utf-8', 'not found');
      return true;
    }
    const key = `${who.officerId}\u0000${id}`;
    if (!this.viewed.has(key)) {
      // Bounded: at worst a view is audited twice after a reset (ids are never reused).
      if (this.viewed.size >= 50_000) this.viewed.clear();
      this.viewed.add(key);
      this.d.audit.record('alert.viewed', { alertId: id! }, who.officerId);
    }
    send(res, 200, JSON_TYPE, body);
    // The decrypted content leaves this process through the TLS socket only: wipe our copy once
    // it has been handed to the socket.
    res.once('finish', () => wipe(body));
    res.once('close', () => wipe(body));
    return true;
  }

  /**
   * Whether an officer may see an alert of deployment `dep`: the running deployment's (and those
   * raised outside any deployment) to every signed-in officer; an ended deployment's to its own
   * officers only (read-only on the page, apart from the live ones).
   */
  private visible(dep: string | null, running: string | null, officerId: string): boolean {
    if (dep === null || dep === running || !this.d.deployments) return true;
    const m = this.d.deployments.membership(dep, officerId);
    return m.known && m.ended && m.onIt;
  }

  private refused(reason: string, user: string | null, req: IncomingMessage): void {
    const now = this.d.clock();
    if (now - this.window.start >= 60_000) {
      if (this.window.suppressed) this.d.audit.record('tablet.signin_refused', { reason: 'further refusals not itemised (rate limit)', count: this.window.suppressed });
      this.window = { start: now, n: 0, suppressed: 0 };
    }
    if (this.window.n++ < AUTH_AUDIT_MAX) {
      // Never the typed text of an unknown ID (it is often a password in the wrong field).
      const who = this.d.officers.auditName(user);
      this.d.audit.record('tablet.signin_refused', { reason, user: who, address: req.socket.remoteAddress ?? null });
      this.d.log.warn({ reason, user: who }, 'tablet request refused: not signed in');
    } else this.window.suppressed++;
  }
}
