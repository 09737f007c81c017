// A deployment as the force records and publishes it. Nothing here is biometric: the watchlist
// appears only as its composition (counts by category, bundle hash, signer), faces only as a count.
import type { EngagementOutcome } from '../mqtt/topics.js';
import type { EquitabilityRecord } from '../match/equitability.js';
import type { UptimeState } from './uptime.js';

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
  /** Subjects on the bundle that could not be enrolled (no image passed the van's gate). */
  notEnrolled?: number;
}

export type EngagementCounts = Record<EngagementOutcome, number>;
export const ZERO_ENGAGEMENTS: EngagementCounts = { arrested: 0, spoken_to: 0, no_further_action: 0, not_located: 0 };

export interface DeploymentCounts {
  /** Faces that reached the matcher (counted frame by frame, never stored). */
  facesAnalysed: number;
  /** People seen: face tracks (one person passing one camera once; twice past, or past two cameras, counts twice). */
  peopleSeen: number;
  /**
   * Of those tracks, how many the appearance gate split off a track because the face did not look
   * like the track's person (issue 19). Usually a second person; sometimes the same person counted
   * twice, which makes the false-alert rate per person look lower: the report says so. Absent in
   * records older than it.
   */
  splitTracks?: number;
  alerts: number;
  confirmed: number;
  falseAlerts: number;
  notEngaged: number;
  /** Alerts with no officer decision yet (or none ever). */
  undecided: number;
  /** What happened after confirmed matches. */
  engagements: EngagementCounts;
  /** Later sightings of people already dealt with (arrested, spoken to ...): not in `alerts`. */
  repeatSightings: number;
}

export const ZERO_COUNTS: DeploymentCounts = { facesAnalysed: 0, peopleSeen: 0, alerts: 0, confirmed: 0, falseAlerts: 0, notEngaged: 0, undecided: 0, engagements: { ...ZERO_ENGAGEMENTS }, repeatSightings: 0 };

/** Counts from the live analysis (the deployment hooks): the alert counts come from the ledger. */
export interface AnalysisCounts {
  facesAnalysed: number;
  peopleSeen: number;
  splitTracks?: number;
}

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
  /** Start although a camera is not live or the broker is down (recorded with the reasons). */
  allowDegraded?: boolean;
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

export type EndReason = 'ended_by_operator' | 'ends_at_reached' | 'watchlist_expired' | 'interrupted' | 'start_failed' | 'power_lost';

/** A stretch of a deployment when the van did not analyse (ms since epoch). */
export interface NotCovered {
  from: number;
  to: number;
  /** 'power_lost': the van stopped without its orderly shutdown (power cut, kill -9) and the
   *  deployment was ended at the next start; 'restart': the daemon was stopped and started again. */
  why: 'power_lost' | 'restart';
}

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
  /** Where the threshold came from: the start request (--threshold / --target-fpir) or the config (match.*). */
  thresholdSource?: 'request' | 'config';
  watchlist: WatchlistSummary;
  cameras: string[];
  startedAt: number;
  endsAt: number;
  endedAt: number | null;
  endReason: EndReason | null;
  /** Last checkpoint of the counters (so a crash loses at most one interval). */
  counts: DeploymentCounts;
  /** Why the start was allowed although the van was not fully ready ([]: it was). */
  degraded: string[];
  /** Cameras' live time and interruptions, as of the last checkpoint (or the end). */
  uptime: UptimeState | null;
  /** When the counters were last saved (absent: never since the start). */
  checkpointAt?: number | null;
  /** Set by an orderly daemon stop while the deployment runs; absent at the next start = the power was lost. */
  suspendedAt?: number | null;
  /** Stretches when the van was not analysing (restarts, a power cut). */
  notCovered?: NotCovered[];
  /** Stretches when the record could not be written (a full state disk); analysis and alerts went on from memory. */
  recordUnwritable?: Array<{ from: number; to: number }>;
  /** Whether the tablet's photo check (issue 25) was on, at which false-match rate and 1:1 threshold (absent: records older than it). */
  photoCheck?: PhotoCheckRecord | null;
  /** The model pack's equitability statement at this deployment's threshold, as recorded at the start (absent: records older than it). */
  equitability?: EquitabilityRecord | null;
}

/** The photo check as the deployment record states it (config tablet.photoCheck, threshold from models/). */
export interface PhotoCheckRecord {
  enabled: boolean;
  falseMatchRate: number;
  threshold: number | null;
  /** True-accept rate on LFW genuine pairs at that threshold (docs/accuracy.md). */
  tar: number | null;
}

