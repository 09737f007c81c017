// Tablets reach MQTT only through the van's HTTPS server (issue 21 item 4). Before this, an
// officer's password could be guessed against the broker's WebSocket listener with no throttle and
// no audit, each guess a 50,000-round PBKDF2 on single-threaded mosquitto (alert latency p50 5 ->
// 67 ms with six guessers). Now:
//
//   1. The page signs in through the throttled, audited API (OfficerDirectory: back-off, 429) and
//      asks GET /api/mqtt-ticket: a random 256-bit ticket bound to that officer, valid for a shift.
//   2. It opens wss://<page host>/mqtt?ticket=T on THIS server. No or unknown ticket: 401,
//      audited; an address that keeps trying: 429 with Retry-After, at no PBKDF2 cost.
//   3. The first MQTT packet must be a CONNECT whose username is the ticket's officer (else the
//      socket is closed and the refusal audited): a ticket for PC1 cannot be used to guess PC2's
//      password. A ticket may connect at most CONNECTS_PER_MINUTE times a minute (reconnects).
//   4. Only then is the broker's WebSocket listener dialled, on loopback, and the bytes piped both
//      ways. The broker still checks the password, as before, once per genuine (re)connect.
//   5. An officer may publish (decide) at most PUBLISH_BURST at once and PUBLISH_PER_SECOND more a
//      second, across all their connections, and all officers together TOTAL_BURST at once and
//      TOTAL_PER_SECOND more (with a reserve for officers who have published little:
//      publish-budget.ts); beyond that the connection is cut before the packet reaches the
//      broker, and audited with how many of its publishes had passed. Without this one officer's
//      flood (2,000 decisions), or four officers each within their own limit, filled the broker's
//      queue for the daemon (20 in flight + max_queued_messages 200) and the broker dropped other
//      officers' decisions, unaudited (issue 21, Low); the daemon's own per-officer limit cannot
//      help there, since the broker drops them before the daemon sees them.
//
// The broker's listener is reachable from loopback only (mosquitto 2.0.11 binds its WebSocket
// listener on every address whatever the config says, so its unit's IPAddressAllow=localhost is
// what closes it: systemd/mosquitto.service.d/lfr.conf), so no guess reaches mosquitto's PBKDF2
// except through steps 1-3.
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import mqttPacket from 'mqtt-packet';
import WebSocket, { WebSocketServer } from 'ws';
import type { AuditRecorder } from '../audit/log.js';
import type { Clock } from '../lifecycle.js';
import type { Logger } from '../log.js';
import { PublishCounter } from './mqtt-frames.js';
import { PUBLISH_BURST, PUBLISH_PER_SECOND, PublishBudget, TOTAL_BURST, TOTAL_PER_SECOND } from './publish-budget.js';

/** A ticket lives for a shift; signing out or a page reload asks for a new one. */
export const TICKET_TTL_MS = 12 * 3_600_000;
/** Reconnects a ticket may make per minute (MQTT.js retries every few seconds at most). */
export const CONNECTS_PER_MINUTE = 20;
/** Refused upgrades an address may make per minute before it gets 429. */
export const FREE_REFUSALS = 5;
const MAX_TICKETS = 2048;
export { PUBLISH_BURST, PUBLISH_PER_SECOND, TOTAL_BURST, TOTAL_PER_SECOND } from './publish-budget.js';
/** The first packet must arrive soon and be small (a CONNECT is < 1 KB). */
const CONNECT_WAIT_MS = 10_000;
const MAX_CONNECT_BYTES = 8 * 1024;
/** Refusals audited one by one per minute; the rest counted in one entry. */
const AUDIT_MAX = 30;

export interface MqttProxyOptions {
  /** wss://127.0.0.1:PORT/mqtt: the broker's WebSocket listener on loopback. */
  brokerUrl: string;
  /** The van CA file (mqtt.caFile): the broker's certificate is checked against it. */
  caFile: string | null;
  audit: AuditRecorder;
  clock: Clock;
  log: Logger;
  /**
   * The publish budget (publish-budget.ts). The daemon never passes one (a fresh PublishBudget);
   * a test passes its own to empty it deterministically, as a flood by over ten accounts does, and
   * so replay an honest decision refused by the total (test/integration/tablet-mqtt-proxy.test.ts).
   */
  budget?: PublishBudget;
}

