// Client side of the control socket, used by `lfr status`, `lfr health`, `lfr deployment` and
// the USB import unit. "Not running" is an answer, not an error: callers decide what it means.
import net from 'node:net';
import { MAX_REQUEST_BYTES, type ControlReply } from './protocol.js';
import { openRegularFile } from '../util/files.js';

export class DaemonNotRunning extends Error {
  constructor(readonly socketPath: string) {
    super(`the lfr daemon is not running (no control socket at ${socketPath})`);
    this.name = 'DaemonNotRunning';
  }
}

export class ControlRequestError extends Error {
  constructor(
    message: string,
    readonly code: string,
  ) {
    super(message);
    this.name = 'ControlRequestError';
  }
}

/** Send one request and wait for its reply. Rejects DaemonNotRunning when nobody listens. */
export function callDaemon<T = unknown>(socketPath: string, method: string, params: Record<string, unknown> = {}, timeoutMs = 30_000): Promise<T> {
  return exchange<T>(socketPath, method, params, timeoutMs, null);
}

/**
 * Send a file with the request (an UploadHandler on the daemon side). The file is opened HERE, as
 * the caller, refusing symlinks, FIFOs and devices (openRegularFile); the daemon gets bytes only.
 */
export async function sendFileToDaemon<T = unknown>(socketPath: string, method: string, params: Record<string, unknown>, file: string, timeoutMs: number): Promise<T> {
  const { fh, size } = await openRegularFile(file);
  try {
    return await exchange<T>(socketPath, method, { ...params, bytes: size }, timeoutMs, fh);
  } finally {
    await fh.close().catch(() => undefined);
  }
}

function exchange<T>(socketPath: string, method: string, params: Record<string, unknown>, timeoutMs: number, body: import('node:fs/promises').FileHandle | null): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const sock = net.connect(socketPath);
    let buf = '';
    const timer = setTimeout(() => {
      sock.destroy();
      reject(new ControlRequestError(`the daemon did not answer "${method}" within ${Math.round(timeoutMs / 1000)} s`, 'timeout'));
    }, timeoutMs);
    sock.setEncoding('utf8');
    sock.on('connect', () => {
      // No actor field: the daemon reads who we are from the socket (SO_PEERCRED).
      sock.write(`${JSON.stringify({ method, params })}\n`);
      if (body) {
        const stream = body.createReadStream({ autoClose: false, start: 0 });
        stream.on('error', (err) => {
          clearTimeout(timer);
          sock.destroy();
          reject(new ControlRequestError(`reading the file failed: ${err.message}`, 'io'));
        });
        stream.pipe(sock, { end: false });
      }
    });
    sock.on('data', (d: string) => {
      buf += d;
      if (buf.length > 16 * MAX_REQUEST_BYTES) buf = buf.slice(-16 * MAX_REQUEST_BYTES);
      const nl = buf.indexOf('\n');
      if (nl < 0) return;
      clearTimeout(timer);
      sock.end();
      let r: ControlReply;
      try {
        r = JSON.parse(buf.slice(0, nl)) as ControlReply;
      } catch {
        reject(new ControlRequestError('the daemon sent a reply that is not JSON', 'bad_reply'));
        return;
      }
      if (r.ok) resolve(r.result as T);
      else reject(new ControlRequestError(r.error, r.code ?? 'failed'));
    });
    sock.on('close', () => {
      clearTimeout(timer);
      // Resolved or rejected already when a reply came; otherwise the daemon hung up on us.
      reject(new ControlRequestError(`the daemon closed the connection without answering "${method}"`, 'io'));
    });
    sock.on('error', (err: NodeJS.ErrnoException) => {
      // While sending a file, the daemon may refuse and hang up before it has read everything:
      // its reply is already on the way; 'close' settles if it is not.
      if (body && (err.code === 'EPIPE' || err.code === 'ECONNRESET')) return;
      clearTimeout(timer);
      if (err.code === 'ENOENT' || err.code === 'ECONNREFUSED') reject(new DaemonNotRunning(socketPath));
      else if (err.code === 'EACCES') reject(new ControlRequestError(`permission denied on ${socketPath}: run as a member of the lfr group`, 'forbidden'));
      else reject(new ControlRequestError(`control socket error: ${err.code ?? err.message}`, 'io'));
    });
  });
}
