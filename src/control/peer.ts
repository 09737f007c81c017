// Who sent a control request: the OS user on the other end of the unix socket, as the kernel
// recorded it at connect time (SO_PEERCRED), never a field of the request. A request that says
// "actor: Chief-Constable" is recorded under the account that really connected.
//
// Options weighed (Node has no SO_PEERCRED API): a `ss -xp` / procfs lookup of the peer needs to
// see other users' processes, which the unit's ProtectProc=invisible rightly hides, and races
// with a peer that exits; one socket per user gives a role, not a person; a tiny C addon needs a
// compiler on the van. getsockopt through koffi (src/util/libc.ts) is exact and race-free.
import { readFileSync } from 'node:fs';
import type net from 'node:net';
import { peerCredentials, type PeerCredentials } from '../util/libc.js';

export interface Peer extends PeerCredentials {
  /** "alice" or, for a uid with no passwd entry, "uid:1234": what the audit log records. */
  actor: string;
}

/** The socket's file descriptor (libuv's Pipe handle keeps it; Node exposes no public getter). */
function fdOf(sock: net.Socket): number {
  const fd = (sock as unknown as { _handle?: { fd?: unknown } })._handle?.fd;
  if (typeof fd !== 'number' || fd < 0) throw new Error('control connection has no file descriptor');
  return fd;
}

/** Name of a uid from /etc/passwd (read each time: accounts change while the daemon runs). */
export function userName(uid: number, passwd = '/etc/passwd'): string {
  try {
    for (const line of readFileSync(passwd, 'utf8').split('\n')) {
      const f = line.split(':');
      if (f.length >= 3 && Number(f[2]) === uid && f[0]) return f[0];
    }
  } catch {
    /* no passwd readable: the numeric id is still exact */
  }
  return `uid:${uid}`;
}

export function peerOf(sock: net.Socket): Peer {
  const c = peerCredentials(fdOf(sock));
  return { ...c, actor: userName(c.uid) };
}