interface Ticket {
  officerId: string;
  expiresAt: number;
  connects: number[];
}

export class MqttProxy {
  private readonly tickets = new Map<string, Ticket>();
  private readonly refusals = new Map<string, number[]>();
  private readonly wss = new WebSocketServer({ noServer: true, maxPayload: 64 * 1024, handleProtocols: (p) => (p.has('mqtt') ? 'mqtt' : false) });
  private readonly live = new Set<WebSocket>();
  private auditWindow = { start: 0, n: 0, suppressed: 0 };
  /** Publish budgets: per officer (all of their connections share it) and all officers together. */
  private readonly budget: PublishBudget;

  constructor(private readonly o: MqttProxyOptions) {
    this.budget = o.budget ?? new PublishBudget(MAX_TICKETS);
  }

  /** A new ticket for an officer the API has just signed in. */
  issue(officerId: string): { ticket: string; expiresAt: number } {
    const now = this.o.clock();
    if (this.tickets.size >= MAX_TICKETS) this.sweep(now);
    if (this.tickets.size >= MAX_TICKETS) this.tickets.delete(this.tickets.keys().next().value!);
    const ticket = randomBytes(32).toString('base64url');
    const expiresAt = now + TICKET_TTL_MS;
    this.tickets.set(ticket, { officerId, expiresAt, connects: [] });
    return { ticket, expiresAt };
  }

