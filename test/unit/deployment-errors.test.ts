// The deployment layer throws its own errors (src/deployment/errors.ts); control/ maps each kind
// to the wire code the CLI has always seen (src/control/wire-errors.ts), with the message
// unchanged. And deployment/ imports nothing from control/ (it used to import ControlError).
import test from 'ava';
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import { controlHandlers } from '../../src/control/handlers.js';
import { ControlError, isUpload, type ControlEntry } from '../../src/control/protocol.js';
import { DEPLOYMENT_WIRE_CODES, toWire } from '../../src/control/wire-errors.js';
import { DeploymentError, type DeploymentErrorKind } from '../../src/deployment/errors.js';
import type { DeploymentService } from '../../src/deployment/service.js';

// The codes the CLI and its tests rely on (cli/daemon-call.ts, cli/deployment.ts pick exit codes from them).
const EXPECTED: Record<DeploymentErrorKind, string> = {
  invalid: 'bad_request',
  conflict: 'conflict',
  not_ready: 'degraded',
  not_running: 'not_running',
  start_failed: 'failed',
};

test('each deployment error kind becomes the wire code it always had, message unchanged', (t) => {
  t.deepEqual({ ...DEPLOYMENT_WIRE_CODES }, EXPECTED);
  for (const kind of Object.keys(EXPECTED) as DeploymentErrorKind[]) {
    const w = toWire(new DeploymentError(`plain words for ${kind}`, kind));
    t.true(w instanceof ControlError);
    t.is((w as ControlError).code, EXPECTED[kind]);
    t.is((w as ControlError).message, `plain words for ${kind}`);
  }
  const other = new Error('boom');
  t.is(toWire(other), other, 'anything else passes through (the server reports it as a daemon failure)');
});

function handlersThrowing(err: Error): Record<string, ControlEntry> {
  const deployments = {
    checkStart: () => {
      throw err;
    },
    startDeployment: async () => {
      throw err;
    },
    endDeployment: async () => {
      throw err;
    },
  } as unknown as DeploymentService;
  return controlHandlers({ deployments, health: async () => ({}) as never, status: () => ({}) as never });
}

const START = { authorisationRef: 'A', location: 'L', endsAt: 1, threshold: 0.5 };

test('the control handlers hand a DeploymentError over as a ControlError: precheck, start and end', async (t) => {
  const h = handlersThrowing(new DeploymentError('no deployment is running', 'not_running'));
  const end = h['deployment.end']!;
  t.false(isUpload(end));
  const e1 = await t.throwsAsync(async () => (end as (p: Record<string, unknown>, a: string) => unknown)({}, 'alice'), { instanceOf: ControlError });
  t.is((e1 as ControlError).code, 'not_running');
  t.is(e1!.message, 'no deployment is running');

  const h2 = handlersThrowing(new DeploymentError('deployment dep-1 (A) is still running: end it first with "lfr deployment end"', 'conflict'));
  const start = h2['deployment.start']!;
  if (!isUpload(start)) return t.fail('deployment.start carries an optional upload');
  const e2 = await t.throwsAsync(async () => start.precheck!(START, 'alice'), { instanceOf: ControlError });
  t.is((e2 as ControlError).code, 'conflict');
  const e3 = await t.throwsAsync(async () => start.run(START, 'alice', null), { instanceOf: ControlError });
  t.is((e3 as ControlError).code, 'conflict');
  t.regex(e3!.message, /is still running: end it first/);
});

test('deployment/ imports nothing from control/ (no upward import)', (t) => {
  const dir = fileURLToPath(new URL('../../../src/deployment/', import.meta.url));
  const files = readdirSync(dir).filter((f) => f.endsWith('.ts'));
  t.true(files.includes('service.ts'));
  for (const f of files) {
    const src = readFileSync(path.join(dir, f), 'utf8');
    t.notRegex(src, /from '\.\.\/control\//, `${f} imports from control/`);
  }
});
