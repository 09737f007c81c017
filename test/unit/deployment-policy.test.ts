// Pure deployment rules: --ends-at parsing, start validation, the 24 h ceiling, the report.
import test from 'ava';
import { effectiveEnd, endsWords, parseEndsAt, PolicyError, validateStart } from '../../src/deployment/policy.js';
import { ZERO_COUNTS, type DeploymentRecord, type StartRequest } from '../../src/deployment/types.js';
import { buildStatus, cameraFactsFromStats, formatStatus, toStatusPayload } from '../../src/health/status.js';
import { cameraReadiness } from '../../src/deployment/hooks.js';

const NOW = Date.parse('2026-11-23T10:00:00Z');
const H = 3_600_000;
const LIMITS = { maxHours: 24, requireOfficer: true };
const REQ: StartRequest = { authorisationRef: ' AUTH-1 ', authorisingOfficer: 'Supt X', location: 'High St', watchlistFile: '/m/w.lfrwl', threshold: 0.6, endsAt: NOW + 8 * H };

test('parseEndsAt: relative, ISO and clock time', (t) => {
  t.is(parseEndsAt('+8h', NOW), NOW + 8 * H);
  t.is(parseEndsAt('+90m', NOW), NOW + 90 * 60_000);
  t.is(parseEndsAt('+30s', NOW), NOW + 30_000);
  t.is(parseEndsAt('2026-11-23T18:00Z', NOW), Date.parse('2026-11-23T18:00Z'));
  // A clock time is today's: one still ahead is taken, one already passed is refused with the date to type.
  const at = (h: number, m: number): number => {
    const d = new Date(NOW);
    d.setHours(h, m, 0, 0);
    return d.getTime();
  };
  const noon = at(12, 0);
  t.is(parseEndsAt('14:00', noon), at(14, 0));
  const late = at(14, 59);
  const err = t.throws(() => parseEndsAt('14:00', late), { instanceOf: PolicyError });
  t.regex(err!.message, /14:00 has already passed today \(it is 14:59\): give the date too .*--ends-at "\d{4}-\d{2}-\d{2} 14:00"/);
  t.is(parseEndsAt(err!.message.match(/"(.+)"$/)![1]!, late), at(14, 0) + 24 * H, 'the suggested form means tomorrow');
  t.is(endsWords(at(14, 0), at(12, 48)), 'ends 14:00 (in 1 h 12 min)');
  t.is(endsWords(at(12, 30), at(12, 0)), 'ends 12:30 (in 30 min)');
  t.regex(endsWords(at(14, 0) + 24 * H, noon), /^ends \d{4}-\d{2}-\d{2} 14:00 \(in 26 h 0 min\)$/);
  t.throws(() => parseEndsAt('tomorrow', NOW), { instanceOf: PolicyError });
  t.throws(() => parseEndsAt('25:00', NOW), { instanceOf: PolicyError });
});

test('validateStart: trims, and refuses every missing or out-of-range field plainly', (t) => {
  t.is(validateStart(REQ, NOW, LIMITS).authorisationRef, 'AUTH-1');
  const bad: Array<[Partial<StartRequest>, RegExp]> = [
    [{ authorisationRef: '  ' }, /authorisation reference is required/],
    [{ location: '' }, /location is required/],
    [{ authorisingOfficer: undefined }, /authorising officer is required/],
    [{ threshold: 0 }, /between 0 and 1/],
    [{ threshold: 1.2 }, /between 0 and 1/],
    [{ threshold: Number.NaN }, /between 0 and 1/],
    [{ endsAt: NOW - 1 }, /in the future/],
    [{ endsAt: NOW + 25 * H }, /more than 24 h away/],
  ];
  for (const [patch, re] of bad) t.throws(() => validateStart({ ...REQ, ...patch }, NOW, LIMITS), { instanceOf: PolicyError, message: re });
  t.notThrows(() => validateStart({ ...REQ, authorisingOfficer: undefined }, NOW, { maxHours: 24, requireOfficer: false }));
  t.throws(() => validateStart({ ...REQ, endsAt: NOW + 5 * H }, NOW, { maxHours: 4, requireOfficer: true }), { message: /more than 4 h/ });
  t.throws(() => validateStart({ ...REQ, endsAt: NOW + 30 * H }, NOW, { maxHours: 48, requireOfficer: true }), { message: /24 h/ }, 'the 24 h ceiling holds whatever the config says');
});

test('the deployment never outlives its watchlist', (t) => {
  t.is(effectiveEnd(NOW + 10 * H, NOW + 6 * H), NOW + 6 * H);
  t.is(effectiveEnd(NOW + 2 * H, NOW + 6 * H), NOW + 2 * H);
  t.is(effectiveEnd(NOW + 2 * H, Number.NaN), NOW + 2 * H);
});

