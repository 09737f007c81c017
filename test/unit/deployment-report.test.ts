// The results report (src/deployment/report.ts), the publish-by date (calendar.ts) and camera live
// time (uptime.ts): pure functions, checked without a van. The report from a real `lfr run`
// deployment is test/integration/deployment-report.test.ts.
import test from 'ava';
import { bankHolidays, easterSunday, publishBy, workingDaysAfter } from '../../src/deployment/calendar.js';
import { buildReport, formatReport, ledgerCounts, rateWords, reportCsv, reportHtml } from '../../src/deployment/report.js';
import { UptimeTracker } from '../../src/deployment/uptime.js';
import { ZERO_COUNTS, type DeploymentRecord, type LedgerAlert } from '../../src/deployment/types.js';

const T = (iso: string) => Date.parse(iso);
const MIN = 60_000;

test('England and Wales bank holidays: the rules give gov.uk published dates, 2022-2027', (t) => {
  // https://www.gov.uk/bank-holidays (England and Wales), as published.
  const gov: Record<number, string[]> = {
    2022: ['2022-01-03', '2022-04-15', '2022-04-18', '2022-05-02', '2022-06-02', '2022-06-03', '2022-08-29', '2022-09-19', '2022-12-26', '2022-12-27'],
    2023: ['2023-01-02', '2023-04-07', '2023-04-10', '2023-05-01', '2023-05-08', '2023-05-29', '2023-08-28', '2023-12-25', '2023-12-26'],
    2024: ['2024-01-01', '2024-03-29', '2024-04-01', '2024-05-06', '2024-05-27', '2024-08-26', '2024-12-25', '2024-12-26'],
    2025: ['2025-01-01', '2025-04-18', '2025-04-21', '2025-05-05', '2025-05-26', '2025-08-25', '2025-12-25', '2025-12-26'],
    2026: ['2026-01-01', '2026-04-03', '2026-04-06', '2026-05-04', '2026-05-25', '2026-08-31', '2026-12-25', '2026-12-28'],
    2027: ['2027-01-01', '2027-03-26', '2027-03-29', '2027-05-03', '2027-05-31', '2027-08-30', '2027-12-27', '2027-12-28'],
  };
  for (const [y, days] of Object.entries(gov)) t.deepEqual(bankHolidays(Number(y)), days, y);
  t.deepEqual(easterSunday(2028), [4, 16]);
});

test('publish-by: 5 working days after the end, across Christmas and New Year bank holidays', (t) => {
  // Ended Wed 23 Dec 2026 (London): Thu 24 (1), Fri 25 and Mon 28 holidays, Tue 29 (2), Wed 30 (3),
  // Thu 31 (4), Fri 1 Jan holiday, weekend, Mon 4 Jan 2027 (5).
  t.is(workingDaysAfter(T('2026-12-23T17:00:00Z'), 5), '2027-01-04');
  // A Monday with no holiday near: the next Monday.
  t.is(workingDaysAfter(T('2026-11-23T12:00:00Z'), 5), '2026-11-30');
  // Easter: ended Thu 2 Apr 2026, Good Friday 3 and Easter Monday 6 skipped.
  t.is(workingDaysAfter(T('2026-04-02T12:00:00Z'), 5), '2026-04-13');
  // The London date, not UTC: 23:30 UTC on 31 May 2026 is 00:30 BST on 1 June.
  t.is(workingDaysAfter(T('2026-05-31T23:30:00Z'), 1), '2026-06-02');
  const p = publishBy(T('2026-12-23T17:00:00Z'));
  t.is(p.date, '2027-01-04');
  t.regex(p.rule, /5 working days after the end \(2026-12-23\), England and Wales bank holidays excluded/);
});

test('camera live time and interruptions, including a daemon restart in the middle', (t) => {
  const t0 = T('2026-11-23T10:00:00Z');
  const u = new UptimeTracker(t0, [{ name: 'north-1', live: true }, { name: 'south-1', live: false }]);
  u.note('north-1', false, t0 + 10 * MIN); // lost after 10 min
  u.note('north-1', true, t0 + 12 * MIN);
  u.note('south-1', true, t0 + 5 * MIN);
  u.note('ghost', true, t0); // not part of the deployment: ignored
  const cp = u.snapshot(t0 + 20 * MIN); // checkpoint, then the daemon dies
  // Restarted at +30 min: 10 min down, an interruption for each camera that was live.
  const r = new UptimeTracker(t0 + 30 * MIN, [{ name: 'north-1', live: true }, { name: 'south-1', live: true }], cp);
  const end = r.snapshot(t0 + 60 * MIN);
  const by = Object.fromEntries(end.cameras.map((c) => [c.name, [c.liveMs / MIN, c.interruptions]]));
  t.deepEqual(by, { 'north-1': [10 + 8 + 30, 2], 'south-1': [15 + 30, 1] });
});

