// Active probes, used when no running daemon can report its own view (the daemon is down, or
// `lfr health` runs before start-up): can the cameras and the broker be reached at all? The
// daemon's live view (frames arriving, client connected) always wins over these.
import net from 'node:net';
import tls from 'node:tls';
import { statSync } from 'node:fs';
import { NotARegularFile, readSmallFileSync } from '../util/files.js';
import { fileURLToPath } from 'node:url';
import mqtt from 'mqtt';
import type { CameraConfig, Config } from '../config/schema.js';
import type { BrokerFacts, CameraFacts } from './types.js';
import { credentialFreeUrl } from '../ingest/safe-url.js';

/** Status line of an RTSP reply: any RTSP answer (even 401) proves a camera is listening. */
export function parseRtspStatus(text: string): number | null {
  const m = /^RTSP\/1\.0 (\d{3})/.exec(text);
  return m ? Number(m[1]) : null;
}

export function probeCamera(cam: CameraConfig, timeoutMs = 3000): Promise<CameraFacts> {
  const base = { name: cam.name, enabled: cam.enabled, fps: null, dropped: null, url: credentialFreeUrl(cam.url) };
  if (!cam.enabled) return Promise.resolve({ ...base, state: 'stopped' });
  if (cam.url.startsWith('file://')) {
    try {
      statSync(fileURLToPath(cam.url));
      return Promise.resolve({ ...base, state: 'reachable', reason: 'file exists' });
    } catch {
      return Promise.resolve({ ...base, state: 'unreachable', reason: 'file not found' });
    }
  }
  const u = new URL(cam.url);
  const secure = u.protocol === 'rtsps:';
  const port = Number(u.port || (secure ? 322 : 554));
  return new Promise((resolve) => {
    let reply = '';
    const done = (f: Omit<CameraFacts, 'name' | 'enabled' | 'fps' | 'dropped'>) => {
      sock.destroy();
      clearTimeout(timer);
      resolve({ ...base, ...f });
    };
    // The URL is rebuilt from parts so no credential can ride along (the schema refuses them anyway).
    const target = `${u.protocol}//${u.host}${u.pathname}`;
    const sock = secure ? tls.connect({ host: u.hostname, port, rejectUnauthorized: false }) : net.connect({ host: u.hostname, port });
    const timer = setTimeout(() => done({ state: 'unreachable', reason: `no answer from ${u.hostname}:${port} within ${timeoutMs} ms` }), timeoutMs);
    sock.once(secure ? 'secureConnect' : 'connect', () => sock.write(`OPTIONS ${target} RTSP/1.0\r\nCSeq: 1\r\nUser-Agent: lfr-health\r\n\r\n`));
    sock.on('data', (d: Buffer) => {
      reply += d.toString('latin1');
      if (!reply.includes('\r\n')) return;
      const status = parseRtspStatus(reply);
      if (status === null) done({ state: 'unreachable', reason: 'the port answers but not with RTSP' });
      else done({ state: 'reachable', reason: `RTSP ${status}` });
    });
    sock.on('error', (err: NodeJS.ErrnoException) => {
      const why = err.code === 'ECONNREFUSED' ? 'connection refused' : err.code === 'EHOSTUNREACH' ? 'host unreachable' : (err.code ?? 'network error');
      done({ state: 'unreachable', reason: `${why} at ${u.hostname}:${port}` });
    });
  });
}

/** Connect to the broker as the daemon would (same user, password file and CA), then leave. */
export async function probeBroker(m: Config['mqtt'], timeoutMs = 4000): Promise<BrokerFacts> {
  let password: string | undefined;
  let ca: Buffer | undefined;
  try {
    if (m.passwordFile) password = readSmallFileSync(m.passwordFile, 64 * 1024).toString('utf8').trim();
    if (m.caFile) ca = readSmallFileSync(m.caFile);
  } catch (err) {
    return { connected: false, reason: err instanceof NotARegularFile ? `cannot read broker credentials: ${err.message}` : `cannot read broker credentials (${(err as NodeJS.ErrnoException).code ?? 'error'})` };
  }
  return new Promise((resolve) => {
    const client = mqtt.connect(m.url, {
      username: m.username,
      ...(password !== undefined ? { password } : {}),
      ...(ca ? { ca } : {}),
      clientId: `lfr-health-${process.pid}`,
      reconnectPeriod: 0,
      connectTimeout: timeoutMs,
      clean: true,
    });
    let settled = false;
    // Never removeAllListeners() here: mqtt.js clears its own connack timer in its 'close'
    // listener, and removing that kept the CLI alive for the whole connectTimeout.
    const finish = (f: BrokerFacts) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      client.end(true);
      resolve(f);
    };
    client.on('error', () => undefined);
    const timer = setTimeout(() => finish({ connected: false, reason: `no answer within ${timeoutMs} ms` }), timeoutMs + 500);
    client.once('connect', () => finish({ connected: true }));
    client.once('error', (err: Error & { code?: string | number }) => finish({ connected: false, reason: String(err.code ?? err.message) }));
    client.once('close', () => finish({ connected: false, reason: 'connection closed (broker down?)' }));
  });
}
