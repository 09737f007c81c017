// A deployment as the force records and publishes it. Nothing here is biometric: the watchlist
// appears only as its composition (counts by category, bundle hash, signer), faces only as a count.

/** What the watchlist contributes to the record (a subset of the watchlist's composition). */
export interface WatchlistSummary {
  subjects: number;
  templates: number;
  categories: Record<string, number>;
  bundleSha256: string;
  bundleId?: string;
  signerKeyId: string;
  importedAt?: string;
  expiresAt: string;
}

export interface DeploymentCounts {
  /** Faces that reached the matcher (counted, never stored). */
  facesAnalysed: number;
  alerts: number;
  confirmed: number;
  falseAlerts: number;
  /** Alerts with no officer decision yet (or none ever). */
  undecided: number;
}

export const ZERO_COUNTS: DeploymentCounts = { facesAnalysed: 0, alerts: 0, confirmed: 0, falseAlerts: 0, undecided: 0 };

export interface StartRequest {
  authorisationRef: string;
  authorisingOfficer?: string;
  location: string;
  reason?: string;
  /** Bundle to import; absent = use the watchlist already imported (e.g. from the USB stick). */
  watchlistFile?: string;
  /** Refuse the start unless the watchlist in memory is this bundle (the CLI sends what it uploaded). */
  expectBundleSha256?: string;
  /** A fixed threshold, or (targetFpir) a false-alert rate to derive it from; one of the two. */
  threshold?: number;
  targetFpir?: number;
  /** ms since epoch */
  endsAt: number;
}

/**
 * How the threshold relates to false alerts: derived from a target FPIR, or the FPIR a fixed
 * threshold is expected to give, from the embedder's impostor calibration (src/match/fpir.ts).
 */
export interface ThresholdBasis {
  /** The target FPIR asked for; null for a fixed threshold. */
  targetFpir: number | null;
  /** Templates in the watchlist (each is a chance of a false match). */
  templates: number;
  /** Predicted FPIR of one search at the threshold. */
  fpir: number;
  expectedFalseAlertsPer10k: number;
  /** Impostor scores behind the estimate; 0 when extrapolated. */
  support: number;
  extrapolated: boolean;
  /** SHA-256 of the embedder the calibration was measured for. */
  embedderSha256: string;
}

export type EndReason = 'ended_by_operator' | 'ends_at_reached' | 'watchlist_expired' | 'interrupted' | 'start_failed';

export interface DeploymentRecord {
  id: string;
  authorisationRef: string;
  authorisingOfficer: string | null;
  operator: string;
  location: string;
  reason: string | null;
  threshold: number;
  /** How the threshold relates to false alerts; null/absent when no calibration was available. */
  thresholdBasis?: ThresholdBasis | null;
  watchlist: WatchlistSummary;
  cameras: string[];
  startedAt: number;
  endsAt: number;
  endedAt: number | null;
  endReason: EndReason | null;
  /** Last checkpoint of the counters (so a crash loses at most one interval). */
  counts: DeploymentCounts;
}

/** The results report forces publish after a deployment. */
export interface DeploymentReport {
  schema: 1;
  deploymentId: string;
  authorisationRef: string;
  authorisingOfficer: string | null;
  operator: string;
  location: string;
  startedAt: string;
  endedAt: string;
  endReason: EndReason;
  durationMinutes: number;
  cameras: string[];
  threshold: number;
  /** The target false-alert rate the threshold was derived from (null: a fixed threshold). */
  targetFpir: number | null;
  /** False alerts per 10,000 passers-by predicted at the threshold (null: no calibration). */
  expectedFalseAlertsPer10k: number | null;
  /** Exactly what was matched against: the bundle's hash and id, who signed it, when it was first imported here. */
  watchlist: { subjects: number; categories: Record<string, number>; bundleSha256: string; bundleId?: string; signerKeyId: string; importedAt?: string };
  facesAnalysed: number;
  alerts: number;
  confirmed: number;
  falseAlerts: number;
  undecided: number;
  watchlistPurged: boolean;
  /**
   * The audit head at the end of the deployment, signed by the van (src/audit/anchor.ts): once the
   * report is published, `lfr audit verify --head <value>` detects any rewrite of the log up to it.
   */
  auditHead?: { seq: number; hash: string; signature: string; keyId: string; publicKey: string; value: string } | null;
}