const REC: DeploymentRecord = {
  id: 'dep-2026-12-23-aaaa',
  authorisationRef: 'AUTH-9',
  authorisingOfficer: 'Supt X',
  operator: 'sgt-a',
  location: 'High St, north end',
  reason: null,
  threshold: 0.6,
  watchlist: { subjects: 40, templates: 52, categories: { wanted: 30, 'missing person': 10 }, bundleSha256: 'ab'.repeat(32), signerKeyId: 'f0f0f0f0f0f0f0f0', expiresAt: '2026-12-24T10:00:00Z', notEnrolled: 3 },
  cameras: ['north-1', 'south-1'],
  startedAt: T('2026-12-23T10:00:00Z'),
  endsAt: T('2026-12-23T18:00:00Z'),
  endedAt: null,
  endReason: null,
  counts: ZERO_COUNTS,
  degraded: ['camera south-1 is not live (failed: connection refused)'],
  uptime: null,
};

const alert = (id: string, outcome: LedgerAlert['outcome'], engagement: LedgerAlert['engagement'] = null, late = false): LedgerAlert => ({ alertId: id, camera: 'north-1', capturedAt: REC.startedAt + MIN, outcome, engagement, decidedAt: outcome ? REC.startedAt + 2 * MIN : null, late });

test('the report: people seen beside faces, the false-alert rate against people, outcomes, cameras, publish-by', (t) => {
  const endedAt = T('2026-12-23T16:05:00Z');
  const ledger = [alert('a1', 'confirmed_match', 'arrested'), alert('a2', 'confirmed_match', 'spoken_to'), alert('a3', 'false_alert'), alert('a4', 'not_engaged'), alert('a5', null)];
  t.like(ledgerCounts(ledger), { alerts: 5, confirmed: 2, falseAlerts: 1, notEngaged: 1, undecided: 1, engagements: { arrested: 1, spoken_to: 1, no_further_action: 0, not_located: 0 } });
  const uptime = { at: endedAt, cameras: [{ name: 'north-1', liveMs: 360 * MIN, interruptions: 1, live: true, since: endedAt }, { name: 'south-1', liveMs: 0, interruptions: 0, live: false, since: REC.startedAt }] };
  const r = buildReport({ record: REC, endedAt, endReason: 'ended_by_operator', analysis: { facesAnalysed: 31_000, peopleSeen: 4210 }, alerts: ledger, uptime, cameraLocations: { 'north-1': 'High St, facing north', 'south-1': null }, watchlistPurged: true, version: 1, generatedAt: endedAt });
  t.like(r, { schema: 2, version: 1, durationMinutes: 365, peopleSeen: 4210, facesAnalysed: 31_000, alerts: 5, confirmed: 2, falseAlerts: 1, undecided: 1, publishBy: '2027-01-04', lateDecisions: 0 });
  t.is(r.falseAlertRate, 1 / 4210);
  t.deepEqual(r.cameras, [
    { name: 'north-1', location: 'High St, facing north', liveMinutes: 360, liveSeconds: 21_600, livePercent: 98.6, interruptions: 1 },
    { name: 'south-1', location: null, liveMinutes: 0, liveSeconds: 0, livePercent: 0, interruptions: 0 },
  ]);
  t.deepEqual(r.degraded, REC.degraded);
  t.is(r.watchlist.notEnrolled, 3);
  const text = formatReport(r);
  t.regex(text, /Publish by:\s+2027-01-04/);
  t.regex(text, /People seen:\s+4,210 \(face tracks; 31,000 face images analysed; none stored\)/);
  t.regex(text, /false alerts:\s+1 \(1 in 4,210 people seen\)/);
  t.regex(text, /confirmed by officers: 2 \(arrested 1, spoken to 1, no further action 0, not located 0\)/);
  t.regex(text, /north-1 \(High St, facing north\): live 6 h 0 min \(98.6 %\), 1 interruption/);
  t.regex(text, /STARTED DEGRADED:\s+camera south-1 is not live/);
  t.regex(text, /3 on the bundle could not be enrolled/);
  t.regex(text, /Threshold:\s+0.6; expected false-alert rate not recorded/);
  t.false(JSON.stringify(r).includes('templates'), 'counts, not templates');

  // A decision after the end: regenerated from the records, version 2, the late one counted.
  const late = [...ledger.slice(0, 4), alert('a5', 'false_alert', null, true)];
  const r2 = buildReport({ record: REC, endedAt, endReason: 'ended_by_operator', analysis: { facesAnalysed: 31_000, peopleSeen: 4210 }, alerts: late, uptime, cameraLocations: {}, watchlistPurged: true, version: 2, generatedAt: endedAt + 3600_000 });
  t.like(r2, { version: 2, falseAlerts: 2, undecided: 0, lateDecisions: 1 });
  t.regex(formatReport(r2), /version 2 \(regenerated .*: 1 decision\(s\) recorded after the end\)/);
});

