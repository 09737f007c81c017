// A deployment starts when it is recorded, not when the request arrived: the readiness wait and
// the bundle import come first (seconds; 15 s for a dead camera with --allow-degraded), and
// counting them made a camera that was live all along read "49.9 % live" in a short deployment's
// report (seen in test/integration/deployment-report.test.ts). The real service and store.
import test from 'ava';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DeploymentService, type DeploymentHooks } from '../../src/deployment/service.js';
import { DeploymentStore } from '../../src/deployment/store.js';
import { silentLogger } from '../../src/log.js';

test('startedAt and the live time begin at the record, after the bundle import; a camera live throughout is 100 % live', async (t) => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'lfr-start-time-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const requested = Date.parse('2026-12-04T10:00:00Z');
  let now = requested;
  const hooks: DeploymentHooks = {
    // The import (a large bundle from a stick) takes 20 s of the clock.
    loadWatchlist: async () => {
      now += 20_000;
      return { subjects: 1, templates: 1, categories: { wanted: 1 }, bundleSha256: 'a'.repeat(64), bundleId: 'b-1', signerKeyId: 'k', expiresAt: new Date(now + 86_400_000).toISOString() };
    },
    currentWatchlist: () => null,
    startAnalysis: async () => undefined,
    stopAnalysis: async () => undefined,
    purgeWatchlist: async () => true,
    counts: () => ({ facesAnalysed: 0, peopleSeen: 0 }),
    cameras: () => ['north-1'],
    cameraStates: () => [{ name: 'north-1', live: true, state: 'live' }],
  };
  const store = new DeploymentStore(path.join(dir, 'deployments.db'));
  const audit = { record: () => undefined } as unknown as ConstructorParameters<typeof DeploymentService>[2];
  const svc = new DeploymentService(store, hooks, audit, { maxHours: 24, requireOfficer: false, requireReady: false }, () => now, silentLogger());
  await svc.start();
  t.teardown(() => svc.stop());
  const rec = await svc.startDeployment({ authorisationRef: 'A-1', location: 'Rig', threshold: 0.6, endsAt: requested + 3_600_000, watchlistFile: 'x' }, 'op');
  t.is(rec.startedAt, requested + 20_000, 'started when recorded');
  t.is(rec.endsAt, requested + 3_600_000, 'the end asked for is unchanged');

  now += 30_000;
  const report = await svc.endDeployment('ended_by_operator', 'op');
  t.is(report.startedAt, new Date(requested + 20_000).toISOString());
  t.like(report.cameras[0], { name: 'north-1', liveSeconds: 30, livePercent: 100, interruptions: 0 });
});
