// sd_notify for real: a python3 process binds a unix datagram socket (what systemd does), the
// real daemon (`lfr run`) runs with NOTIFY_SOCKET and WATCHDOG_USEC set, and we read what arrives:
// READY=1 at start, WATCHDOG=1 at about half of WATCHDOG_USEC, STOPPING=1 on SIGTERM.
import test from 'ava';
import { spawn } from 'node:child_process';
import path from 'node:path';
import { makeEnv, startHost } from './fixtures/fieldops-env.js';

const RECEIVER = `
import socket, sys, time
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
print("BOUND", flush=True)
while True:
    m = s.recv(4096).decode().replace("\\n", "|")
    print("%d %s" % (int(time.monotonic() * 1000), m), flush=True)
`;

test('READY, WATCHDOG at half the interval, STOPPING on SIGTERM', async (t) => {
  const env = await makeEnv();
  const sock = path.join(env.dir, 'notify.sock');
  const recv = spawn('python3', ['-c', RECEIVER, sock], { stdio: ['ignore', 'pipe', 'inherit'] });
  t.teardown(() => {
    recv.kill('SIGKILL');
    env.cleanup();
  });
  const lines: Array<{ at: number; msg: string }> = [];
  let bound!: () => void;
  const isBound = new Promise<void>((r) => (bound = r));
  let buf = '';
  recv.stdout!.on('data', (d: Buffer) => {
    buf += d.toString();
    let nl: number;
    while ((nl = buf.indexOf('\n')) >= 0) {
      const l = buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      if (l === 'BOUND') bound();
      else {
        const sp = l.indexOf(' ');
        lines.push({ at: Number(l.slice(0, sp)), msg: l.slice(sp + 1) });
      }
    }
  });
  await isBound;
  // WATCHDOG_USEC 1 s: pings every 500 ms.
  const host = await startHost(env, { NOTIFY_SOCKET: sock, WATCHDOG_USEC: '1000000' });
  await new Promise((r) => setTimeout(r, 2600));
  t.is(await host.stop(), 0);
  await new Promise((r) => setTimeout(r, 300));
  const msgs = lines.map((l) => l.msg);
  t.true(msgs[0]?.startsWith('READY=1'), msgs.join(', '));
  const pings = lines.filter((l) => l.msg === 'WATCHDOG=1');
  t.true(pings.length >= 3 && pings.length <= 7, `${pings.length} pings in ~2.6 s`);
  // Timers on a loaded 2-core box drift; the median gap is what must sit near 500 ms.
  const gaps = pings.slice(1).map((p, i) => p.at - pings[i]!.at).sort((a, b) => a - b);
  const median = gaps[Math.floor(gaps.length / 2)]!;
  t.true(median > 350 && median < 800, `gaps ${gaps.join(',')} ms`);
  t.is(msgs[msgs.length - 1], 'STOPPING=1');
});
