// Control socket server, mounted by the daemon with a table of handlers (status, health,
// deployment.start, deployment.end, watchlist.import ...). Kept small on purpose: line-delimited
// JSON, a hard size cap, no handler sees the socket. Two rules carry the security argument:
//   - the actor of every request is the peer's OS user from SO_PEERCRED (peer.ts), never a field;
//   - a file travels as bytes after its request line (UploadHandler), so the daemon never opens a
//     path that a request names.
import net from 'node:net';
import { chmodSync, closeSync, mkdirSync, openSync, readdirSync, rmSync, writeSync, constants as FS } from 'node:fs';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import type { Logger } from '../log.js';
import type { Component } from '../lifecycle.js';
import { ControlError, MAX_REQUEST_BYTES, UPLOAD_DIR, isUpload, type ControlEntry, type ControlReply, type ControlRequest, type UploadHandler } from './protocol.js';
import { peerOf, type Peer } from './peer.js';

export class ControlServer implements Component {
  readonly name = 'control';
  private server: net.Server | null = null;
  private readonly sockets = new Set<net.Socket>();
  private readonly uploadDir: string;

  constructor(
    private readonly socketPath: string,
    private readonly handlers: Readonly<Record<string, ControlEntry>>,
    private readonly log: Logger,
    /** Identify the peer; tests of the wire format may pass a fixed one. */
    private readonly identify: (sock: net.Socket) => Peer = peerOf,
  ) {
    this.uploadDir = path.join(path.dirname(socketPath), UPLOAD_DIR);
  }

  async start(): Promise<void> {
    mkdirSync(path.dirname(this.socketPath), { recursive: true, mode: 0o750 });
    // A socket left by a crashed run would make listen() fail with EADDRINUSE; uploads left by a
    // killed run are encrypted bundles nobody will finish: remove both.
    rmSync(this.socketPath, { force: true });
    rmSync(this.uploadDir, { recursive: true, force: true });
    mkdirSync(this.uploadDir, { mode: 0o700 });
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
    rmSync(this.uploadDir, { recursive: true, force: true });
  }

  private serve(sock: net.Socket): void {
    this.sockets.add(sock);
    sock.on('close', () => this.sockets.delete(sock));
    sock.on('error', () => undefined);
    let peer: Peer;
    try {
      peer = this.identify(sock);
    } catch (err) {
      // Without the peer's identity nothing is done: an unattributed action is worse than none.
      this.log.error({ err }, 'control connection refused: peer credentials unreadable');
      this.reply(sock, { ok: false, error: 'the daemon cannot identify the caller (SO_PEERCRED)', code: 'forbidden' });
      sock.end();
      return;
    }
    let buf: Buffer = Buffer.alloc(0);
    let uploading = false;
    const onData = (chunk: Buffer): void => {
      if (uploading) return;
      buf = buf.length ? Buffer.concat([buf, chunk]) : chunk;
      let nl: number;
      while (!uploading && (nl = buf.indexOf(0x0a)) >= 0) {
        const line = buf.subarray(0, nl).toString('utf8');
        buf = buf.subarray(nl + 1);
        if (!line.trim()) continue;
        const req = parse(line);
        if ('error' in req) {
          this.reply(sock, req.error);
          continue;
        }
        const entry = Object.hasOwn(this.handlers, req.method) ? this.handlers[req.method] : undefined;
        if (isUpload(entry) && !(entry.optional && req.params?.bytes === undefined)) {
          uploading = true;
          sock.off('data', onData);
          const rest = buf;
          buf = Buffer.alloc(0);
          void this.receive(sock, entry, req, peer, rest).then((r) => {
            this.reply(sock, r);
            sock.end();
          });
        } else {
          void this.handle(line, peer.actor).then((r) => this.reply(sock, r));
        }
      }
      if (!uploading && buf.length > MAX_REQUEST_BYTES) {
        this.reply(sock, { ok: false, error: 'request too large', code: 'bad_request' });
        sock.end();
        buf = Buffer.alloc(0);
      }
    };
    sock.on('data', onData);
  }

  private reply(sock: net.Socket, r: ControlReply): void {
    if (!sock.destroyed && sock.writable) sock.write(`${JSON.stringify(r)}\n`);
  }

