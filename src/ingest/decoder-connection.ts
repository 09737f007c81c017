// The daemon's side of ONE decoder process (decoder-process.ts): fork it, hand it the pipeline
// over IPC, read its frames from a private socket into owned frame buffers (frame-reader.ts),
// and turn what happens into calls on the camera's handlers. close() ends it all; after close
// nothing more is reported, so a late message of an old connection can never reach a new one.
// Supervision (states, watchdog, back-off) stays in camera.ts.
import { fork, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Logger } from '../log.js';
import type { BufferPools } from '../buffers/pools.js';
import type { DecoderEvent, DecoderStart } from './decoder-protocol.js';
import { FrameReader, type ReceivedFrame } from './frame-reader.js';

/** The compiled decoder process entry, beside this file. */
const DECODER_ENTRY = fileURLToPath(new URL('./decoder-process.js', import.meta.url));
/** A decoder process asked to stop is killed if it has not exited after this long. */
const DECODER_KILL_MS = 2000;

const CAM_DIR_PREFIX = 'lfr-cam-';

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM'; // exists, another user's
  }
}

/**
 * Remove the frame-socket folders (TMPDIR/lfr-cam-<pid>-*) left by a process that died without
 * closing its cameras (kill -9, a power cut with a disk TMPDIR): those whose owner pid is dead, or
 * is this process's own pid (reused after a restart: it has opened no camera yet when this runs).
 * Folders of a live process, and any without a pid in the name, are left alone. Returns how many went.
 */
export function cleanStaleCameraDirs(dir = os.tmpdir()): number {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return 0;
  }
  let removed = 0;
  for (const n of names) {
    const m = /^lfr-cam-(\d+)-[A-Za-z0-9]+$/.exec(n);
    if (!m) continue;
    const pid = Number(m[1]);
    if (pid !== process.pid && alive(pid)) continue;
    try {
      rmSync(path.join(dir, n), { recursive: true, force: true });
      removed++;
    } catch {
      /* another user's, or gone meanwhile */
    }
  }
  return removed;
}

export interface DecoderHandlers {
  built(decoder: string, kind: string): void;
  bus(type: string, src: string, message: string | null): void;
  counters(c: { in: number; out: number; pulled: number; dropped: number }): void;
  frame(f: ReceivedFrame): void;
  /** The decoder ended the socket after the last frame (end of a file or of the stream). */
  ended(): void;
  /** Plain words, `permanent` when retrying cannot help (the pipeline cannot be built). */
  failed(reason: string, permanent: boolean): void;
}

export interface DecoderConnectionOptions {
  start: DecoderStart;
  pools: BufferPools;
  /** Fast file delivery: the decoder pulls one frame per credit; `credits` are granted at once. */
  credits: number;
  log: Logger;
  /** Removes credentials from text the child wrote (its stderr). */
  scrub: (text: string) => string;
}

export class DecoderConnection {
  private readonly proc: ChildProcess;
  private sock: net.Socket | null = null;
  private reader: FrameReader | null = null;
  private readonly dir: string;
  private closed = false;

  constructor(
    private readonly o: DecoderConnectionOptions,
    private readonly h: DecoderHandlers,
  ) {
    // The owner's pid in the name: a daemon killed with -9 cannot remove it, the next one can
    // tell it is stale (cleanStaleCameraDirs).
    this.dir = mkdtempSync(path.join(os.tmpdir(), `${CAM_DIR_PREFIX}${process.pid}-`));
    const start: DecoderStart = { ...o.start, socketPath: path.join(this.dir, 'frames.sock') };
    // A fresh process per attempt: nothing GStreamer allocated survives a reconnect. Its libuv
    // pool is sized here (bus poll + appsink pull hold two threads), not by the user; and it gets
    // only the flags it needs, not the daemon's (an --inspect port, profiling).
    this.proc = fork(DECODER_ENTRY, [], {
      execArgv: ['--expose-gc'],
      stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
      env: { ...process.env, UV_THREADPOOL_SIZE: '4' },
      serialization: 'json',
    });
    this.proc.stderr?.on('data', (d: Buffer) => o.log.debug({ detail: o.scrub(d.toString().trim()).slice(0, 500) }, 'decoder process stderr'));
    this.proc.on('message', (e: DecoderEvent) => {
      if (!this.closed) this.onEvent(e, start.socketPath);
    });
    this.proc.on('error', (err) => this.fail(`the decoder process could not run: ${err.message}`));
    this.proc.on('exit', (code, signal) => this.fail(`the decoder process ended unexpectedly (${signal ?? `exit ${code}`})`));
    this.proc.send(start);
  }

  get pid(): number | undefined {
    return this.proc.pid;
  }

  /** Fast file delivery: the decoder may pull one more frame. */
  credit(): void {
    if (!this.closed && this.proc.connected) this.proc.send({ t: 'next' });
  }

  /** Stop the decoder (killed after 2 s), drop the socket, wipe a partly received frame. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    const proc = this.proc;
    if (proc.connected) {
      proc.send({ t: 'stop' }, () => undefined);
      proc.disconnect();
    }
    const kill = setTimeout(() => proc.kill('SIGKILL'), DECODER_KILL_MS);
    kill.unref();
    proc.once('exit', () => clearTimeout(kill));
    this.sock?.destroy();
    this.sock = null;
    this.reader?.close();
    this.reader = null;
    rmSync(this.dir, { recursive: true, force: true });
  }

  private fail(reason: string, permanent = false): void {
    if (!this.closed) this.h.failed(reason, permanent);
  }

  private onEvent(e: DecoderEvent, socketPath: string): void {
    switch (e.t) {
      case 'built':
        return this.h.built(e.decoder, e.kind);
      case 'listening':
        return this.openFrames(socketPath);
      case 'bus':
        return this.h.bus(e.type, e.src, e.message);
      case 'counters':
        return this.h.counters(e);
      case 'fatal':
        return this.fail(e.permanent ? `GStreamer pipeline cannot be built: ${e.message}` : e.message, e.permanent);
    }
  }

  /** The decoder listens: read its frames into owned frame buffers. */
  private openFrames(socketPath: string): void {
    const reader = new FrameReader(
      this.o.pools,
      (f) => {
        if (this.closed) f.lease.release();
        else this.h.frame(f);
      },
      (reason) => this.fail(reason),
    );
    this.reader = reader;
    const sock = net.connect({ path: socketPath, onread: reader.onread });
    this.sock = sock;
    sock.on('error', (err) => this.fail(`the decoder process connection failed: ${err.message}`));
    // The decoder ends the socket after the last frame of a file or stream.
    sock.on('end', () => {
      if (!this.closed) this.h.ended();
    });
    for (let i = 0; i < this.o.credits; i++) this.credit();
  }
}
