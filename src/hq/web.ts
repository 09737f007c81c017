// HQ's HTTPS server: the page (src/hq/page.ts), its CSV and HTML exports, and /api/fleet (JSON).
// Read-only: nothing a browser sends changes HQ's store.
import { readFileSync } from 'node:fs';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import type { Component } from '../lifecycle.js';
import type { Logger } from '../log.js';
import type { HqConfig } from './config.js';
import { deploymentsCsv, deploymentsHtml, hqPage, isOnline } from './page.js';
import type { HqStore } from './store.js';

export class HqWeb implements Component {
  readonly name = 'hq-web';
  private server: https.Server | null = null;

  constructor(
    private readonly cfg: HqConfig,
    private readonly store: HqStore,
    private readonly log: Logger,
  ) {}

  get port(): number {
    return (this.server?.address() as AddressInfo | null)?.port ?? 0;
  }

  async start(): Promise<void> {
    const w = this.cfg.web;
    const server = https.createServer({ cert: readFileSync(w.certFile), key: readFileSync(w.keyFile) }, (req, res) => {
      this.handle(req.method ?? 'GET', (req.url ?? '/').split('?')[0]!).then(
        (r) => {
          res.writeHead(r.status, { 'Content-Type': r.type, 'Cache-Control': 'no-store', 'X-Content-Type-Options': 'nosniff', 'Content-Security-Policy': "default-src 'none'; style-src 'unsafe-inline'", ...(r.download ? { 'Content-Disposition': `attachment; filename="${r.download}"` } : {}) });
          res.end(r.body);
        },
        (err: unknown) => {
          this.log.error({ err }, 'HQ page failed');
          res.writeHead(503, { 'Content-Type': 'text/plain; charset=utf-8' });
          res.end('HQ cannot read its database just now; try again shortly\n');
        },
      );
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(w.port, w.host, () => resolve());
    });
    this.server = server;
    this.log.info({ host: w.host, port: this.port }, 'HQ page served');
  }

  private async handle(method: string, url: string): Promise<{ status: number; type: string; body: string; download?: string }> {
    if (method !== 'GET') return { status: 405, type: 'text/plain; charset=utf-8', body: 'read-only\n' };
    const now = Date.now();
    if (url === '/') {
      const [fleet, deployments, rejections] = await Promise.all([this.store.fleet(), this.store.deployments(), this.store.rejections()]);
      return { status: 200, type: 'text/html; charset=utf-8', body: hqPage({ now, offlineAfterMs: this.cfg.offlineAfterSeconds * 1000, fleet, deployments, rejections }) };
    }
    if (url === '/deployments.csv') return { status: 200, type: 'text/csv; charset=utf-8', body: deploymentsCsv(await this.store.deployments(), now), download: 'lfr-deployments.csv' };
    if (url === '/deployments.html') return { status: 200, type: 'text/html; charset=utf-8', body: deploymentsHtml(await this.store.deployments(), now) };
    if (url === '/api/fleet') {
      const [fleet, deployments, rejections] = await Promise.all([this.store.fleet(), this.store.deployments(), this.store.rejections()]);
      const off = this.cfg.offlineAfterSeconds * 1000;
      return { status: 200, type: 'application/json', body: JSON.stringify({ now: new Date(now).toISOString(), vans: fleet.map((v) => ({ ...v, online: isOnline(v, now, off) })), deployments, rejections }) };
    }
    return { status: 404, type: 'text/plain; charset=utf-8', body: 'not found\n' };
  }

  async stop(): Promise<void> {
    const s = this.server;
    this.server = null;
    if (s) await new Promise<void>((r) => s.close(() => r()));
    s?.closeAllConnections();
  }
}
