// A test that cannot run must FAIL, not pass. Each integration test names the real parts it needs;
// when one is missing:
//   - under CI=true (what .ci/run runs): the test fails with the reason, so a machine that lost
//     mosquitto, the RTSP server or Chromium can never turn into a green run;
//   - on a developer's machine: the test is skipped with the same reason, visibly (ava counts it
//     as skipped, never as passed).
// The evaluation data in ../shared is NOT a prerequisite of any test (the rules of ../shared/data:
// the project's tests must pass without it); tests that use it are optional and say so.
import avaTest, { type ExecutionContext } from 'ava';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { MOSQUITTO } from './mosquitto.js';
import { postgresAvailable } from '../../src/tools/postgres.js';
import { rtspServerAvailable } from '../../src/tools/rtsp-server.js';
import { chromiumAvailable, CHROMIUM } from './browser.js';
import { INSTALL_ROOT } from '../../src/paths.js';
import { DEMO_PHOTO_DIR } from '../../src/tools/demo/photos.js';

export type Prereq = 'postgres' | 'mosquitto' | 'rtsp' | 'chromium' | 'models' | 'demo-photos' | 'gstreamer' | 'systemd-analyze' | 'openssl' | 'systemd-creds';

const CHECKS: Record<Prereq, () => string | null> = {
  postgres: () => (postgresAvailable() ? null : 'PostgreSQL is not installed (apt-get install postgresql; bash scripts/setup.sh)'),
  mosquitto: () => (MOSQUITTO ? null : 'mosquitto is not installed (apt-get install mosquitto; bash scripts/setup.sh)'),
  rtsp: () => (rtspServerAvailable() ? null : 'the RTSP test server needs python3-gi and gir1.2-gst-rtsp-server-1.0 for /usr/bin/python3 (bash scripts/setup.sh)'),
  chromium: () => (chromiumAvailable() ? null : `Chromium is not installed at ${CHROMIUM} (apt-get install chromium; bash scripts/setup.sh)`),
  models: () => (existsSync(path.join(INSTALL_ROOT, 'models', 'manifest.json')) && existsSync(path.join(INSTALL_ROOT, 'models', 'fr_feature.int8.onnx')) ? null : 'the models are not prepared (node scripts/prepare-models.mjs; bash scripts/setup.sh)'),
  'demo-photos': () => (existsSync(path.join(DEMO_PHOTO_DIR, 'sample1.jpg')) ? null : `the demo photos are missing from ${DEMO_PHOTO_DIR} (npm ci)`),
  'systemd-analyze': () => (existsSync('/usr/bin/systemd-analyze') ? null : 'systemd-analyze is not installed (apt-get install systemd; bash scripts/setup.sh)'),
  // Sealing with the host key needs no TPM and no systemd as PID 1 (tests point
  // SYSTEMD_CREDENTIAL_SECRET at their own host key file): checked by really sealing.
  'systemd-creds': () => systemdCredsWorks(),
  openssl: () => (existsSync('/usr/bin/openssl') && existsSync('/usr/bin/mosquitto_passwd') ? null : 'openssl or mosquitto_passwd is not installed (bash scripts/setup.sh)'),
  gstreamer: () => (existsSync('/usr/bin/gst-launch-1.0') ? null : 'GStreamer is not installed (bash scripts/setup.sh)'),
};

let credsChecked: string | null | undefined;
function systemdCredsWorks(): string | null {
  if (credsChecked !== undefined) return credsChecked;
  const why = 'systemd-creds encrypt/decrypt --with-key=host does not work here (apt-get install systemd; bash scripts/setup.sh)';
  if (!existsSync('/usr/bin/systemd-creds')) return (credsChecked = why);
  const d = mkdtempSync(path.join(os.tmpdir(), 'lfr-creds-check-'));
  try {
    const env = { ...process.env, SYSTEMD_CREDENTIAL_SECRET: path.join(d, 'host.secret') };
    writeFileSync(path.join(d, 'p'), 'x');
    execFileSync('/usr/bin/systemd-creds', ['encrypt', '--name=check', '--with-key=host', path.join(d, 'p'), path.join(d, 'c')], { env, stdio: 'ignore' });
    const out = execFileSync('/usr/bin/systemd-creds', ['decrypt', '--name=check', path.join(d, 'c'), '-'], { env, stdio: ['ignore', 'pipe', 'ignore'] });
    credsChecked = out.toString() === 'x' ? null : why;
  } catch (err) {
    credsChecked = `${why}: ${(err as Error).message.split('\n')[0]}`;
  } finally {
    rmSync(d, { recursive: true, force: true });
  }
  return credsChecked;
}

export class MissingPrerequisite extends Error {
  override name = 'MissingPrerequisite';
}

/** The reasons of the missing prerequisites (empty: all present). */
export function missingPrereqs(need: readonly Prereq[]): string[] {
  return need.map((p) => CHECKS[p]()).filter((r): r is string => r !== null);
}

export const STRICT = process.env.CI === 'true' || process.env.CI === '1';

/**
 * Throws MissingPrerequisite (the test fails with the reason) when a prerequisite is missing under
 * CI; outside CI too, unless the test was declared with `needs()` below (then it is skipped).
 */
export function requirePrereqs(need: readonly Prereq[]): void {
  const missing = missingPrereqs(need);
  if (missing.length) throw new MissingPrerequisite(`missing prerequisite: ${missing.join('; ')}`);
}

/**
 * The ava test function for tests needing real parts:
 *   const { test, serial } = needs(['mosquitto', 'rtsp']);
 *   serial('title', async (t) => { ... });
 * Under CI the tests are declared normally: a missing part then fails them (Van.create and friends
 * call requirePrereqs). Elsewhere a missing part declares them as skipped, with the reason printed
 * once, so a developer sees "skipped", never "passed".
 */
/** A test declaration: title and body (what these tests use of ava's test function). */
export type Declare = (title: string, impl: (t: ExecutionContext) => Promise<unknown> | unknown) => void;

export function needs(need: readonly Prereq[]): { test: Declare; serial: Declare } {
  const missing = missingPrereqs(need);
  if (missing.length === 0 || STRICT) {
    const guard =
      (fn: Declare): Declare =>
      (title, impl) =>
        fn(title, async (t) => {
          requirePrereqs(need);
          await impl(t);
        });
    return { test: guard((title, impl) => avaTest(title, impl)), serial: guard((title, impl) => avaTest.serial(title, impl)) };
  }
  process.stderr.write(`skipping tests that need: ${missing.join('; ')}\n`);
  return { test: (title, impl) => avaTest.skip(title, impl), serial: (title, impl) => avaTest.serial.skip(title, impl) };
}
