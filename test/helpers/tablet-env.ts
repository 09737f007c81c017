// Pieces of a tablet test that the shared broker helper (test/helpers/mosquitto.ts) does not
// need: the SPKI hash Chromium is told to trust, and a TCP cut-switch in front of the broker's
// WebSocket listener so a test can drop the tablet's link without touching the broker.
import { X509Certificate, createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import net from 'node:net';

/** base64 SHA-256 of a certificate's public key: Chromium's --ignore-certificate-errors-spki-list. */
export async function spkiHash(certFile: string): Promise<string> {
  const der = new X509Certificate(await readFile(certFile)).publicKey.export({ type: 'spki', format: 'der' });
  return createHash('sha256').update(der).digest('base64');
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
