// Control-socket params parsed by schemas (src/control/schemas.ts): a request that does not match
// is refused with a reason from the schema, the refusal is reported for the audit, and neither
// the reply nor the audited reason ever carries what was sent (a name typed into a field).
import test from 'ava';
import { controlHandlers } from '../../src/control/handlers.js';
import { ControlError, isUpload, type ControlEntry } from '../../src/control/protocol.js';
import type { DeploymentService } from '../../src/deployment/service.js';

function setup() {
  const refused: Array<[string, string, string]> = [];
  const started: unknown[] = [];
  const deployments = {
    checkStart: (r: unknown) => void started.push(r),
    startDeployment: async (r: unknown) => (started.push(r), { id: 'dep-1' }),
    endDeployment: async () => ({ ended: true }),
  } as unknown as DeploymentService;
  const h = controlHandlers({
    deployments,
    health: async () => ({}) as never,
    status: () => ({}) as never,
    importWatchlist: async () => ({ imported: true }),
    watchlist: { refuseIfLocked: () => undefined, purge: async () => true },
    onRefused: (m, r, a) => void refused.push([m, r, a]),
  });
  return { h, refused, started };
}

const call = async (e: ControlEntry | undefined, p: Record<string, unknown>) => {
  if (!e) throw new Error('no handler');
  return isUpload(e) ? e.precheck?.(p, 'alice') : e(p, 'alice');
};

test('a matching request passes; an unknown field, a wrong type or a value outside the list is refused and reported, never echoed', async (t) => {
  const { h, refused, started } = setup();
  t.deepEqual(await call(h.ping, {}), { pong: true });
  await call(h['deployment.start'], { authorisationRef: 'A', location: 'L', endsAt: 1, threshold: 0.5, authorisingOfficer: 'Insp A', bytes: 10 });
  t.like(started[0], { authorisationRef: 'A', threshold: 0.5, authorisingOfficer: 'Insp A' });
  t.false('bytes' in (started[0] as object));

  const attempts: Array<[string, Record<string, unknown>, RegExp]> = [
    ['ping', { 'John Smith': 1 }, /1 unknown field/],
    ['deployment.start', { authorisationRef: 'A', location: 'L', endsAt: 'John Smith', threshold: 0.5 }, /"endsAt" must be number/],
    ['deployment.start', { authorisationRef: 'A', location: 'L', endsAt: 1 }, /"threshold" or "targetFpir" is required/],
    ['watchlist.import', { bytes: 10, source: 'John Smith' }, /"source" must be one of "cli", "usb"/],
    ['watchlist.purge', { note: 'John Smith' }, /1 unknown field/],
  ];
  for (const [method, p, re] of attempts) {
    const err = await t.throwsAsync(call(h[method], p), { instanceOf: ControlError });
    t.is((err as ControlError).code, 'bad_request');
    t.regex(err!.message, re);
    t.false(err!.message.includes('John Smith'), `${method}: the payload is not echoed`);
  }
  t.is(refused.length, attempts.length);
  t.deepEqual(refused.map((r) => r[0]), attempts.map((a) => a[0]));
  t.true(refused.every(([, reason, actor]) => !reason.includes('John Smith') && actor === 'alice'));
});

test('a path named in a start request is refused plainly before the schema', async (t) => {
  const { h } = setup();
  await t.throwsAsync(call(h['deployment.start'], { authorisationRef: 'A', location: 'L', endsAt: 1, threshold: 0.5, watchlistFile: '/tmp/x' }), { message: /"watchlistFile" is not accepted/ });
});
