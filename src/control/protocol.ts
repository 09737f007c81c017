// The local control channel between `lfr` commands and the running daemon: one JSON request per
// line, one JSON reply per line, over a unix socket in paths.runtimeDir (0660, group lfr). A unix
// socket, not TCP: file permissions decide who may start or end a deployment, and nothing
// listens on a network port.
import path from 'node:path';

export const CONTROL_SOCKET = 'control.sock';
export const controlSocketPath = (runtimeDir: string) => path.join(runtimeDir, CONTROL_SOCKET);

/** Largest request accepted: requests are small JSON objects; anything bigger is a mistake or an attack. */
export const MAX_REQUEST_BYTES = 64 * 1024;

export interface ControlRequest {
  method: string;
  params?: Record<string, unknown>;
  /** Who asked (the OS user of the CLI), recorded in the audit log as the actor. */
  actor?: string;
}

export type ControlReply = { ok: true; result: unknown } | { ok: false; error: string; code?: string };

/** An error a handler throws to give the client a plain message (no stack crosses the socket). */
export class ControlError extends Error {
  constructor(
    message: string,
    readonly code = 'failed',
  ) {
    super(message);
    this.name = 'ControlError';
  }
}

export type ControlHandler = (params: Record<string, unknown>, actor: string) => Promise<unknown> | unknown;
