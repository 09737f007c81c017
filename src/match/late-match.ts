// A match the live path refused at the moment of the alert because the clock says the watchlist
// is past its life (24 h from first import, or the bundle's own expiry) or the deployment is past
// its end. The holder and the deployment service notice the same thing on their timers and their
// 15 s clock check; the matcher's own check covers the seconds in between (a clock stepped
// forward, a suspend), and this records that it did.
//
// Audit: ONE entry per deployment and reason (the first refusal), then a count kept in memory
// and logged: a person standing in front of the camera for the seconds before the purge would
// otherwise write one entry per analysed frame. Never biometrics: no score, no subject, no image,
// no track; only which rule refused, on which camera, for which deployment, and the deadline.

/** Which deadline the match came after. */
export type LateMatchReason = 'watchlist_expired' | 'deployment_ended';

export interface LateMatch {
  reason: LateMatchReason;
  camera: string;
  /** The deployment analysis was started for; null on a bench rig that analyses without one. */
  deploymentId: string | null;
  /** The deadline that had passed (ms since the epoch) and the clock when the match was refused. */
  deadlineMs: number;
  at: number;
}

/** Which deadline a match at `now` comes after, or null when the alert may be raised. */
export function lateMatchReason(now: number, watchlistExpiresAtMs: number | null, deploymentEndsAtMs: number | null): LateMatchReason | null {
  // The watchlist's life first: it is the promise the finding was about (issue 21, M6), and a
  // deployment never outlives its watchlist, so past the life both are usually true.
  if (watchlistExpiresAtMs === null || now >= watchlistExpiresAtMs) return 'watchlist_expired';
  if (deploymentEndsAtMs !== null && now >= deploymentEndsAtMs) return 'deployment_ended';
  return null;
}

export interface LateMatchSink {
  record(type: 'match.refused', fields: Record<string, string | number | boolean | null>): void;
}

/** Audits the first late match per deployment and reason; counts the rest. */
export class LateMatchAudit {
  private readonly counts = new Map<string, number>();

  constructor(private readonly sink: LateMatchSink) {}

  /** True when this refusal was written to the audit log (the first of its deployment and reason). */
  refused(m: LateMatch): boolean {
    const key = `${m.deploymentId ?? '-'}\u0000${m.reason}`;
    const n = (this.counts.get(key) ?? 0) + 1;
    this.counts.set(key, n);
    if (n > 1) return false;
    this.sink.record('match.refused', {
      reason: m.reason,
      camera: m.camera,
      deploymentId: m.deploymentId,
      deadline: new Date(m.deadlineMs).toISOString(),
      lateBySeconds: Math.max(0, Math.round((m.at - m.deadlineMs) / 1000)),
    });
    return true;
  }

  /** Refusals so far for a deployment and reason (the first audited, the rest counted). */
  count(deploymentId: string | null, reason: LateMatchReason): number {
    return this.counts.get(`${deploymentId ?? '-'}\u0000${reason}`) ?? 0;
  }
}
