// Client side of the control socket, used by `lfr status`, `lfr health`, `lfr deployment` and
// the USB import unit. "Not running" is an answer, not an error: callers decide what it means.
import net from 'node:net';
import os from 'node:os';
import { MAX_REQUEST_BYTES, type ControlReply } from './protocol.js';

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

function actorName(): string {
  try {
    return os.userInfo().username;
  } catch {
    return `uid:${process.getuid?.() ?? '?'}`;
  }
}

/** Send one request and wait for its reply. Rejects DaemonNotRunning when nobody listens. */
export function callDaemon<T = unknown>(socketPath: string, method: string, params: Record<string, unknown> = {}, timeoutMs = 30_000): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const sock = net.connect(socketPath);
    let buf = '';
    const timer = setTimeout(() => {
      sock.destroy();
      reject(new ControlRequestError(`the daemon did not answer "${method}" within ${Math.round(timeoutMs / 1000)} s`, 'timeout'));
    }, timeoutMs);
    sock.setEncoding('utf8');
    sock.on('connect', () => sock.write(`${JSON.stringify({ method, params, actor: actorName() })}\n`));
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
    sock.on('error', (err: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      if (err.code === 'ENOENT' || err.code === 'ECONNREFUSED') reject(new DaemonNotRunning(socketPath));
      else if (err.code === 'EACCES') reject(new ControlRequestError(`permission denied on ${socketPath}: run as a member of the lfr group`, 'forbidden'));
      else reject(new ControlRequestError(`control socket error: ${err.code ?? err.message}`, 'io'));
    });
  });
}