test('CSV is one row with a header and neutralises formula-like cells; HTML escapes everything', (t) => {
  const endedAt = T('2026-12-23T16:05:00Z');
  const r = buildReport({ record: { ...REC, location: '=HYPERLINK("x") <b>St</b>, "north"' }, endedAt, endReason: 'ended_by_operator', analysis: { facesAnalysed: 10, peopleSeen: 4 }, alerts: [alert('a1', 'confirmed_match', 'arrested')], uptime: null, cameraLocations: {}, watchlistPurged: true, version: 1, generatedAt: endedAt });
  const csv = reportCsv(r).split('\r\n');
  t.is(csv.length, 3);
  t.is(csv[2], '');
  t.true(csv[0]!.startsWith('Date,Location,Start,End,Watchlist size,People seen,Faces analysed,Alerts,Confirmed,False alerts,False alert rate,Arrests'));
  t.true(csv[1]!.startsWith(`2026-12-23,"'=HYPERLINK(""x"") <b>St</b>, ""north""",`));
  const html = reportHtml(r);
  t.false(html.includes('<b>St</b>'));
  t.regex(html, /&lt;b&gt;St&lt;\/b&gt;/);
  t.regex(html, /<th scope="row">Arrests<\/th><td>1<\/td>/);
});

test('a false-alert rate over nobody is "not measured", never "1 in 0 people"', (t) => {
  t.is(rateWords(1, 0), 'not measured (no people seen)');
  t.is(rateWords(0, 0), 'not measured (no people seen)');
  t.is(rateWords(0, 320), 'none in 320 people');
  t.is(rateWords(2, 640), '1 in 320 people seen');
});

test("the report quotes the model pack's equitability statement recorded at the start, or says why there is none", (t) => {
  const endedAt = T('2026-12-23T16:05:00Z');
  const g = (name: string, mated: number, misses: number) => ({ name, mated, misses, fnir: misses / mated, fnirCi: [0.1, 0.2] as [number, number], nonMated: 1000, falseAlerts: 2, fpir: 0.002, fpirCi: [0.0005, 0.007] as [number, number] });
  const equitability = {
    available: true as const,
    embedder: 'faceplugin-feature-int8',
    embedderSha256: 'ab'.repeat(32),
    detector: 'rfb320',
    landmarker: 'pfld68',
    dataset: 'LFW',
    labels: 'perceived sex (AFIF4)',
    protocol: 'one photo enrolled',
    measuredOn: '2026-12-06',
    gallery: 1680,
    limits: 'LFW is mostly white and male',
    threshold: 0.6,
    measuredAtThreshold: 0.6,
    groups: [g('female', 1490, 300), g('male', 5992, 480)],
    fnirRatio: 2.51,
    fpirRatio: 1,
  };
  const args = { endedAt, endReason: 'ended_by_operator' as const, analysis: { facesAnalysed: 10, peopleSeen: 4 }, alerts: [], uptime: null, cameraLocations: {}, watchlistPurged: true, version: 1, generatedAt: endedAt };
  const r = buildReport({ ...args, record: { ...REC, equitability } });
  t.deepEqual(r.equitability, equitability);
  const text = formatReport(r);
  t.regex(text, /Equitability \(the models, as measured at the station\):/);
  t.regex(text, /female: missed 20\.1 % of 1,490 searches/);
  t.regex(text, /ratio of missed matches, highest group to lowest: 2\.51/);
  t.regex(reportHtml(r), /female: missed 20\.1 %/);
  const none = formatReport(buildReport({ ...args, record: { ...REC, equitability: { available: false, reason: 'measured with detector yunet' } } }));
  t.regex(none, /Equitability[^\n]*\n\s+no statement for these models: measured with detector yunet/);
  // A record from before the statement existed: no section, no invented figures.
  t.notRegex(formatReport(buildReport({ ...args, record: REC })), /Equitability/);
});

test('tracks split off by the appearance gate are disclosed beside people seen (they may count a person twice)', (t) => {
  const endedAt = T('2026-12-23T16:05:00Z');
  const args = { record: REC, endedAt, endReason: 'ended_by_operator' as const, alerts: [], uptime: null, cameraLocations: {}, watchlistPurged: true, version: 1, generatedAt: endedAt };
  const r = buildReport({ ...args, analysis: { facesAnalysed: 900, peopleSeen: 120, splitTracks: 4 } });
  t.is(r.splitTracks, 4);
  t.regex(formatReport(r), /People seen:\s+120 \(face tracks;[^\n]*\n\s+4 of these tracks were split off another/);
  // None split, or a record from before the count: no line, no invented figure.
  t.notRegex(formatReport(buildReport({ ...args, analysis: { facesAnalysed: 900, peopleSeen: 120, splitTracks: 0 } })), /split off/);
  const old = buildReport({ ...args, analysis: { facesAnalysed: 900, peopleSeen: 120 } });
  t.false('splitTracks' in old);
});
