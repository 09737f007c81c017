// The world around a tablet test: a throw-away CA and broker certificate, a real mosquitto with a
// TLS listener (the van side) and a WebSocket-over-TLS listener (the tablets), per-user passwords
// and an ACL like the van's, and a TCP cut-switch in front of the WebSocket listener so a test can
// drop the tablet's link without touching the broker.
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { X509Certificate, createHash } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

export interface TestCerts {
  ca: string;
  cert: string;
  key: string;
  /** base64 SHA-256 of the broker certificate's public key, for Chromium's SPKI allow-list. */
  spki: string;
}

/** A CA and a leaf for localhost/127.0.0.1 made with openssl (EC P-256, 1 day). */
export async function makeCerts(dir: string): Promise<TestCerts> {
  await mkdir(dir, { recursive: true });
  const p = (f: string) => path.join(dir, f);
  const ossl = (args: string[]) => execFileSync('openssl', args, { stdio: 'pipe' });
  ossl(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '1', '-subj', '/CN=lfr test CA', '-keyout', p('ca.key'), '-out', p('ca.crt')]);
  ossl(['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-subj', '/CN=localhost', '-keyout', p('broker.key'), '-out', p('broker.csr')]);
  await writeFile(p('ext.cnf'), 'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n');
  ossl(['x509', '-req', '-in', p('broker.csr'), '-CA', p('ca.crt'), '-CAkey', p('ca.key'), '-CAcreateserial', '-days', '1', '-extfile', p('ext.cnf'), '-out', p('broker.crt')]);
  const der = new X509Certificate(await readFile(p('broker.crt'))).publicKey.export({ type: 'spki', format: 'der' });
  return { ca: p('ca.crt'), cert: p('broker.crt'), key: p('broker.key'), spki: createHash('sha256').update(der).digest('base64') };
}

export interface BrokerUsers {
  [user: string]: string;
}

export class TestBroker {
  proc: ChildProcess | null = null;
  readonly conf: string;
  constructor(
    readonly dir: string,
    readonly tlsPort: number,
    readonly wsPort: number,
  ) {
    this.conf = path.join(dir, 'mosquitto.conf');
  }

  async configure(certs: TestCerts, users: BrokerUsers, daemonUser: string): Promise<void> {
    await mkdir(path.join(this.dir, 'data'), { recursive: true });
    const pw = path.join(this.dir, 'passwd');
    await writeFile(pw, '', { mode: 0o600 });
    for (const [u, p] of Object.entries(users)) execFileSync('mosquitto_passwd', ['-b', pw, u, p], { stdio: 'pipe' });
    // Same shape as the van: the daemon owns lfr/#; any other user (an officer) reads alerts,
    // acks, availability and status, and writes adjudications only.
    await writeFile(
      path.join(this.dir, 'acl'),
      [`user ${daemonUser}`, 'topic readwrite lfr/#', '', 'pattern read lfr/+/availability', 'pattern read lfr/+/status', 'pattern read lfr/+/alerts/+', 'pattern read lfr/+/acks/+', 'pattern write lfr/+/adjudications/+', ''].join('\n'),
      { mode: 0o600 },
    );
    const tls = [`cafile ${certs.ca}`, `certfile ${certs.cert}`, `keyfile ${certs.key}`];
    await writeFile(
      this.conf,
      [
        // Run as whoever runs the test (as root, mosquitto would switch to a 'mosquitto' user that
        // cannot read the 0700 temp dir).
        `user ${os.userInfo().username}`,
        'per_listener_settings false',
        'allow_anonymous false',
        `password_file ${pw}`,
        `acl_file ${path.join(this.dir, 'acl')}`,
        'persistence true',
        `persistence_location ${path.join(this.dir, 'data')}/`,
        'log_dest stderr',
        'log_type error',
        `listener ${this.tlsPort} 127.0.0.1`,
        ...tls,
        `listener ${this.wsPort} 127.0.0.1`,
        'protocol websockets',
        ...tls,
        '',
      ].join('\n'),
    );
  }

  async start(): Promise<void> {
    const proc = spawn('mosquitto', ['-c', this.conf], { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    proc.stderr?.on('data', (d: Buffer) => (err += d.toString()));
    this.proc = proc;
    const deadline = Date.now() + 10_000;
    while (Date.now() < deadline) {
      if (proc.exitCode !== null) throw new Error(`mosquitto exited: ${err}`);
      if ((await canConnect(this.tlsPort)) && (await canConnect(this.wsPort))) return;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`mosquitto did not listen: ${err}`);
  }

  /** SIGTERM: mosquitto saves its sessions and queued messages, as on a clean van restart. */
  async stop(): Promise<void> {
    const proc = this.proc;
    this.proc = null;
    if (!proc || proc.exitCode !== null) return;
    await new Promise<void>((resolve) => {
      const t = setTimeout(() => proc.kill('SIGKILL'), 5000);
      proc.once('exit', () => {
        clearTimeout(t);
        resolve();
      });
      proc.kill('SIGTERM');
    });
  }
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

/** A TCP relay that can cut every link through it and refuse new ones until restored. */
export class CutSwitch {
  private server: net.Server | null = null;
  private socks = new Set<net.Socket>();
  cut = false;
  port = 0;
  constructor(readonly target: number) {}

  async start(): Promise<void> {
    const server = net.createServer((down) => {
      if (this.cut) return void down.destroy();
      const up = net.connect(this.target, '127.0.0.1');
      for (const s of [down, up]) {
        this.socks.add(s);
        s.on('close', () => this.socks.delete(s));
        s.on('error', () => undefined);
      }
      down.pipe(up).pipe(down);
      down.on('close', () => up.destroy());
      up.on('close', () => down.destroy());
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    this.server = server;
    this.port = (server.address() as net.AddressInfo).port;
  }

  disconnect(): void {
    this.cut = true;
    for (const s of this.socks) s.destroy();
  }

  restore(): void {
    this.cut = false;
  }

  async stop(): Promise<void> {
    this.disconnect();
    await new Promise<void>((r) => (this.server ? this.server.close(() => r()) : r()));
  }
}