  /** Read params.bytes raw bytes after the request line into a 0600 file, then run the handler. */
  private async receive(sock: net.Socket, h: UploadHandler, req: ControlRequest, peer: Peer, first: Buffer): Promise<ControlReply> {
    const params = req.params && typeof req.params === 'object' ? req.params : {};
    const bytes = params.bytes;
    if (typeof bytes !== 'number' || !Number.isInteger(bytes) || bytes < 1) return { ok: false, error: '"bytes" must be the size of the file that follows', code: 'bad_request' };
    if (bytes > h.maxBytes) return { ok: false, error: `file too large (${bytes} bytes; at most ${h.maxBytes})`, code: 'bad_request' };
    try {
      await h.precheck?.(params, peer.actor);
    } catch (err) {
      return this.failure(req.method, err);
    }
    const file = path.join(this.uploadDir, `upload-${randomBytes(8).toString('hex')}`);
    let fd: number | null = null;
    try {
      fd = openSync(file, FS.O_WRONLY | FS.O_CREAT | FS.O_EXCL | FS.O_NOFOLLOW, 0o600);
      const target = fd;
      let got = 0;
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => done(new ControlError(`the file did not arrive within ${Math.round(h.timeoutMs / 1000)} s`, 'timeout')), h.timeoutMs);
        const take = (chunk: Buffer): void => {
          const part = chunk.subarray(0, bytes - got);
          try {
            writeSync(target, part);
          } catch (err) {
            done(err as Error);
            return;
          }
          got += part.length;
          if (got >= bytes) done();
        };
        const onEnd = (): void => done(new ControlError(`the connection closed after ${got} of ${bytes} bytes`, 'bad_request'));
        const done = (err?: Error): void => {
          clearTimeout(timer);
          sock.off('data', take);
          sock.off('end', onEnd);
          sock.off('close', onEnd);
          if (err) reject(err);
          else resolve();
        };
        sock.on('data', take);
        sock.on('end', onEnd);
        sock.on('close', onEnd);
        if (first.length) take(first);
      });
      closeSync(fd);
      fd = null;
      return { ok: true, result: await h.run(params, peer.actor, file) };
    } catch (err) {
      return this.failure(req.method, err);
    } finally {
      if (fd !== null) closeSync(fd);
      rmSync(file, { force: true });
    }
  }

  private failure(method: string, err: unknown): ControlReply {
    if (err instanceof ControlError) return { ok: false, error: err.message, code: err.code };
    this.log.error({ err, method }, 'control request failed');
    return { ok: false, error: `the daemon could not do "${method}": ${(err as Error)?.message ?? String(err)}`, code: 'failed' };
  }

  /** One request line, run as `actor` (the peer's OS user). */
  async handle(line: string, actor: string): Promise<ControlReply> {
    const req = parse(line);
    if ('error' in req) return req.error;
    const fn = Object.hasOwn(this.handlers, req.method) ? this.handlers[req.method] : undefined;
    if (!fn || (isUpload(fn) && !fn.optional)) return { ok: false, error: `unknown request "${String(req.method)}"`, code: 'unknown_method' };
    const params = req.params && typeof req.params === 'object' ? req.params : {};
    try {
      if (isUpload(fn)) {
        await fn.precheck?.(params, actor);
        return { ok: true, result: await fn.run(params, actor, null) };
      }
      return { ok: true, result: await fn(params, actor) };
    } catch (err) {
      return this.failure(req.method, err);
    }
  }
}

function parse(line: string): ControlRequest | { error: ControlReply } {
  let req: ControlRequest;
  try {
    req = JSON.parse(line) as ControlRequest;
  } catch {
    return { error: { ok: false, error: 'request is not JSON', code: 'bad_request' } };
  }
  if (typeof req?.method !== 'string') return { error: { ok: false, error: 'request has no "method"', code: 'bad_request' } };
  return req;
}

/** Upload files left behind (for tests and the start-up sweep). */
export function pendingUploads(runtimeDir: string): string[] {
  try {
    return readdirSync(path.join(runtimeDir, UPLOAD_DIR));
  } catch {
    return [];
  }
}
