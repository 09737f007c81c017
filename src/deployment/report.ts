// The results report a force publishes after a deployment, built from the RECORDS (the
// deployment record, its per-alert ledger, the final analysis counts and camera uptime), so it
// can be regenerated, with a new version, when a decision arrives after the end. Pure: no files,
// no clock (times come in). Formats: JSON (the object), text, a one-row CSV and a small HTML page
// shaped like the tables forces put on their websites (date, location, watchlist size, people
// seen, alerts, false alerts, arrests).
import { statementWords } from '../match/equitability.js';
import { londonDate, publishBy } from './calendar.js';
import { ZERO_ENGAGEMENTS, type AnalysisCounts, type DeploymentCounts, type DeploymentRecord, type DeploymentReport, type EndReason, type LedgerAlert } from './types.js';
import type { UptimeState } from './uptime.js';

const MIN_MS = 60_000;

/** Alert and decision counts from the ledger. */
export function ledgerCounts(alerts: readonly LedgerAlert[]): Omit<DeploymentCounts, keyof AnalysisCounts> {
  const engagements = { ...ZERO_ENGAGEMENTS };
  let confirmed = 0;
  let falseAlerts = 0;
  let notEngaged = 0;
  let repeats = 0;
  for (const a of alerts) {
    // A later sighting of a person already dealt with: one person, one decision, not a new alert.
    if (a.repeatOf) {
      repeats++;
      continue;
    }
    if (a.outcome === 'confirmed_match') confirmed++;
    else if (a.outcome === 'false_alert') falseAlerts++;
    else if (a.outcome === 'not_engaged') notEngaged++;
    if (a.engagement) engagements[a.engagement]++;
  }
  const n = alerts.length - repeats;
  return { alerts: n, confirmed, falseAlerts, notEngaged, undecided: n - confirmed - falseAlerts - notEngaged, engagements, repeatSightings: repeats };
}

/** Photo checks made in the deployment, by outcome, and decisions that cited one (issue 25). */
export function photoCheckCounts(enabled: boolean, alerts: readonly LedgerAlert[]): DeploymentReport['photoChecks'] {
  let sameLikely = 0, notSupported = 0, unusable = 0, cited = 0;
  for (const a of alerts) {
    sameLikely += a.photoChecks?.same_person_likely ?? 0;
    notSupported += a.photoChecks?.not_supported ?? 0;
    unusable += a.photoChecks?.photo_unusable ?? 0;
    if (a.citedCheck) cited++;
  }
  return { enabled, made: sameLikely + notSupported + unusable, sameLikely, notSupported, unusable, decisionsCitingACheck: cited };
}

export interface ReportInput {
  record: DeploymentRecord;
  endedAt: number;
  endReason: EndReason;
  /** Analysis counts at the end (faces, people seen). */
  analysis: AnalysisCounts;
  alerts: readonly LedgerAlert[];
  uptime: UptimeState | null;
  /** Camera name -> place (config cameras[].location). */
  cameraLocations: Record<string, string | null>;
  watchlistPurged: boolean;
  version: number;
  generatedAt: number;
  auditHead?: DeploymentReport['auditHead'];
}

