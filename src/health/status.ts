// The status summary: what `lfr status` prints and what the daemon publishes, retained, on its
// status topic (via src/mqtt publishStatus). Built from the deployment status, the last health
// report and the camera facts. Counts and states only: no subject, image or template.
import type { DeploymentCounts, DeploymentRecord, DeploymentReport } from '../deployment/types.js';
import type { AuditFacts, CameraFacts, HealthReport, Level, PerformanceFacts } from './types.js';
import { SCHEMA, type StatusPayload } from '../mqtt/topics.js';
import { credentialFreeUrl } from '../ingest/safe-url.js';

export interface StatusSummary {
  schema: 1;
  vanId: string;
  at: string;
  /** The overall level, and every check that is not OK in plain words (`name: message`). */
  health: { level: Level; failing: string[]; warnings: string[] };
  deployment: null | {
    id: string;
    authorisationRef: string;
    location: string;
    threshold: number;
    startedAt: string;
    endsAt: string;
    remainingMinutes: number;
    watchlist: { subjects: number; categories: Record<string, number>; bundleSha256: string };
    counts: DeploymentCounts;
  };
  lastReport: DeploymentReport | null;
  /** Reports written to a stick that a late decision has changed since: write them again. */
  staleReports?: Array<{ deploymentId: string; writtenVersion: number; writtenAt: number; latestVersion: number }>;
  /** url: a camera that is not live, its URL without credentials (where to look; never on the status topic). */
  cameras: Array<{ name: string; state: string; fps: number | null; dropped: number | null; url?: string }>;
  /** The live matcher since the daemon started: frames, faces (counted, never stored), embeddings, people (tracks), alerts. Null outside the daemon. */
  analysis: null | { analysing: boolean; framesAnalysed: number; facesAnalysed: number; embedded: number; tracks: number; splits: number; alerts: number };
  /** Result of the last watchlist import from USB or the CLI, for the tablets and the technician. */
  lastImport: null | { at: string; source: string; ok: boolean; message: string; subjects?: number };
  /** Event-loop delay and frame-to-decision latency (issue 13: the daemon answers at full load). */
  performance?: PerformanceFacts;
}

export interface StatusInput {
  vanId: string;
  now: number;
  report: HealthReport | null;
  cameras: CameraFacts[];
  deployment: { running: DeploymentRecord | null; counts: DeploymentCounts; lastReport: DeploymentReport | null; staleReports?: StatusSummary['staleReports'] };
  lastImport: StatusSummary['lastImport'];
  analysis?: StatusSummary['analysis'];
  performance?: PerformanceFacts;
}

export function buildStatus(s: StatusInput): StatusSummary {
  const r = s.deployment.running;
  return {
    schema: 1,
    vanId: s.vanId,
    at: new Date(s.now).toISOString(),
    health: {
      level: s.report?.level ?? 'WARN',
      failing: (s.report?.checks ?? []).filter((c) => c.level === 'FAIL').map((c) => `${c.name}: ${c.message}`),
      warnings: s.report ? s.report.checks.filter((c) => c.level === 'WARN').map((c) => `${c.name}: ${c.message}`) : ['health: not evaluated yet'],
    },
    deployment: r
      ? {
          id: r.id,
          authorisationRef: r.authorisationRef,
          location: r.location,
          threshold: r.threshold,
          startedAt: new Date(r.startedAt).toISOString(),
          endsAt: new Date(r.endsAt).toISOString(),
          remainingMinutes: Math.max(0, Math.round((r.endsAt - s.now) / 60_000)),
          watchlist: { subjects: r.watchlist.subjects, categories: { ...r.watchlist.categories }, bundleSha256: r.watchlist.bundleSha256 },
          counts: { ...s.deployment.counts },
        }
      : null,
    lastReport: s.deployment.lastReport,
    staleReports: s.deployment.staleReports ?? [],
    cameras: s.cameras.map((c) => ({ name: c.name, state: c.state, fps: c.fps, dropped: c.dropped, ...(c.url && c.state !== 'live' ? { url: c.url } : {}) })),
    analysis: s.analysis ?? null,
    lastImport: s.lastImport,
    ...(s.performance ? { performance: s.performance } : {}),
  };
}

