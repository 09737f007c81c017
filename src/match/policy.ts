// The alert decision. A possible match becomes an alert only when the same track scored at or
// above the deployment threshold in at least `minObservations` observations (one lucky frame of
// a look-alike is not enough), at most once per track and subject, and not again for the same
// subject on the same camera within the cooldown (a person lingering in the zone, or leaving and
// re-entering, should not flood the officers). Pure; the clock comes in as `now`.
//
// A track is one person: the analyser splits off any look that the appearance gate finds to be
// someone else's before it is observed here (issue 19), so the observations counted for a subject
// on a track are all of the face the alert will show. The alert carries the score of the
// observation that decided it (the frame whose face the card shows), and `at` is the camera's
// capture time of that frame.

export interface PolicySettings {
  threshold: number;
  minObservations: number;
  cooldownMs: number;
}

export interface Observation {
  camera: string;
  trackId: number;
  /** Best candidate of this observation (top-1 of the gallery search). */
  subjectId: string;
  score: number;
  at: number;
}

export type Verdict =
  | { kind: 'alert'; subjectId: string; score: number; observations: number }
  | { kind: 'pending'; subjectId: string; observations: number }
  | { kind: 'suppressed'; subjectId: string; why: 'already_alerted' | 'cooldown' }
  | { kind: 'no_match' };

interface TrackState {
  /** subjectId -> {count of observations at or above threshold, best score}. */
  hits: Map<string, { count: number; best: number }>;
  alerted: Set<string>;
}

export class AlertPolicy {
  private tracks = new Map<string, TrackState>();
  private lastAlert = new Map<string, number>();

  constructor(private readonly s: PolicySettings) {}

  get settings(): PolicySettings {
    return this.s;
  }

  /** Is this track currently collecting observations for a candidate (not yet alerted)? */
  awaiting(camera: string, trackId: number): boolean {
    const st = this.tracks.get(`${camera}#${trackId}`);
    if (!st) return false;
    for (const [subject, h] of st.hits) if (h.count > 0 && !st.alerted.has(subject)) return true;
    return false;
  }

  observe(o: Observation): Verdict {
    if (o.score < this.s.threshold) return { kind: 'no_match' };
    const key = `${o.camera}#${o.trackId}`;
    let st = this.tracks.get(key);
    if (!st) this.tracks.set(key, (st = { hits: new Map(), alerted: new Set() }));
    if (st.alerted.has(o.subjectId)) return { kind: 'suppressed', subjectId: o.subjectId, why: 'already_alerted' };
    const h = st.hits.get(o.subjectId) ?? { count: 0, best: 0 };
    h.count += 1;
    h.best = Math.max(h.best, o.score);
    st.hits.set(o.subjectId, h);
    if (h.count < this.s.minObservations) return { kind: 'pending', subjectId: o.subjectId, observations: h.count };
    const coolKey = `${o.camera}#${o.subjectId}`;
    const last = this.lastAlert.get(coolKey);
    st.alerted.add(o.subjectId);
    if (last !== undefined && o.at - last < this.s.cooldownMs) return { kind: 'suppressed', subjectId: o.subjectId, why: 'cooldown' };
    this.lastAlert.set(coolKey, o.at);
    // The score of THIS observation: the alert shows this frame's face, so it shows the score
    // that face's search reached (not the best of the track, which may be another frame's).
    return { kind: 'alert', subjectId: o.subjectId, score: o.score, observations: h.count };
  }

  /** Forget a track's state when it ends (its scores are not biometric, but need not be kept). */
  endTrack(camera: string, trackId: number): void {
    this.tracks.delete(`${camera}#${trackId}`);
  }

  /** Drop cooldown entries older than the cooldown (called now and then to bound memory). */
  prune(now: number): void {
    for (const [k, at] of this.lastAlert) if (now - at >= this.s.cooldownMs) this.lastAlert.delete(k);
  }
}
