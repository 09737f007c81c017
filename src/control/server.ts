// Control socket server, mounted by the daemon with a table of handlers (status, health,
// deployment.start, deployment.end, watchlist.import ...). Kept tiny on purpose: line-delimited
// JSON, one request per connection is typical, a hard size cap, no handler sees the socket.
import net from 'node:net';
import { chmodSync, mkdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import type { Logger } from '../log.js';
import type { Component } from '../lifecycle.js';
import { ControlError, MAX_REQUEST_BYTES, type ControlHandler, type ControlReply, type ControlRequest } from './protocol.js';

export class ControlServer implements Component {
  readonly name = 'control';
  private server: net.Server | null = null;
  private readonly sockets = new Set<net.Socket>();

  constructor(
    private readonly socketPath: string,
    private readonly handlers: Readonly<Record<string, ControlHandler>>,
    private readonly log: Logger,
  ) {}

  async start(): Promise<void> {
    mkdirSync(path.dirname(this.socketPath), { recursive: true });
    // A socket left by a crashed run would make listen() fail with EADDRINUSE.
    rmSync(this.socketPath, { force: true });
    const server = net.createServer((sock) => this.serve(sock));
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.socketPath, () => resolve());
    });
    // 0660: the lfr user and members of its group (operators) may talk to the daemon; others not.
    chmodSync(this.socketPath, 0o660);
    this.log.info({ socket: this.socketPath }, 'control socket listening');
  }

  async stop(): Promise<void> {
    const s = this.server;
    this.server = null;
    for (const sock of this.sockets) sock.destroy();
    if (s) await new Promise<void>((r) => s.close(() => r()));
    rmSync(this.socketPath, { force: true });
  }

  private serve(sock: net.Socket): void {
    this.sockets.add(sock);
    sock.on('close', () => this.sockets.delete(sock));
    sock.on('error', () => undefined);
    let buf = '';
    sock.setEncoding('utf8');
    sock.on('data', (chunk: string) => {
      buf += chunk;
      if (buf.length > MAX_REQUEST_BYTES) {
        this.reply(sock, { ok: false, error: 'request too large', code: 'bad_request' });
        sock.end();
        return;
      }
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        if (line.trim()) void this.handle(line).then((r) => this.reply(sock, r));
      }
    });
  }

  private reply(sock: net.Socket, r: ControlReply): void {
    if (!sock.destroyed) sock.write(`${JSON.stringify(r)}\n`);
  }

  async handle(line: string): Promise<ControlReply> {
    let req: ControlRequest;
    try {
      req = JSON.parse(line) as ControlRequest;
    } catch {
      return { ok: false, error: 'request is not JSON', code: 'bad_request' };
    }
    const fn = typeof req?.method === 'string' && Object.hasOwn(this.handlers, req.method) ? this.handlers[req.method] : undefined;
    if (!fn) return { ok: false, error: `unknown request "${String(req?.method)}"`, code: 'unknown_method' };
    const params = req.params && typeof req.params === 'object' ? req.params : {};
    const actor = typeof req.actor === 'string' && req.actor ? req.actor.slice(0, 64) : 'unknown';
    try {
      return { ok: true, result: await fn(params, actor) };
    } catch (err) {
      if (err instanceof ControlError) return { ok: false, error: err.message, code: err.code };
      this.log.error({ err, method: req.method }, 'control request failed');
      return { ok: false, error: `the daemon could not do "${req.method}": ${(err as Error)?.message ?? String(err)}`, code: 'failed' };
    }
  }
}
