// A match refused at the moment of the alert for a deadline passed (issue 21, M6): which rule
// refuses, and the audit (one entry per deployment and reason, never a score, subject or image).
import test from 'ava';
import { LateMatchAudit, lateMatchReason } from '../../src/match/late-match.js';
import { AuditLog } from '../../src/audit/log.js';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const H = 3600_000;
const T0 = Date.UTC(2026, 10, 23, 12);

test('a match is late once the watchlist life or the deployment end has passed; the life is named first', (t) => {
  t.is(lateMatchReason(T0, T0 + 24 * H, T0 + H), null);
  t.is(lateMatchReason(T0 + H - 1, T0 + 24 * H, T0 + H), null);
  t.is(lateMatchReason(T0 + H, T0 + 24 * H, T0 + H), 'deployment_ended');
  t.is(lateMatchReason(T0 + 24 * H, T0 + 24 * H, null), 'watchlist_expired', 'a bench rig without a deployment');
  t.is(lateMatchReason(T0 + 25 * H, T0 + 24 * H, T0 + H), 'watchlist_expired', '25 h forward: past both, the life is the reason');
  t.is(lateMatchReason(T0, null, T0 + H), 'watchlist_expired', 'no watchlist at all raises nothing');
});

test('the first late match per deployment and reason is audited, the rest counted; no biometrics', (t) => {
  const entries: Array<{ type: string; fields: Record<string, unknown> }> = [];
  const a = new LateMatchAudit({ record: (type, fields) => void entries.push({ type, fields }) });
  const m = { reason: 'watchlist_expired' as const, camera: 'north-1', deploymentId: 'dep-1', deadlineMs: T0, at: T0 + 3_600_400 };
  t.true(a.refused(m));
  for (let i = 0; i < 50; i++) t.false(a.refused({ ...m, at: m.at + i * 100 }));
  t.true(a.refused({ ...m, reason: 'deployment_ended' }), 'another reason: its own entry');
  t.true(a.refused({ ...m, deploymentId: 'dep-2' }), 'another deployment: its own entry');
  t.is(a.count('dep-1', 'watchlist_expired'), 51);
  t.deepEqual(entries.map((e) => [e.type, e.fields.reason, e.fields.deploymentId]), [
    ['match.refused', 'watchlist_expired', 'dep-1'],
    ['match.refused', 'deployment_ended', 'dep-1'],
    ['match.refused', 'watchlist_expired', 'dep-2'],
  ]);
  t.deepEqual(entries[0]!.fields, { reason: 'watchlist_expired', camera: 'north-1', deploymentId: 'dep-1', deadline: new Date(T0).toISOString(), lateBySeconds: 3600 });
});

test('the entry passes the audit log own field check (nothing it forbids)', (t) => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'lfr-late-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const log = new AuditLog(path.join(dir, 'audit.db'), () => T0).open();
  t.teardown(() => log.close());
  const a = new LateMatchAudit(log);
  a.refused({ reason: 'deployment_ended', camera: 'north-1', deploymentId: null, deadlineMs: T0, at: T0 });
  const [e] = log.list(10, 'match.refused');
  t.like(e, { type: 'match.refused', fields: { reason: 'deployment_ended', deploymentId: null } });
  t.true(log.verify().ok);
});