export function buildReport(i: ReportInput): DeploymentReport {
  const r = i.record;
  const c = ledgerCounts(i.alerts);
  const span = Math.max(1, i.endedAt - r.startedAt);
  const pb = publishBy(i.endedAt);
  return {
    schema: 2,
    version: i.version,
    generatedAt: new Date(i.generatedAt).toISOString(),
    deploymentId: r.id,
    authorisationRef: r.authorisationRef,
    authorisingOfficer: r.authorisingOfficer,
    operator: r.operator,
    location: r.location,
    reason: r.reason,
    startedAt: new Date(r.startedAt).toISOString(),
    endedAt: new Date(i.endedAt).toISOString(),
    endReason: i.endReason,
    durationMinutes: Math.max(0, Math.round((i.endedAt - r.startedAt) / MIN_MS)),
    publishBy: pb.date,
    publishByRule: pb.rule,
    degraded: [...r.degraded],
    cameras: r.cameras.map((name) => {
      const u = i.uptime?.cameras.find((x) => x.name === name);
      const live = u?.liveMs ?? 0;
      return { name, location: i.cameraLocations[name] ?? null, liveMinutes: Math.round(live / MIN_MS), liveSeconds: Math.round(live / 1000), livePercent: Math.round((1000 * Math.min(live, span)) / span) / 10, interruptions: u?.interruptions ?? 0 };
    }),
    threshold: r.threshold,
    targetFpir: r.thresholdBasis?.targetFpir ?? null,
    expectedFalseAlertsPer10k: r.thresholdBasis ? Number(r.thresholdBasis.expectedFalseAlertsPer10k.toPrecision(3)) : null,
    watchlist: {
      subjects: r.watchlist.subjects,
      notEnrolled: r.watchlist.notEnrolled ?? null,
      categories: { ...r.watchlist.categories },
      bundleSha256: r.watchlist.bundleSha256,
      ...(r.watchlist.bundleId ? { bundleId: r.watchlist.bundleId } : {}),
      signerKeyId: r.watchlist.signerKeyId,
      ...(r.watchlist.importedAt ? { importedAt: r.watchlist.importedAt } : {}),
    },
    facesAnalysed: i.analysis.facesAnalysed,
    peopleSeen: i.analysis.peopleSeen,
    ...(i.analysis.splitTracks !== undefined ? { splitTracks: i.analysis.splitTracks } : {}),
    ...c,
    falseAlertRate: i.analysis.peopleSeen > 0 ? c.falseAlerts / i.analysis.peopleSeen : null,
    lateDecisions: i.alerts.filter((a) => a.late).length,
    recordUnwritable: (r.recordUnwritable ?? []).map((g) => ({ from: new Date(g.from).toISOString(), to: new Date(g.to).toISOString() })),
    notCovered: (r.notCovered ?? []).filter((g) => g.to > g.from).map((g) => ({ from: new Date(g.from).toISOString(), to: new Date(g.to).toISOString(), minutes: Math.round((g.to - g.from) / MIN_MS), why: g.why })),
    photoChecks: photoCheckCounts(r.photoCheck?.enabled ?? false, i.alerts),
    watchlistPurged: i.watchlistPurged,
    equitability: r.equitability ?? null,
    ...(i.auditHead !== undefined ? { auditHead: i.auditHead } : {}),
  };
}

const END_WORDS: Record<EndReason, string> = {
  ended_by_operator: 'ended by the operator',
  ends_at_reached: 'ended automatically at the authorised end time',
  watchlist_expired: 'ended automatically when the watchlist reached its 24 h limit',
  interrupted: 'ended because the daemon restarted and could not resume',
  start_failed: 'ended because analysis could not start',
  power_lost: 'ended at the next start because the van lost power (or was killed) while it ran',
};

const GAP_WORDS = { power_lost: 'power lost', restart: 'daemon restarted' } as const;

const n = (v: number) => v.toLocaleString('en-GB');

/** The default van time zone (config van.timeZone): forces publish local dates and times. */
export const DEFAULT_TIME_ZONE = 'Europe/London';

/**
 * An ISO instant as people read it: "2026-12-04 14:44:52 GMT" in the van's zone, to the second
 * (no milliseconds). JSON keeps UTC ISO-8601; the text, CSV and HTML use this.
 */