/** Photo checks made on one alert, by outcome (no officer, no score, no image). */
export interface PhotoCheckCounts {
  same_person_likely: number;
  not_supported: number;
  photo_unusable: number;
}

/** One alert of a deployment as the results report counts it: no subject, no officer, no image. */
export interface LedgerAlert {
  alertId: string;
  camera: string;
  capturedAt: number;
  outcome: 'confirmed_match' | 'false_alert' | 'not_engaged' | null;
  engagement: EngagementOutcome | null;
  /** When the van recorded the decision (ms), and whether that was after the deployment ended. */
  decidedAt: number | null;
  late: boolean;
  /** A later sighting of a person already dealt with: counted as a repeat, not as an alert. */
  repeatOf?: string | null;
  /** Photo checks made on this alert, by outcome, and whether its decision cited one. */
  photoChecks?: PhotoCheckCounts;
  citedCheck?: boolean;
}

/** The results report forces publish after a deployment (src/deployment/report.ts). */
export interface DeploymentReport {
  schema: 2;
  /** 1 when the deployment ended; +1 each time a late decision changed it (regenerated from the records). */
  version: number;
  generatedAt: string;
  deploymentId: string;
  authorisationRef: string;
  authorisingOfficer: string | null;
  operator: string;
  location: string;
  reason: string | null;
  startedAt: string;
  endedAt: string;
  endReason: EndReason;
  durationMinutes: number;
  /** The date by which the force publishes it (YYYY-MM-DD, Europe/London), and the rule. */
  publishBy: string;
  publishByRule: string;
  /** Why the start was allowed degraded (a camera not live, the broker down); [] when it was not. */
  degraded: string[];
  cameras: Array<{ name: string; location: string | null; liveMinutes: number; liveSeconds: number; livePercent: number; interruptions: number }>;
  threshold: number;
  /** The target false-alert rate the threshold was derived from (null: a fixed threshold). */
  targetFpir: number | null;
  /** False alerts per 10,000 passers-by predicted at the threshold (null: no calibration). */
  expectedFalseAlertsPer10k: number | null;
  /** Exactly what was matched against: the bundle's hash and id, who signed it, when it was first imported here. */
  watchlist: { subjects: number; notEnrolled: number | null; categories: Record<string, number>; bundleSha256: string; bundleId?: string; signerKeyId: string; importedAt?: string };
  /** Faces analysed, frame by frame (counted, never stored). */
  facesAnalysed: number;
  /** People seen: face tracks. The false-alert rate is stated against these, not frames. */
  peopleSeen: number;
  /** Tracks split off by the appearance gate, included in peopleSeen (absent: not recorded). */
  splitTracks?: number;
  alerts: number;
  confirmed: number;
  falseAlerts: number;
  notEngaged: number;
  undecided: number;
  engagements: EngagementCounts;
  /** False alerts per person seen (null when nobody was seen: "not measured"). */
  falseAlertRate: number | null;
  /** Decisions recorded after the end and counted here. */
  lateDecisions: number;
  /** Minutes of the deployment when the van was not analysing (a restart, a power cut), UTC ISO. */
  notCovered?: Array<{ from: string; to: string; minutes: number; why: NotCovered['why'] }>;
  /** When the deployment record could not be written (a full state disk), UTC ISO. */
  recordUnwritable?: Array<{ from: string; to: string }>;
  /** Later sightings of people already dealt with in this deployment (not counted as alerts). */
  repeatSightings?: number;
  /**
   * What a late decision changed, version by version (absent on version 1): when the van recorded
   * it and the figures before and after, so a reader of version N sees why it differs from N-1.
   */
  changes?: Array<{ version: number; at: string; what: string }>;
  /** The tablet's photo check: whether it was on, checks made and their outcomes, decisions that cited one. */
  photoChecks: { enabled: boolean; made: number; sameLikely: number; notSupported: number; unusable: number; decisionsCitingACheck: number };
  watchlistPurged: boolean;
  /** What the models are known to do per group (measured at the station, recorded at the start; null: not recorded). */
  equitability?: EquitabilityRecord | null;
  /**
   * The audit head at the end of the deployment (or at this version's regeneration), signed by the
   * van (src/audit/anchor.ts): once published, `lfr audit verify --head <value>` detects any rewrite.
   */
  auditHead?: { seq: number; hash: string; signature: string; keyId: string; publicKey: string; value: string } | null;
}
