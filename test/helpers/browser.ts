// Headless Chromium for the tablet tests: Debian's /usr/bin/chromium driven by playwright-core
// (never `npx playwright install`: the van and this box have no internet). Each launch gets a
// fresh profile directory, removed at close, so no test sees another's cookies or storage.
import { mkdtemp, rm } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium, type Browser, type BrowserContext } from 'playwright-core';

export const CHROMIUM = '/usr/bin/chromium';

export function chromiumAvailable(): boolean {
  return existsSync(CHROMIUM);
}

export interface TestBrowser {
  context: BrowserContext;
  profileDir: string;
  close(): Promise<void>;
}

/**
 * Launches Chromium with a fresh profile. `spkiHashes` (base64 SHA-256 of a certificate's public
 * key) are trusted for TLS, so the test trusts exactly its own throw-away CA's leaf, nothing more.
 */
export async function launchBrowser(opts: { spkiHashes?: string[]; args?: string[] } = {}): Promise<TestBrowser> {
  const profileDir = await mkdtemp(path.join(os.tmpdir(), 'lfr-chromium-'));
  const args = [
    '--headless',
    '--no-sandbox',
    '--disable-gpu',
    '--disable-quic',
    '--no-first-run',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
    // WebAudio/vibration need no gesture in tests; the page still works without them.
    '--autoplay-policy=no-user-gesture-required',
  ];
  if (opts.spkiHashes?.length) args.push(`--ignore-certificate-errors-spki-list=${opts.spkiHashes.join(',')}`);
  // E.g. a fake camera: --use-fake-device-for-media-stream --use-file-for-fake-video-capture=F.y4m
  args.push(...(opts.args ?? []));
  // launchPersistentContext is how a --user-data-dir is given to playwright.
  const context = await chromium.launchPersistentContext(profileDir, {
    executablePath: CHROMIUM,
    headless: true,
    args,
    viewport: { width: 1280, height: 900 },
  });
  return {
    context,
    profileDir,
    async close() {
      await context.close().catch(() => undefined);
      await rm(profileDir, { recursive: true, force: true });
    },
  };
}

export type { Browser };
