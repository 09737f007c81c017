// The HQ page, rendered on the server (plain HTML, no script: it works in any browser the force
// has, and a published table must not depend on one): the fleet (vans online, last status,
// cameras, watchlist expiry, deployments running, clock offset, refused messages) and the results
// table a force publishes (the van's own columns, src/deployment/report.ts COLUMNS), with
// publish-by dates, overdue ones marked, and the report version (a late decision's version 2
// replaces version 1, and says so). Exports: CSV and a standalone HTML table.
import { COLUMNS, csvField, DEFAULT_TIME_ZONE } from '../deployment/report.js';
import { londonDate } from '../deployment/calendar.js';
import type { DeploymentReport } from '../deployment/types.js';
import type { DeploymentRow, FleetVan } from './store.js';

const esc = (s: unknown): string => String(s ?? '').replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

export interface PageFacts {
  now: number;
  offlineAfterMs: number;
  fleet: FleetVan[];
  deployments: DeploymentRow[];
  rejections: { total: number; recent: { at: string; vanId: string | null; topic: string; reason: string }[] };
}

export function isOnline(v: FleetVan, now: number, offlineAfterMs: number): boolean {
  if (v.link === 'down' && v.linkAt && (!v.receivedAt || Date.parse(v.linkAt) >= Date.parse(v.receivedAt))) return false;
  return v.receivedAt !== null && now - Date.parse(v.receivedAt) <= offlineAfterMs;
}

/** "overdue" when the publish-by date (Europe/London) has passed, "due" otherwise. */
export function publication(r: DeploymentReport, now: number): 'overdue' | 'due' {
  return londonDate(now) > r.publishBy ? 'overdue' : 'due';
}

/** The published table's rows: ended deployments with a report, newest report version each. */
export function publishedRows(rows: readonly DeploymentRow[]): Array<DeploymentRow & { report: DeploymentReport }> {
  return rows.filter((r): r is DeploymentRow & { report: DeploymentReport } => r.report !== null);
}

const HEAD = ['Van', ...COLUMNS.map(([h]) => h), 'Publish by', 'Publication'];

export function deploymentsCsv(rows: readonly DeploymentRow[], now: number): string {
  const lines = [HEAD.map(csvField).join(',')];
  for (const r of publishedRows(rows)) lines.push([r.vanId, ...COLUMNS.map(([, f]) => f(r.report, DEFAULT_TIME_ZONE)), r.report.publishBy, publication(r.report, now)].map(csvField).join(','));
  return lines.join('\r\n') + '\r\n';
}

function deploymentsTable(rows: readonly DeploymentRow[], now: number): string {
  const body = publishedRows(rows)
    .map((r) => {
      const p = publication(r.report, now);
      const replaced = r.reportVersions.filter((v) => v < r.report.version);
      const version = `v${r.report.version}${replaced.length ? ` <span class="replaces">(replaces v${replaced.join(', v')}: late decision)</span>` : ''}`;
      const flag = r.reportClockFlag ?? r.clockFlag;
      return `<tr class="${p}" data-deployment="${esc(r.deploymentId)}"><td>${esc(r.vanId)}</td>${COLUMNS.map(([h, f]) => `<td>${h === 'Report version' ? version : esc(f(r.report, DEFAULT_TIME_ZONE))}</td>`).join('')}<td>${esc(r.report.publishBy)}</td><td class="pub">${p === 'overdue' ? '<strong>OVERDUE</strong>' : 'due'}${flag ? ` <span class="clock" title="${esc(flag)}">clock flagged</span>` : ''}</td></tr>`;
    })
    .join('\n');
  return `<table id="deployments"><caption>Deployment results</caption><thead><tr>${HEAD.map((h) => `<th scope="col">${esc(h)}</th>`).join('')}</tr></thead><tbody>\n${body}\n</tbody></table>`;
}

const STYLE = 'body{font-family:sans-serif;margin:1rem}table{border-collapse:collapse;margin-bottom:1.5rem}th,td{border:1px solid #888;padding:.25rem .4rem;text-align:left;font-size:.9rem}tr.overdue td.pub{background:#fdd}.online{color:#060}.offline{color:#a00}.replaces{color:#555;font-size:.8rem}';

/** The standalone published table (what the force puts on its website). */
export function deploymentsHtml(rows: readonly DeploymentRow[], now: number): string {
  return `<!doctype html>\n<html lang="en"><head><meta charset="utf-8"><title>Live facial recognition deployments</title><style>${STYLE}</style></head><body>\n<h1>Live facial recognition deployments</h1>\n${deploymentsTable(rows, now)}\n</body></html>\n`;
}

export function hqPage(f: PageFacts): string {
  const vans = f.fleet
    .map((v) => {
      const s = v.status;
      const on = isOnline(v, f.now, f.offlineAfterMs);
      const cams = s ? s.cameras.map((c) => `${esc(c.name)} ${esc(c.state)} ${esc(c.fps)} fps`).join('<br>') : '';
      const dep = s?.deployment ? `${esc(s.deployment.location)} (until ${esc(s.deployment.endsAt)})` : 'none';
      const skew = v.clockOffsetMs === null ? '' : `${Math.round(v.clockOffsetMs / 1000)} s`;
      return `<tr data-van="${esc(v.vanId)}"><td>${esc(v.vanId)}</td><td class="${on ? 'online' : 'offline'}">${on ? 'online' : 'offline'}</td><td>${esc(v.receivedAt ?? 'never')}</td><td>${esc(s?.health ?? '')}${s?.problems.length ? `: ${esc(s.problems.join('; '))}` : ''}</td><td>${cams}</td><td>${esc(s?.watchlist?.expiresAt ?? 'none')}</td><td class="running">${dep}</td><td>${esc(skew)}</td><td>${v.rejections}</td></tr>`;
    })
    .join('\n');
  const rej = f.rejections.recent.map((r) => `<tr><td>${esc(r.at)}</td><td>${esc(r.vanId ?? '?')}</td><td>${esc(r.topic)}</td><td>${esc(r.reason)}</td></tr>`).join('\n');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>LFR fleet: headquarters</title><style>${STYLE}</style></head><body>
<h1>LFR fleet</h1>
<p>Updated ${esc(new Date(f.now).toISOString())}. Export the published table: <a href="/deployments.csv">CSV</a>, <a href="/deployments.html">HTML</a>.</p>
<table id="fleet"><caption>Vans</caption><thead><tr><th>Van</th><th>Link</th><th>Last status</th><th>Health</th><th>Cameras</th><th>Watchlist expires</th><th>Deployment running</th><th>Clock offset</th><th>Refused messages</th></tr></thead><tbody>
${vans}
</tbody></table>
${deploymentsTable(f.deployments, f.now)}
<h2>Refused messages: <span id="refused-total">${f.rejections.total}</span></h2>
<table id="refused"><thead><tr><th>At</th><th>Van</th><th>Topic</th><th>Reason</th></tr></thead><tbody>
${rej}
</tbody></table>
</body></html>
`;
}