export function localTime(iso: string, tz = DEFAULT_TIME_ZONE): string {
  const ms = Date.parse(iso);
  if (!Number.isFinite(ms)) return iso;
  const parts = Object.fromEntries(
    new Intl.DateTimeFormat('en-GB', { timeZone: tz, year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit', hour12: false, timeZoneName: 'short' })
      .formatToParts(new Date(ms))
      .map((p) => [p.type, p.value]),
  ) as Record<string, string>;
  return `${parts.year}-${parts.month}-${parts.day} ${parts.hour === '24' ? '00' : parts.hour}:${parts.minute}:${parts.second} ${parts.timeZoneName}`;
}
const duration = (min: number) => (min >= 60 ? `${Math.floor(min / 60)} h ${min % 60} min` : `${min} min`);
/** "1 in 4,210 people" (or "none"). */
export function rateWords(falseAlerts: number, peopleSeen: number): string {
  // A rate over nobody is not a rate: "1 in 0 people" is what an interrupted deployment once published.
  if (peopleSeen <= 0) return 'not measured (no people seen)';
  if (falseAlerts === 0) return `none in ${n(peopleSeen)} people`;
  return `1 in ${n(Math.round(peopleSeen / falseAlerts))} people seen`;
}
/** The threshold line: how it was chosen, and the false alerts expected at it (issue 14's calibration). */
function thresholdWords(r: DeploymentReport): string {
  const basis = r.targetFpir !== null ? ` (derived from a target false-alert rate of ${r.targetFpir} per face searched)` : '';
  const expected = r.expectedFalseAlertsPer10k !== null ? `; expected ${r.expectedFalseAlertsPer10k} false alerts per 10,000 faces searched` : '; expected false-alert rate not recorded (no calibration for this embedder)';
  return `${r.threshold}${basis}${expected}`;
}

/** What changed between two versions of a report, in words ("false alerts 0 -> 2; undecided 2 -> 0"). */
export function reportChanges(prev: DeploymentReport, next: DeploymentReport): string {
  const fields: Array<[string, (r: DeploymentReport) => number]> = [
    ['confirmed', (r) => r.confirmed],
    ['false alerts', (r) => r.falseAlerts],
    ['not engaged', (r) => r.notEngaged],
    ['undecided', (r) => r.undecided],
    ['arrested', (r) => r.engagements.arrested],
    ['spoken to', (r) => r.engagements.spoken_to],
    ['no further action', (r) => r.engagements.no_further_action],
    ['not located', (r) => r.engagements.not_located],
  ];
  const diffs = fields.filter(([, f]) => f(prev) !== f(next)).map(([k, f]) => `${k} ${f(prev)} -> ${f(next)}`);
  return diffs.length ? `late decision(s): ${diffs.join('; ')}` : 'late decision(s) recorded; no published figure changed';
}

function photoCheckWords(r: DeploymentReport): string {
  const p = r.photoChecks;
  if (!p) return 'not recorded';
  if (!p.enabled && p.made === 0) return 'off';
  return `${p.made} made (same person likely ${p.sameLikely}, not supported ${p.notSupported}, photo unusable ${p.unusable}); cited in ${p.decisionsCitingACheck} decision(s); no photo kept`;
}

/** The readable report (what a force publishes, in plain words). */
export function formatReport(r: DeploymentReport, tz = DEFAULT_TIME_ZONE): string {
  const at = (iso: string) => localTime(iso, tz);
  const cats = Object.entries(r.watchlist.categories).map(([k, v]) => `${k} ${v}`).join(', ') || 'none';
  const e = r.engagements;
  return [
    `Deployment results report (${r.deploymentId}), version ${r.version}${r.version > 1 ? ` (regenerated ${at(r.generatedAt)}: ${r.lateDecisions} decision(s) recorded after the end)` : ''}`,
    `  Publish by:           ${r.publishBy} (${r.publishByRule})`,
    `  Authorisation:        ${r.authorisationRef}${r.authorisingOfficer ? `, authorised by ${r.authorisingOfficer}` : ''}`,
    `  Location:             ${r.location}`,
    `  Time:                 ${at(r.startedAt)} to ${at(r.endedAt)} (${duration(r.durationMinutes)}), ${END_WORDS[r.endReason]}`,
    ...(r.degraded.length ? [`  STARTED DEGRADED:     ${r.degraded.join('; ')}`] : []),
    ...(r.recordUnwritable?.length ? [`  RECORD NOT WRITABLE:  ${r.recordUnwritable.map((g) => `${g.from} to ${g.to}`).join('; ')} (state disk full; analysis and alerts went on, counts kept in memory)`] : []),
    ...(r.notCovered?.length ? [`  NOT COVERED:          ${r.notCovered.map((g) => `${g.from} to ${g.to} (${g.minutes} min, ${GAP_WORDS[g.why]})`).join('; ')}`] : []),
    `  Cameras:`,
    ...r.cameras.map((c) => `    ${c.name}${c.location ? ` (${c.location})` : ''}: live ${c.liveSeconds < 60 ? `${c.liveSeconds} s` : duration(c.liveMinutes)} (${c.livePercent} %), ${c.interruptions} interruption(s)`),
    `  Threshold:            ${thresholdWords(r)}`,
    `  Watchlist:            ${r.watchlist.subjects} ${r.watchlist.subjects === 1 ? 'person' : 'people'} enrolled (${cats})${r.watchlist.notEnrolled ? `; ${r.watchlist.notEnrolled} on the bundle could not be enrolled (no usable image)` : r.watchlist.notEnrolled === 0 ? '; every person on the bundle enrolled' : ''}`,
    `                        bundle SHA-256 ${r.watchlist.bundleSha256}${r.watchlist.bundleId ? `, id ${r.watchlist.bundleId}` : ''}, signed by ${r.watchlist.signerKeyId}`,
    `  People seen:          ${n(r.peopleSeen)} (face tracks; ${n(r.facesAnalysed)} face images analysed; none stored)`,
    ...(r.splitTracks ? [`                        ${n(r.splitTracks)} of these tracks were split off another when the face did not look like its person: usually a second person, sometimes the same one counted twice (the false-alert rate per person is then a little lower than the truth)`] : []),
    `  Alerts:               ${r.alerts}`,
    `    confirmed by officers: ${r.confirmed} (arrested ${e.arrested}, spoken to ${e.spoken_to}, no further action ${e.no_further_action}, not located ${e.not_located})`,
    `    false alerts:          ${r.falseAlerts} (${rateWords(r.falseAlerts, r.peopleSeen)})`,
    `    not engaged:           ${r.notEngaged}`,
    `    undecided:             ${r.undecided}`,
    ...(r.repeatSightings ? [`    later sightings of people already dealt with: ${r.repeatSightings} (not counted as alerts)`] : []),
    ...(r.changes?.length ? ['  Changes after the end:', ...r.changes.map((c) => `    version ${c.version}, ${at(c.at)}: ${c.what}`)] : []),
    `  Photo checks:         ${photoCheckWords(r)}`,
    ...(r.equitability ? ['  Equitability (the models, as measured at the station):', ...statementWords(r.equitability).map((l) => `    ${l}`)] : []),
    `  Watchlist deleted:    ${r.watchlistPurged ? 'yes' : 'NO: delete it now with "lfr watchlist purge"'}`,
    ...(r.auditHead ? [`  Audit head:           ${r.auditHead.value}`, `                        (signed by van anchor key ${r.auditHead.keyId}; check with: lfr audit verify --head <this value>)`] : []),
    `  Operator:             ${r.operator}`,
  ].join('\n');
}

/** The columns of the one-row CSV and the HTML table (what forces publish per deployment). */
export const COLUMNS: Array<[string, (r: DeploymentReport, tz: string) => string | number]> = [
  ['Date', (r, tz) => localTime(r.startedAt, tz).slice(0, 10)],
  ['Location', (r) => r.location],
  ['Start', (r, tz) => localTime(r.startedAt, tz)],
  ['End', (r, tz) => localTime(r.endedAt, tz)],
  ['Watchlist size', (r) => r.watchlist.subjects],
  ['People seen', (r) => r.peopleSeen],
  ['Faces analysed', (r) => r.facesAnalysed],
  ['Alerts', (r) => r.alerts],
  ['Confirmed', (r) => r.confirmed],
  ['False alerts', (r) => r.falseAlerts],
  ['False alert rate', (r) => rateWords(r.falseAlerts, r.peopleSeen)],
  ['Arrests', (r) => r.engagements.arrested],
  ['Engaged, no arrest', (r) => r.engagements.spoken_to + r.engagements.no_further_action],
  ['Threshold', (r) => r.threshold],
  ['Authorisation', (r) => r.authorisationRef],
  ['Deployment', (r) => r.deploymentId],
  ['Report version', (r) => r.version],
];

/** RFC 4180 field, with spreadsheet formula injection neutralised (OWASP: a leading ' ). */
export function csvField(v: string | number): string {
  let s = String(v);
  if (typeof v === 'string' && /^[=+\-@\t\r]/.test(s)) s = `'${s}`;
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** Header line and ONE row. */
export function reportCsv(r: DeploymentReport, tz = DEFAULT_TIME_ZONE): string {
  return `${COLUMNS.map(([h]) => csvField(h)).join(',')}\r\n${COLUMNS.map(([, f]) => csvField(f(r, tz))).join(',')}\r\n`;
}

const esc = (s: string | number) => String(s).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

/** A small self-contained HTML page: the published table row, then the details. */
export function reportHtml(r: DeploymentReport, tz = DEFAULT_TIME_ZONE): string {
  const rows = COLUMNS.map(([h, f]) => `<tr><th scope="row">${esc(h)}</th><td>${esc(f(r, tz))}</td></tr>`).join('\n');
  const day = localTime(r.startedAt, tz).slice(0, 10);
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>Live facial recognition deployment: ${esc(r.location)}, ${esc(day)}</title>
<style>body{font-family:sans-serif;max-width:48rem;margin:1rem auto;padding:0 1rem}table{border-collapse:collapse;width:100%;table-layout:fixed}th,td{border:1px solid #444;padding:.3rem .5rem;text-align:left;overflow-wrap:anywhere}th{background:#eee;width:40%}pre{white-space:pre-wrap;overflow-wrap:anywhere;word-break:break-all;background:#f6f6f6;padding:.5rem}</style>
</head><body>
<h1>Live facial recognition deployment</h1>
<p>${esc(r.location)}, ${esc(day)}. Publish by ${esc(r.publishBy)}. Report version ${esc(r.version)}.</p>
<table>
<caption>Results</caption>
${rows}
</table>
<h2>Details</h2>
<pre>${esc(formatReport(r, tz))}</pre>
</body></html>
`;
}
