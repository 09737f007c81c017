// Pure rules of a deployment (GUIDE practice 10): parsing --ends-at, validating a start request,
// the effective end (never after the watchlist's own expiry, never beyond maxHours), and the
// results report is src/deployment/report.ts. No files, no timers.
import type { StartRequest } from './types.js';

const MIN_MS = 60_000;
const HOUR_MS = 3_600_000;
export const MAX_HOURS_CEILING = 24;

export class PolicyError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PolicyError';
  }
}

const hhmm = (d: Date): string => `${String(d.getHours()).padStart(2, '0')}:${String(d.getMinutes()).padStart(2, '0')}`;
const ymd = (d: Date): string => `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, '0')}-${String(d.getDate()).padStart(2, '0')}`;

/**
 * --ends-at accepts an ISO 8601 time with a date ("2026-11-23T18:00Z", "2026-11-23 18:00"),
 * a clock time "HH:MM" (today, local), or a duration "+8h", "+90m", "+30s". A clock time that has
 * already passed today is refused: "14:00" typed at 14:59 never silently means tomorrow (a 23 h
 * deployment past its written authorisation); tomorrow is given with its date.
 */
export function parseEndsAt(text: string, now: number): number {
  const t = text.trim();
  const rel = /^\+(\d+(?:\.\d+)?)\s*(h|m|s)$/i.exec(t);
  if (rel) {
    const unit = rel[2]!.toLowerCase() === 'h' ? HOUR_MS : rel[2]!.toLowerCase() === 'm' ? MIN_MS : 1000;
    return now + Math.round(Number(rel[1]) * unit);
  }
  const hm = /^(\d{1,2}):(\d{2})$/.exec(t);
  if (hm) {
    const h = Number(hm[1]);
    const m = Number(hm[2]);
    if (h > 23 || m > 59) throw new PolicyError(`--ends-at "${text}" is not a valid time of day`);
    const d = new Date(now);
    d.setHours(h, m, 0, 0);
    if (d.getTime() <= now) {
      const tomorrow = new Date(d);
      tomorrow.setDate(tomorrow.getDate() + 1);
      throw new PolicyError(`--ends-at ${t} has already passed today (it is ${hhmm(new Date(now))}): give the date too if you mean tomorrow, e.g. --ends-at "${ymd(tomorrow)} ${hhmm(d)}"`);
    }
    return d.getTime();
  }
  if (/^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}/.test(t)) {
    const ms = Date.parse(t.replace(' ', 'T'));
    if (Number.isFinite(ms)) return ms;
  }
  throw new PolicyError(`--ends-at "${text}" is not understood: use an ISO time (2026-11-23T18:00Z), HH:MM, or +8h / +90m`);
}

export interface StartLimits {
  maxHours: number;
  requireOfficer: boolean;
  /** Refuse a start while a camera is not live or the broker is down, unless allowDegraded (default true). */
  requireReady?: boolean;
  /** config match.threshold: the threshold of a start that names none (when no calibration can derive one). */
  configThreshold?: number;
}

/**
 * Throws PolicyError with a plain reason; returns the request with text fields trimmed. Neither a
 * threshold nor a target FPIR: the service takes the config's (recorded as such).
 */
export function validateStart(req: StartRequest, now: number, limits: StartLimits): StartRequest {
  const ref = req.authorisationRef?.trim() ?? '';
  const loc = req.location?.trim() ?? '';
  const officer = req.authorisingOfficer?.trim() ?? '';
  if (!ref) throw new PolicyError('an authorisation reference is required (--authorisation)');
  if (ref.length > 128) throw new PolicyError('the authorisation reference is longer than 128 characters');
  if (!loc) throw new PolicyError('a location is required (--location)');
  if (loc.length > 200) throw new PolicyError('the location is longer than 200 characters');
  if (limits.requireOfficer && !officer) throw new PolicyError('the authorising officer is required (--officer)');
  if (officer.length > 128) throw new PolicyError('the officer name is longer than 128 characters');
  if (req.threshold !== undefined && req.targetFpir !== undefined) throw new PolicyError('give either --threshold or --target-fpir, not both');
  if (req.targetFpir !== undefined) {
    if (typeof req.targetFpir !== 'number' || !Number.isFinite(req.targetFpir) || req.targetFpir < 1e-8 || req.targetFpir > 0.1) {
      throw new PolicyError('--target-fpir must be a false-alert rate between 1e-8 and 0.1 (e.g. 1e-4: one passer-by in 10,000)');
    }
  } else if (req.threshold !== undefined && (typeof req.threshold !== 'number' || !Number.isFinite(req.threshold) || req.threshold <= 0 || req.threshold >= 1)) {
    throw new PolicyError('--threshold must be a number between 0 and 1 (the recorded similarity threshold), or give --target-fpir');
  }
  if (!Number.isFinite(req.endsAt) || req.endsAt <= now) throw new PolicyError('--ends-at must be in the future');
  const maxH = Math.min(limits.maxHours, MAX_HOURS_CEILING);
  if (req.endsAt - now > maxH * HOUR_MS) throw new PolicyError(`--ends-at is more than ${maxH} h away: a deployment and its watchlist last at most ${maxH} h`);
  return { ...req, authorisationRef: ref, location: loc, ...(officer ? { authorisingOfficer: officer } : {}), ...(req.reason?.trim() ? { reason: req.reason.trim() } : {}) };
}

/** The watchlist never outlives its own expiry: the deployment ends no later than it. */
export function effectiveEnd(requestedEndsAt: number, watchlistExpiresAt: number): number {
  return Number.isFinite(watchlistExpiresAt) ? Math.min(requestedEndsAt, watchlistExpiresAt) : requestedEndsAt;
}

/** "ends 14:00 (in 1 h 12 min)", with the date when it is not today (local time). */
export function endsWords(endsAt: number, now: number): string {
  const end = new Date(endsAt);
  const left = Math.max(0, Math.round((endsAt - now) / MIN_MS));
  const inWords = left >= 60 ? `${Math.floor(left / 60)} h ${left % 60} min` : `${left} min`;
  const day = ymd(end) === ymd(new Date(now)) ? '' : `${ymd(end)} `;
  return `ends ${day}${hhmm(end)} (in ${inWords})`;
}
