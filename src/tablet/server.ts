// Serves the officer tablet page (web/tablet/) and its API (src/tablet/api.ts: the only way an
// alert's content leaves the van) over HTTPS on the van network. Served by the daemon rather than
// a separate web server so that there is one thing to install and one CA for the tablet to trust:
// the page and the broker's WebSocket listener share a host, and the page never comes from the
// internet (there is none).
//
// The file set is a fixed allow-list (no directory serving, no path joins from the URL): the page,
// its two scripts and stylesheet, the MQTT.js browser bundle from node_modules, and the compiled
// src/mqtt/topics.js, so the browser uses THE topic and payload definitions the daemon uses.
// Every response says Cache-Control: no-store and the page itself Clear-Site-Data, so a tablet
// keeps nothing of an alert after the tab closes (CONTEXT: images live <= 24 h, only on the van).
import https from 'node:https';
import { readFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import type { IncomingMessage, ServerResponse } from 'node:http';
import path from 'node:path';
import type { Logger } from 'pino';
import type { Config } from '../config/schema.js';
import type { Component } from '../lifecycle.js';
import { BUILD_ROOT, INSTALL_ROOT } from '../paths.js';
import { NOTE_PATH_RE, PHOTO_CHECK_PATH_RE, SCHEMA } from '../mqtt/topics.js';
import { brokerPaths } from '../mqtt/broker-setup.js';
import { TabletApi, type TabletApiDeps } from './api.js';
import { OfficerDirectory } from './officers.js';
import { MqttProxy, type MqttProxyOptions } from './mqtt-proxy.js';
import type { Duplex } from 'node:stream';

export interface TabletServerOptions {
  /** Address to listen on: the van LAN interface (or 0.0.0.0); tests use 127.0.0.1. */
  host: string;
  /** 0 picks a free port (tests). */
  port: number;
  certFile: string;
  keyFile: string;
  vanId: string;
  topicPrefix: string;
  /** Port of the broker's MQTT-over-WebSocket TLS listener, on the same host name as the page. */
  brokerWsPort: number;
  /** MQTT 5 session expiry the page asks for (config tablet.sessionExpirySeconds). */
  sessionExpirySeconds: number;
  /** The page locks itself after this many idle minutes (config tablet.idleLockMinutes). */
  idleLockMinutes?: number;
  log: Logger;
  /** The API (null: the page only, e.g. a test of the static files). */
  api: TabletApi | null;
  /** wss://<page host>/mqtt, piped to the broker on loopback after a ticket (null: none). */
  mqttProxy?: MqttProxy | null;
  /** The page may open the camera (the photo check is on: docs/tablet.md). */
  camera?: boolean;
}

/** What the page fetches at start: where the broker is and which topic tree is this van's. */
export interface TabletPageConfig {
  schema: typeof SCHEMA;
  vanId: string;
  topicPrefix: string;
  brokerWsPort: number;
  sessionExpirySeconds: number;
  idleLockMinutes: number;
}

interface Asset {
  file: string;
  type: string;
}

const JS = 'text/javascript; charset=utf-8';

/** URL path -> file. Absolute paths are resolved once, here, never from request input. */
export function tabletAssets(installRoot = INSTALL_ROOT, buildRoot = BUILD_ROOT): Map<string, Asset> {
  const web = path.join(installRoot, 'web', 'tablet');
  return new Map<string, Asset>([
    ['/', { file: path.join(web, 'index.html'), type: 'text/html; charset=utf-8' }],
    ['/app.js', { file: path.join(web, 'app.js'), type: JS }],
    ['/view.js', { file: path.join(web, 'view.js'), type: JS }],
    ['/alert-list.js', { file: path.join(web, 'alert-list.js'), type: JS }],
    ['/van-api.js', { file: path.join(web, 'van-api.js'), type: JS }],
    ['/audit-heads.js', { file: path.join(web, 'audit-heads.js'), type: JS }],
    ['/photo-check.js', { file: path.join(web, 'photo-check.js'), type: JS }],
    ['/style.css', { file: path.join(web, 'style.css'), type: 'text/css; charset=utf-8' }],
    ['/lib/mqtt.esm.js', { file: path.join(installRoot, 'node_modules', 'mqtt', 'dist', 'mqtt.esm.js'), type: JS }],
    ['/lib/topics.js', { file: path.join(buildRoot, 'src', 'mqtt', 'topics.js'), type: JS }],
  ]);
}

// Images arrive as data: URLs built in the page from the API's JSON; the only network peer besides
// this origin is the broker's wss listener. No inline script, no eval, no framing, no form posts.
const CSP = [
  "default-src 'none'",
  "script-src 'self'",
  // MQTT.js runs its keepalive timers in a blob: worker so a backgrounded tab is not throttled
  // into missing pings (and dropping the session); only script already on this page can make one.
  'worker-src blob:',
  "style-src 'self'",
  'img-src data:',
  "connect-src 'self' wss:",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

const SECURITY_HEADERS: Record<string, string> = {
  'Cache-Control': 'no-store',
  Pragma: 'no-cache',
  'Content-Security-Policy': CSP,
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
  'Strict-Transport-Security': 'max-age=31536000',
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Permissions-Policy': 'camera=(), microphone=(), geolocation=()',
};

export class TabletServer implements Component {
  readonly name = 'tablet-server';
  private server: https.Server | null = null;
  private readonly assets: Map<string, Asset>;

  constructor(private readonly opts: TabletServerOptions, assets?: Map<string, Asset>) {
    this.assets = assets ?? tabletAssets();
  }

  /** The bound port (after start). */
  get port(): number {
    return (this.server?.address() as AddressInfo | null)?.port ?? 0;
  }

  async start(signal: AbortSignal): Promise<void> {
    // One after the other, certificate first: with both missing, the error always names the
    // certificate (read together, whichever failed first was reported, and the message changed
    // from run to run).
    const cert = await readFile(this.opts.certFile);
    const key = await readFile(this.opts.keyFile);
    signal.throwIfAborted();
    const server = https.createServer({ cert, key, minVersion: 'TLSv1.2' }, (req, res) => {
      this.handle(req, res).catch((err: unknown) => {
        this.opts.log.warn({ err }, 'tablet page request failed');
        if (!res.headersSent) this.send(res, 500, 'text/plain; charset=utf-8', 'internal error');
        else res.destroy();
      });
    });
    // MQTT for tablets: only through here (src/tablet/mqtt-proxy.ts); any other upgrade is refused.
    server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
      if (this.opts.mqttProxy) this.opts.mqttProxy.upgrade(req, socket, head);
      else socket.destroy();
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.opts.port, this.opts.host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    this.server = server;
    this.opts.log.info({ host: this.opts.host, port: this.port }, 'tablet page served');
  }

  async stop(): Promise<void> {
    const server = this.server;
    this.server = null;
    this.opts.mqttProxy?.close();
    if (!server) return;
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
  }

  private pageConfig(): TabletPageConfig {
    return { schema: SCHEMA, vanId: this.opts.vanId, topicPrefix: this.opts.topicPrefix, brokerWsPort: this.opts.brokerWsPort, sessionExpirySeconds: this.opts.sessionExpirySeconds, idleLockMinutes: this.opts.idleLockMinutes ?? 10 };
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    // The two POSTs: a photo check and an officer's note (the API routes them, signed in, to
    // src/tablet/photo-check.ts and src/tablet/notes.ts).
    const posted = new URL(req.url ?? '/', 'https://tablet.invalid').pathname;
    const post = req.method === 'POST' && (PHOTO_CHECK_PATH_RE.test(posted) || NOTE_PATH_RE.test(posted));
    if (req.method !== 'GET' && req.method !== 'HEAD' && !post) {
      res.setHeader('Allow', 'GET, HEAD');
      return this.send(res, 405, 'text/plain; charset=utf-8', 'method not allowed');
    }
    const pathname = new URL(req.url ?? '/', 'https://tablet.invalid').pathname;
    if (this.opts.api && (await this.opts.api.handle(req, res, pathname, (r, status, type, body, extra) => this.send(r, status, type, body, req.method === 'HEAD', extra)))) return;
    if (pathname === '/config.json') {
      return this.send(res, 200, 'application/json; charset=utf-8', JSON.stringify(this.pageConfig()), req.method === 'HEAD');
    }
    const asset = this.assets.get(pathname === '/index.html' ? '/' : pathname);
    if (!asset) return this.send(res, 404, 'text/plain; charset=utf-8', 'not found');
    const body = await readFile(asset.file);
    // Each load of the page wipes anything a browser may have kept for this origin.
    if (pathname === '/' || pathname === '/index.html') res.setHeader('Clear-Site-Data', '"cache", "storage"');
    this.send(res, 200, asset.type, body, req.method === 'HEAD');
  }

  private send(res: ServerResponse, status: number, type: string, body: string | Buffer, headOnly = false, extra: Record<string, string> = {}): void {
    // With the photo check on, this origin (only) may ask for the camera; never the microphone.
    const camera = this.opts.camera ? { 'Permissions-Policy': 'camera=(self), microphone=(), geolocation=()' } : {};
    for (const [k, v] of Object.entries({ ...SECURITY_HEADERS, ...camera, ...extra })) res.setHeader(k, v);
    res.setHeader('Content-Type', type);
    res.setHeader('Content-Length', Buffer.byteLength(body));
    res.writeHead(status);
    res.end(headOnly ? undefined : body);
  }
}

/** What the API needs from the running van (see TabletApiDeps). */
export type TabletVan = Omit<TabletApiDeps, 'officers' | 'cameras' | 'vanId' | 'log'>;

/**
 * The daemon's one-liner: the tablet page and its API as configured, or null when `tablet.enabled`
 * is false. Needs the alert service, the deployment state, the broker link, audit and clock.
 */
export function tabletServerFromConfig(cfg: Config, log: Logger, van: TabletVan, proxy: Pick<MqttProxyOptions, 'budget'> = {}): TabletServer | null {
  if (!cfg.tablet.enabled) return null;
  const tlog = log.child({ module: 'tablet' });
  // The broker's WebSocket listener on loopback: tablets reach it only through this server.
  const mqttProxy = new MqttProxy({
    brokerUrl: `wss://127.0.0.1:${cfg.tablet.brokerWsPort}/mqtt`,
    caFile: cfg.mqtt.caFile ?? null,
    audit: van.audit,
    clock: van.clock,
    log: tlog,
    ...proxy,
  });
  const api = new TabletApi({
    mqttTicket: (officerId) => mqttProxy.issue(officerId),
    ...van,
    officers: new OfficerDirectory(brokerPaths(cfg).officersPasswd, [cfg.mqtt.username]),
    cameras: cfg.cameras.filter((c) => c.enabled).map((c) => ({ name: c.name, location: c.location ?? null })),
    vanId: cfg.van.id,
    timeZone: cfg.van.timeZone,
    log: tlog,
  });
  return new TabletServer({
    host: cfg.tablet.host,
    port: cfg.tablet.port,
    certFile: cfg.tablet.certFile,
    keyFile: cfg.tablet.keyFile,
    vanId: cfg.van.id,
    topicPrefix: cfg.mqtt.topicPrefix,
    brokerWsPort: cfg.tablet.brokerWsPort,
    sessionExpirySeconds: cfg.tablet.sessionExpirySeconds,
    idleLockMinutes: cfg.tablet.idleLockMinutes,
    log: tlog,
    api,
    mqttProxy,
    camera: cfg.tablet.photoCheck.enabled,
  });
}
