// A full state disk must not crash the van (issue 20, item 12): the deployment checkpoint threw
// "database or disk is full" from a timer with nothing to catch it. The real DeploymentService and
// DeploymentStore (SQLite in a temp folder); the store's writes fail with SQLite's own SQLITE_FULL
// error while `full` is set, as they do when the disk under paths.stateDir is full.
import test from 'ava';
import Database from 'better-sqlite3';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DeploymentService, type DeploymentHooks } from '../../src/deployment/service.js';
import { DeploymentStore } from '../../src/deployment/store.js';
import type { DeploymentCounts } from '../../src/deployment/types.js';
import type { UptimeState } from '../../src/deployment/uptime.js';
import { silentLogger } from '../../src/log.js';

class FillableStore extends DeploymentStore {
  full = false;
  private fail(): void {
    if (this.full) throw new Database.SqliteError('database or disk is full', 'SQLITE_FULL');
  }
  override checkpoint(id: string, counts: DeploymentCounts, uptime: UptimeState | null, at: number, suspend = false): void {
    this.fail();
    super.checkpoint(id, counts, uptime, at, suspend);
  }
  override addAlert(deploymentId: string, a: { alertId: string; camera: string; capturedAt: number }): void {
    this.fail();
    super.addAlert(deploymentId, a);
  }
}

test('a full state disk: no throw, health problem named, counts and alerts kept in memory and written later, the record says when', async (t) => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'lfr-full-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  let now = Date.parse('2026-12-04T10:00:00Z');
  let faces = 0;
  const hooks: DeploymentHooks = {
    loadWatchlist: async () => ({ subjects: 1, templates: 1, categories: { wanted: 1 }, bundleSha256: 'a'.repeat(64), bundleId: 'b-1', signerKeyId: 'k', expiresAt: new Date(now + 86_400_000).toISOString() }),
    currentWatchlist: () => null,
    startAnalysis: async () => undefined,
    stopAnalysis: async () => undefined,
    purgeWatchlist: async () => true,
    counts: () => ({ facesAnalysed: faces, peopleSeen: Math.floor(faces / 10) }),
    cameras: () => ['north-1'],
  };
  const store = new FillableStore(path.join(dir, 'deployments.db'));
  const audit = { record: () => undefined } as unknown as ConstructorParameters<typeof DeploymentService>[2];
  const svc = new DeploymentService(store, hooks, audit, { maxHours: 24, requireOfficer: false, requireReady: false }, () => now, silentLogger());
  await svc.start();
  t.teardown(() => svc.stop());
  const rec = await svc.startDeployment({ authorisationRef: 'A-1', location: 'Rig', threshold: 0.6, endsAt: now + 3_600_000, watchlistFile: 'x' }, 'op');

  faces = 100;
  now += 60_000;
  store.full = true;
  t.notThrows(() => svc.checkpoint(), 'the checkpoint (timer and health loop) never throws');
  t.regex(svc.recordProblem() ?? '', /cannot be written since 2026-12-04T10:01:00\.000Z \(database or disk is full\)/);
  svc.noteAlert({ alertId: 'al-1', deploymentId: rec.id, camera: 'north-1', capturedAt: now });
  faces = 250;
  t.like(svc.status().counts, { facesAnalysed: 250, peopleSeen: 25 }, 'analysis counts go on in memory');

  now += 120_000;
  store.full = false;
  svc.checkpoint();
  t.is(svc.recordProblem(), null, 'health clears once the record can be written');
  const saved = store.get(rec.id)!;
  t.is(saved.counts.facesAnalysed, 250);
  t.is(saved.counts.alerts, 1, 'the alert kept in memory reached the ledger');
  t.deepEqual(saved.recordUnwritable, [{ from: Date.parse('2026-12-04T10:01:00Z'), to: Date.parse('2026-12-04T10:03:00Z') }]);

  const report = await svc.endDeployment('ended_by_operator', 'op');
  t.deepEqual(report.recordUnwritable, [{ from: '2026-12-04T10:01:00.000Z', to: '2026-12-04T10:03:00.000Z' }]);
  t.is(report.alerts, 1);
});