export function formatStatus(s: StatusSummary): string {
  const lines = [`van ${s.vanId} at ${s.at}: health ${s.health.level}`];
  for (const f of s.health.failing) lines.push(`  FAIL ${f}`);
  for (const w of s.health.warnings) lines.push(`  WARN ${w}`);
  if (s.deployment) {
    const d = s.deployment;
    const c = d.counts;
    lines.push(
      `deployment ${d.id} running (${d.authorisationRef}) at ${d.location}`,
      `  threshold ${d.threshold}, started ${d.startedAt}, ends ${d.endsAt} (${d.remainingMinutes} min left)`,
      `  watchlist ${d.watchlist.subjects} people: ${Object.entries(d.watchlist.categories).map(([k, v]) => `${k} ${v}`).join(', ') || 'none'}`,
      `  faces analysed ${c.facesAnalysed}, alerts ${c.alerts} (confirmed ${c.confirmed}, false ${c.falseAlerts}, undecided ${c.undecided})`,
    );
  } else {
    lines.push('no deployment running');
    if (s.lastReport) lines.push(`  last: ${s.lastReport.deploymentId} ended ${s.lastReport.endedAt} (${s.lastReport.alerts} alerts)`);
  }
  for (const st of s.staleReports ?? []) lines.push(staleLine(st));
  for (const c of s.cameras) lines.push(`camera ${c.name}: ${c.state}${c.fps !== null ? ` ${c.fps.toFixed(1)} fps` : ''}${c.dropped ? `, ${c.dropped} dropped` : ''}${c.url ? ` (${c.url})` : ''}`);
  if (s.lastImport) lines.push(`last watchlist import (${s.lastImport.source}) ${s.lastImport.at}: ${s.lastImport.ok ? 'OK' : 'FAILED'}: ${s.lastImport.message}`);
  const p = s.performance;
  if (p) {
    const ms = (v: number | null): string => (v === null ? '-' : `${v} ms`);
    lines.push(`event loop delay p50 ${ms(p.eventLoopLagP50Ms)}, p99 ${ms(p.eventLoopLagP99Ms)}; frame to decision p50 ${ms(p.decisionLatencyP50Ms)}, p99 ${ms(p.decisionLatencyP99Ms)}`);
  }
  return lines.join('\n');
}

/** The plain warning that the copy of a report on the stick is out of date. */
export function staleLine(st: { deploymentId: string; writtenVersion: number; writtenAt: number; latestVersion: number }): string {
  return `REPORT ON THE STICK IS STALE: deployment ${st.deploymentId}: version ${st.writtenVersion} was written at ${new Date(st.writtenAt).toISOString().slice(0, 19)}Z, a late decision has since made version ${st.latestVersion}: write it again with "lfr deployment report ${st.deploymentId} --out DIR"`;
}

/**
 * The retained status topic's payload (src/mqtt/topics.ts StatusPayload) from the
 * summary: the tablets get the same picture as `lfr status`, trimmed to what they show.
 * pendingOutbox comes from the alert service (alerts stored but not yet delivered).
 */
export function toStatusPayload(s: StatusSummary, pendingOutbox: number, watchlist: { subjects: number; expiresAt: string } | null): StatusPayload {
  const d = s.deployment;
  return {
    schema: SCHEMA,
    vanId: s.vanId,
    updatedAt: s.at,
    deployment: d ? { id: d.id, location: d.location, threshold: d.threshold, startedAt: d.startedAt, endsAt: d.endsAt } : null,
    watchlist,
    cameras: s.cameras.map((c) => ({ name: c.name, state: c.state, fps: c.fps ?? 0 })),
    counts: { facesAnalysed: d?.counts.facesAnalysed ?? 0, alerts: d?.counts.alerts ?? 0, pendingOutbox },
    health: s.health.level === 'OK' ? 'ok' : s.health.level === 'WARN' ? 'warn' : 'fail',
    problems: [...s.health.failing, ...s.health.warnings],
    ...(s.lastImport ? { lastImport: { at: s.lastImport.at, ok: s.lastImport.ok, message: s.lastImport.message } } : {}),
  };
}

/** Camera facts from the camera manager's stats (src/ingest CameraManager.stats()). */
export function cameraFactsFromStats(
  stats: ReadonlyArray<{ camera: string; state: string; fps: number; dropped: number; lastError: string | null }>,
  configured: ReadonlyArray<{ name: string; enabled: boolean; url?: string }>,
): CameraFacts[] {
  const byName = new Map(stats.map((s) => [s.camera, s]));
  return configured.map((c) => {
    const s = byName.get(c.name);
    const url = c.url ? { url: credentialFreeUrl(c.url) } : {};
    if (!s) return { name: c.name, enabled: c.enabled, state: c.enabled ? 'failed' : 'stopped', fps: null, dropped: null, ...(c.enabled ? { reason: 'not started by the daemon' } : {}), ...url };
    // A camera connecting again after an error is down, not starting: the probe must FAIL it,
    // not flicker between FAIL (failed) and WARN (connecting) with each retry.
    const state = s.state === 'connecting' && s.lastError ? 'reconnecting' : s.state;
    return { name: c.name, enabled: c.enabled, state, fps: s.fps, dropped: s.dropped, ...(s.lastError && s.state !== 'live' ? { reason: s.lastError } : {}), ...url };
  });
}

/** Health facts from the audit log's verify() (src/audit AuditLog). */
export function auditFactsOf(r: { ok: boolean; entries: number; problems: ReadonlyArray<{ seq: number; problem: string }> }): AuditFacts {
  if (r.ok) return { intact: true, message: `chain intact (${r.entries} entries)` };
  const first = r.problems[0];
  return { intact: false, message: `chain broken${first ? ` at entry ${first.seq}: ${first.problem}` : ''}${r.problems.length > 1 ? ` (+${r.problems.length - 1} more)` : ''}` };
}
