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
  // No "actor": who asked is the peer's OS user from SO_PEERCRED (peer.ts). A field a client
  // could fill in is exactly what let an entry read "Chief-Constable".
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

/**
 * A request that carries a file: the line gives params.bytes, the raw bytes follow on the same
 * connection. The CLI opens the file (as the operator, in its own mount namespace: a USB mount
 * made inside lfr-usb-import@.service, a bundle in the operator's home) and streams it; the
 * daemon never opens a path that a request names, so no FIFO, device, symlink or private mount
 * can reach it. The bytes land in a 0600 file under paths.runtimeDir (tmpfs), removed afterwards.
 */
export interface UploadHandler {
  upload: true;
  /** The file is optional: without params.bytes the handler runs with file = null. */
  optional?: boolean;
  /** Largest upload accepted (checked before a byte is read). */
  maxBytes: number;
  /** Whole upload must arrive within this long, or it is dropped (a stalled client holds nothing). */
  timeoutMs: number;
  /** Optional check before any byte is accepted (e.g. "a deployment is running"). Throw ControlError to refuse. */
  precheck?: (params: Record<string, unknown>, actor: string) => void | Promise<void>;
  run: (params: Record<string, unknown>, actor: string, file: string | null) => Promise<unknown> | unknown;
}

export type ControlEntry = ControlHandler | UploadHandler;

export const isUpload = (e: ControlEntry | undefined): e is UploadHandler => typeof e === 'object' && e !== null && (e as UploadHandler).upload === true;

/** Folder of uploads in progress, under paths.runtimeDir; emptied at start. */
export const UPLOAD_DIR = 'uploads';
