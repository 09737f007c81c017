// Pieces of a tablet test that the shared broker helper (test/helpers/mosquitto.ts) does not
// need: the SPKI hash Chromium is told to trust, the van's page opened in Chromium, and a TCP
// cut-switch in front of the broker's WebSocket listener so a test can drop the tablet's link
// without touching the broker.
import { X509Certificate, createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import net from 'node:net';
import type { ExecutionContext } from 'ava';
import type { Page } from 'playwright-core';
import type { Config } from '../../src/config/schema.js';
import { brokerPaths } from '../../src/mqtt/broker-setup.js';
import { launchBrowser, type TestBrowser } from './browser.js';

/** base64 SHA-256 of a certificate's public key: Chromium's --ignore-certificate-errors-spki-list. */
export async function spkiHash(certFile: string): Promise<string> {
  const der = new X509Certificate(await readFile(certFile)).publicKey.export({ type: 'spki', format: 'der' });
  return createHash('sha256').update(der).digest('base64');
}

/**
 * A new page in a fresh Chromium that trusts exactly the van's page and broker certificates (the
 * page talks to both); the browser and its profile go when the test ends, pass or fail.
 */
export async function newVanPage(t: ExecutionContext, cfg: Config): Promise<Page> {
  let browser: TestBrowser | null = null;
  t.teardown(async () => browser?.close());
  browser = await launchBrowser({ spkiHashes: [await spkiHash(cfg.tablet.certFile), await spkiHash(brokerPaths(cfg).certFile)] });
  return browser.context.newPage();
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
