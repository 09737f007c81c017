// sd_notify for Type=notify units (GUIDE practice 7): READY=1 once started, STOPPING=1 on a clean
// stop, WATCHDOG=1 at half of WATCHDOG_USEC, STATUS= for `systemctl status`. A no-op when
// NOTIFY_SOCKET is unset (developer runs, tests).
//
// Node has no AF_UNIX datagram sockets. zigbee2mqtt loads the native `unix-dgram` addon; we avoid
// a native dependency. Spawning `systemd-notify` per message works but races: systemd attributes a
// message to a unit by the sender's PID, and a short-lived sender may be gone before systemd looks
// (systemd-notify(1), "--pid"). So ONE helper process lives as long as the daemon and forwards
// each stdin line as a datagram; with NotifyAccess=all in lfr.service its messages are accepted
// because it stays in the service's cgroup. python3 is part of every Debian/Jetson image we ship
// on; when it is missing we fall back to systemd-notify per message and log it once.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import type { Logger } from '../log.js';

// Abstract sockets start with '@' in NOTIFY_SOCKET and with a NUL byte on the wire.
const FORWARDER = `
import os, socket, sys
addr = os.environ["NOTIFY_SOCKET"]
if addr.startswith("@"): addr = "\\0" + addr[1:]
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
for line in sys.stdin:
    msg = line.rstrip("\\n").replace("\\\\n", "\\n")
    try: s.sendto(msg.encode(), addr)
    except OSError as e: sys.stderr.write("sd_notify: %s\\n" % e); sys.stderr.flush()
`;

export interface Notifier {
  readonly enabled: boolean;
  /** Half of WATCHDOG_USEC in ms, or null when the unit has no watchdog. */
  readonly watchdogIntervalMs: number | null;
  ready(status?: string): void;
  stopping(): void;
  status(text: string): void;
  /** Ping WATCHDOG=1 at watchdogIntervalMs while `alive()` says the event loop is doing its job. */
  startWatchdog(alive?: () => boolean): void;
  close(): void;
}

/** WATCHDOG_USEC applies to us only when WATCHDOG_PID is unset or names this process. */
export function watchdogInterval(env: NodeJS.ProcessEnv, pid: number): number | null {
  if (!env.WATCHDOG_USEC) return null;
  if (env.WATCHDOG_PID && Number(env.WATCHDOG_PID) !== pid) return null;
  const usec = Number(env.WATCHDOG_USEC);
  if (!Number.isFinite(usec) || usec <= 0) return null;
  return Math.max(1, Math.floor(usec / 1000 / 2));
}

/** Create once, early in start-up, before any child process: it takes NOTIFY_SOCKET out of the environment. */
export function createNotifier(log: Logger, env: NodeJS.ProcessEnv = process.env): Notifier {
  const socketPath = env.NOTIFY_SOCKET;
  const interval = watchdogInterval(env, process.pid);
  // Like sd_notify(unset_environment=1): children (timedatectl, GStreamer helpers) must not
  // inherit the socket, or their own exit notes (ERRNO=...) would be taken for ours.
  if (env === process.env) {
    delete process.env.NOTIFY_SOCKET;
    delete process.env.WATCHDOG_USEC;
    delete process.env.WATCHDOG_PID;
  }
  if (!socketPath) {
    return { enabled: false, watchdogIntervalMs: null, ready() {}, stopping() {}, status() {}, startWatchdog() {}, close() {} };
  }
  let helper: ChildProcess | null = null;
  let useFallback = false;
  let timer: NodeJS.Timeout | null = null;

  const fallback = (msg: string) => {
    execFile('systemd-notify', msg.split('\n'), { env: { ...process.env, NOTIFY_SOCKET: socketPath } }, (err) => {
      if (err) log.warn({ err }, 'systemd-notify failed');
    });
  };
  const startHelper = () => {
    const child = spawn('python3', ['-c', FORWARDER], { stdio: ['pipe', 'ignore', 'pipe'], env: { PATH: process.env.PATH ?? '/usr/bin:/bin', NOTIFY_SOCKET: socketPath } });
    child.on('error', () => {
      if (!useFallback) log.warn('python3 not found: sd_notify falls back to systemd-notify per message');
      useFallback = true;
      helper = null;
    });
    child.stderr?.on('data', (d: Buffer) => log.warn({ detail: d.toString().trim() }, 'sd_notify forwarder'));
    child.on('exit', () => {
      if (helper === child) helper = null;
    });
    child.stdin?.on('error', () => undefined);
    // The helper must never keep the daemon alive at exit.
    child.unref();
    (child.stdin as unknown as { unref?: () => void })?.unref?.();
    return child;
  };
  const send = (msg: string) => {
    if (useFallback) return fallback(msg);
    helper ??= startHelper();
    helper.stdin?.write(`${msg.replace(/\n/g, '\\n')}\n`);
  };

  return {
    enabled: true,
    watchdogIntervalMs: interval,
    ready(status) {
      send(status ? `READY=1\nSTATUS=${status}` : 'READY=1');
    },
    stopping() {
      send('STOPPING=1');
    },
    status(text) {
      send(`STATUS=${text.replace(/\n/g, ' ')}`);
    },
    startWatchdog(alive = () => true) {
      if (interval === null || timer) return;
      timer = setInterval(() => {
        // A hung component should get us restarted: skip the ping and let systemd act.
        if (alive()) send('WATCHDOG=1');
        else log.error('watchdog ping withheld: a component reports it is stuck');
      }, interval);
      timer.unref();
    },
    close() {
      if (timer) clearInterval(timer);
      timer = null;
      helper?.stdin?.end();
      helper = null;
    },
  };
}