const REC: DeploymentRecord = {
  id: 'dep-1',
  authorisationRef: 'AUTH-1',
  authorisingOfficer: 'Supt X',
  operator: 'pc123',
  location: 'High St',
  reason: null,
  threshold: 0.6,
  watchlist: { subjects: 40, templates: 52, categories: { wanted: 30, 'missing person': 10 }, bundleSha256: 'ab'.repeat(32), signerKeyId: 'f0f0f0f0f0f0f0f0', expiresAt: new Date(NOW + 24 * H).toISOString() },
  cameras: ['north-1', 'south-1'],
  startedAt: NOW,
  endsAt: NOW + 8 * H,
  endedAt: null,
  endReason: null,
  counts: ZERO_COUNTS,
  degraded: [],
  uptime: null,
};

test('status summary: running deployment with counts, failing and warning checks listed', (t) => {
  const s = buildStatus({
    vanId: 'van-7',
    now: NOW + H,
    report: { at: '', level: 'FAIL', checks: [{ name: 'broker', level: 'FAIL', message: 'not connected' }, { name: 'clock', level: 'WARN', message: '?' }] },
    cameras: [{ name: 'north-1', enabled: true, state: 'live', fps: 9.8, dropped: 2 }],
    deployment: { running: REC, counts: { ...ZERO_COUNTS, facesAnalysed: 500, alerts: 1, undecided: 1 }, lastReport: null },
    lastImport: null,
  });
  t.is(s.deployment?.remainingMinutes, 7 * 60);
  t.deepEqual(s.health.failing, ['broker: not connected']);
  t.deepEqual(s.health.warnings, ['clock: ?']);
  const text = formatStatus(s);
  t.regex(text, /FAIL broker: not connected\n {2}WARN clock: \?/);
  t.regex(text, /faces analysed 500, alerts 1/);
  t.regex(text, /camera north-1: live 9.8 fps, 2 dropped/);
  const p = toStatusPayload(s, 0, { subjects: 40, expiresAt: REC.watchlist.expiresAt });
  t.is(p.health, 'fail');
  t.deepEqual(p.problems, ['broker: not connected', 'clock: ?']);
  t.deepEqual(p.deployment, { id: 'dep-1', location: 'High St', threshold: 0.6, startedAt: new Date(REC.startedAt).toISOString(), endsAt: new Date(REC.endsAt).toISOString() });
  t.deepEqual(p.counts, { facesAnalysed: 500, alerts: 1, pendingOutbox: 0 });
});

test('camera facts from the camera manager: a configured camera missing from its stats FAILs', (t) => {
  const facts = cameraFactsFromStats(
    [
      { camera: 'north-1', state: 'stalled', fps: 0, dropped: 4, lastError: 'no frame for 5 s' },
      { camera: 'east-1', state: 'connecting', fps: 0, dropped: 0, lastError: 'connection refused' },
      { camera: 'west-1', state: 'connecting', fps: 0, dropped: 0, lastError: null },
    ],
    [{ name: 'north-1', enabled: true }, { name: 'east-1', enabled: true }, { name: 'west-1', enabled: true }, { name: 'south-1', enabled: true }, { name: 'spare', enabled: false }],
  );
  t.deepEqual(facts.map((f) => [f.name, f.state, f.reason]), [
    ['north-1', 'stalled', 'no frame for 5 s'],
    ['east-1', 'reconnecting', 'connection refused'],
    ['west-1', 'connecting', undefined],
    ['south-1', 'failed', 'not started by the daemon'],
    ['spare', 'stopped', undefined],
  ]);
});

test('deployment readiness: a camera still waiting for its first frame is connecting (the start waits); one that was live and lost it is reconnecting; a permanent failure refuses', (t) => {
  const slowFirst = cameraReadiness('north-1', { state: 'failed', lastError: 'no video frame arrived after connecting', everLive: false, retrying: true });
  t.deepEqual(slowFirst, { name: 'north-1', live: false, state: 'connecting', reason: 'no video frame arrived after connecting' });
  t.is(cameraReadiness('n', { state: 'connecting', lastError: 'no video frame arrived after connecting', everLive: false, retrying: false }).state, 'connecting');
  t.is(cameraReadiness('n', { state: 'connecting', lastError: 'connection refused', everLive: true, retrying: false }).state, 'reconnecting');
  t.is(cameraReadiness('n', { state: 'failed', lastError: 'codec not supported', everLive: false, retrying: false }).state, 'failed');
  t.is(cameraReadiness('n', { state: 'failed', lastError: 'x', everLive: true, retrying: true }).state, 'failed');
  t.deepEqual(cameraReadiness('n', { state: 'live', lastError: null, everLive: true, retrying: false }), { name: 'n', live: true, state: 'live' });
  t.deepEqual(cameraReadiness('n', undefined), { name: 'n', live: false, state: 'not started' });
});