  /** The HTTPS server's 'upgrade' handler for /mqtt. */
  upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const now = this.o.clock();
    const address = req.socket.remoteAddress ?? 'unknown';
    const url = new URL(req.url ?? '/', 'https://tablet.invalid');
    if (url.pathname !== '/mqtt') return this.reject(socket, 404, 'not found');
    const recent = (this.refusals.get(address) ?? []).filter((t) => now - t < 60_000);
    if (recent.length >= FREE_REFUSALS) {
      this.refused('throttled', null, address);
      return this.reject(socket, 429, 'too many attempts', { 'Retry-After': String(Math.max(1, Math.ceil((60_000 - (now - recent[0]!)) / 1000))) });
    }
    const t = this.lookup(url.searchParams.get('ticket'), now);
    if (!t) {
      recent.push(now);
      this.refusals.set(address, recent);
      if (this.refusals.size > 4096) this.refusals.delete(this.refusals.keys().next().value!);
      this.refused('no valid ticket', null, address);
      return this.reject(socket, 401, 'sign-in required');
    }
    t.connects = t.connects.filter((c) => now - c < 60_000);
    if (t.connects.length >= CONNECTS_PER_MINUTE) {
      this.refused('ticket reconnecting too often', t.officerId, address);
      return this.reject(socket, 429, 'too many connections', { 'Retry-After': '60' });
    }
    t.connects.push(now);
    this.wss.handleUpgrade(req, socket, head, (ws) => this.pipe(ws, t.officerId, address));
  }

  /** Closes every piped connection (daemon stop). */
  close(): void {
    for (const ws of this.live) ws.terminate();
    this.live.clear();
    this.wss.close();
  }

  private lookup(ticket: string | null, now: number): Ticket | null {
    if (!ticket || !/^[A-Za-z0-9_-]{43}$/.test(ticket)) return null;
    const t = this.tickets.get(ticket);
    if (!t) return null;
    if (t.expiresAt <= now) {
      this.tickets.delete(ticket);
      return null;
    }
    return t;
  }

  private ca: Buffer | undefined;
  private caCert(): Buffer | undefined {
    if (this.ca === undefined && this.o.caFile) {
      try {
        this.ca = readFileSync(this.o.caFile);
      } catch (err) {
        this.o.log.error({ err: (err as Error).message }, 'tablet MQTT: cannot read the van CA');
      }
    }
    return this.ca;
  }

  private sweep(now: number): void {
    for (const [k, t] of this.tickets) if (t.expiresAt <= now) this.tickets.delete(k);
  }

  private pipe(ws: WebSocket, officerId: string, address: string): void {
    this.live.add(ws);
    const pending: Buffer[] = [];
    let pendingBytes = 0;
    let upstream: WebSocket | null = null;
    let checked = false;
    const parser = mqttPacket.parser({ protocolVersion: 5 });
    const timer = setTimeout(() => ws.terminate(), CONNECT_WAIT_MS);
    const end = (): void => {
      clearTimeout(timer);
      this.live.delete(ws);
      if (ws.readyState === WebSocket.OPEN || ws.readyState === WebSocket.CONNECTING) ws.terminate();
      if (upstream && (upstream.readyState === WebSocket.OPEN || upstream.readyState === WebSocket.CONNECTING)) upstream.terminate();
    };
    parser.on('packet', (p: { cmd: string; username?: string }) => {
      if (checked) return;
      checked = true;
      clearTimeout(timer);
      if (p.cmd !== 'connect' || p.username !== officerId) {
        // Not the name the CONNECT carried either: it may be a password typed in the wrong field.
        this.refused(p.cmd !== 'connect' ? 'first packet is not CONNECT' : 'CONNECT for another officer than the ticket', officerId, address);
        return end();
      }
      upstream = new WebSocket(this.o.brokerUrl, 'mqtt', { ca: this.caCert(), perMessageDeflate: false });
      upstream.binaryType = 'nodebuffer';
      upstream.on('open', () => {
        for (const b of pending.splice(0)) upstream!.send(b);
      });
      upstream.on('message', (data: Buffer) => {
        if (ws.readyState === WebSocket.OPEN) ws.send(data);
      });
      upstream.on('close', end);
      upstream.on('error', (err) => {
        this.o.log.warn({ err: err.message }, 'tablet MQTT: the broker link failed');
        end();
      });
    });
    parser.on('error', () => {
      if (!checked) {
        checked = true;
        this.refused('malformed MQTT', officerId, address);
        end();
      }
    });
    const counter = new PublishCounter();
    /** Publishes of this connection passed to the broker (audited with a cut). */
    let forwarded = 0;
    ws.on('message', (data: Buffer, isBinary: boolean) => {
      const b = isBinary ? data : Buffer.from(data);
      let publishes: number;
      try {
        publishes = counter.feed(b);
      } catch {
        this.refused('malformed MQTT', officerId, address);
        return end();
      }
      const over = publishes > 0 ? this.budget.take(officerId, publishes, this.o.clock()) : null;
      if (over) {
        const why = over === 'officer' ? `too many messages (over ${PUBLISH_BURST} at once, ${PUBLISH_PER_SECOND}/s)` : `too many messages from all officers together (over ${TOTAL_BURST} at once, ${TOTAL_PER_SECOND}/s: the broker's queue for the van)`;
        this.refused(why, officerId, address, { forwarded });
        return end();
      }
      forwarded += publishes;
      if (upstream && upstream.readyState === WebSocket.OPEN) return upstream.send(b);
      pendingBytes += b.length;
      if (pendingBytes > MAX_CONNECT_BYTES) return end();
      pending.push(b);
      if (!checked) parser.parse(b);
    });
    ws.on('close', end);
    ws.on('error', end);
  }

  private reject(socket: Duplex, status: number, text: string, headers: Record<string, string> = {}): void {
    const extra = Object.entries(headers).map(([k, v]) => `${k}: ${v}\r\n`).join('');
    socket.end(`HTTP/1.1 ${status} ${text}\r\nConnection: close\r\nContent-Type: text/plain\r\nContent-Length: ${Buffer.byteLength(text)}\r\n${extra}\r\n${text}`);
  }

  private refused(reason: string, officerId: string | null, address: string, extra: Record<string, number> = {}): void {
    const now = this.o.clock();
    if (now - this.auditWindow.start >= 60_000) {
      if (this.auditWindow.suppressed) this.o.audit.record('tablet.mqtt_refused', { reason: 'further refusals not itemised (rate limit)', count: this.auditWindow.suppressed });
      this.auditWindow = { start: now, n: 0, suppressed: 0 };
    }
    if (this.auditWindow.n++ < AUDIT_MAX) {
      this.o.audit.record('tablet.mqtt_refused', { reason, user: officerId, address, ...extra });
      this.o.log.warn({ reason, user: officerId }, 'tablet MQTT connection refused');
    } else this.auditWindow.suppressed++;
  }
}
