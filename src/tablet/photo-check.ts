// The tablet's photo check (issue 25): after an alert, the officer photographs the person with
// the tablet's rear camera; the van runs that one photo through the same detector, quality gate
// (the enrolment gate: a photo taken at arm's length must be as good as a reference image) and
// embedder as enrolment (the inference pool), compares it with THAT alert's subject only (1:1,
// Gallery.scoreSubject: no other template is scored, nothing is searched), answers, and forgets.
//
//   POST /api/alerts/<id>/photo-check   body: one JPEG (Content-Type image/jpeg, Content-Length)
//
// Only when tablet.photoCheck.enabled, only on an alert of the running deployment, only for the
// signed-in officer (the TabletApi checked the account; the check id is bound to that officer),
// at most maxPerOfficerPerMinute attempts. The upload is read into an owned buffer of the main
// thread's pools (pool "frame"), the decoded pixels, the aligned face and the embedding are
// wiped (sodium_memzero) in one finally block, before the answer is written; the worker side is
// wiped by the pool. Nothing is written to disk; the audit records that a check was made, by
// whom, on which alert, and its outcome (score and threshold: numbers), never the image.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { randomBytes } from 'node:crypto';
import type { Config } from '../config/schema.js';
import type { AuditRecorder } from '../audit/log.js';
import type { Clock, Component } from '../lifecycle.js';
import type { Logger } from '../log.js';
import { wipe } from '../crypto/secure.js';
import type { BufferPools, Lease } from '../buffers/pools.js';
import { decodeImage, ImageError } from '../vision/decode.js';
import { findModel, loadManifest } from '../vision/manifest.js';
import { modelsDirOf } from '../vision/engine.js';
import type { FaceDetection, FaceEngine } from '../vision/types.js';
import type { OpenWatchlist } from '../watchlist/service.js';
import { loadOneToOne, VERDICT_TEXT, verdictOf, type CheckVerdict } from '../match/one-to-one.js';
import { ALERT_ID_RE, SCHEMA, type PhotoCheckAnswer, type PhotoCheckRefusal } from '../mqtt/topics.js';
import type { Send } from './api.js';
import { meanLuma, pickPhotoFace, RateLimiter, UNUSABLE_TEXT, unusableReasons, type UnusableCode } from './photo-check-rules.js';

const JSON_TYPE = 'application/json; charset=utf-8';
/** Owned buffers are taken in steps of this size, so a few pool entries serve every photo size. */
const BUCKET = 256 * 1024;
/** Checks remembered for decisions that cite them (ids, officer, outcome: no image, no score). */
const MAX_REMEMBERED = 10_000;

export interface PhotoCheckDeps {
  config: Config;
  /** The daemon's inference pool, as enrolment uses it. */
  engine: () => FaceEngine;
  /** The main thread's buffer pools (`lfr audit buffers` reads them). */
  pools: BufferPools;
  alerts: { subjectOf(id: string): { row: { deploymentId: string | null }; subjectRef: string } | null };
  watchlist: () => OpenWatchlist | null;
  deployment: () => { id: string } | null;
  audit: AuditRecorder;
  clock: Clock;
  log: Logger;
  /** A check was made (its deployment's ledger counts it). */
  onCheck?: (r: { deploymentId: string; alertId: string; verdict: CheckVerdict }) => void;
}

/** What the deployment record says about the check. */
export interface PhotoCheckSetting {
  enabled: boolean;
  falseMatchRate: number;
  threshold: number | null;
  tar: number | null;
}

class Refused extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

export class PhotoCheck implements Component {
  readonly name = 'photo-check';
  private threshold: number | null = null;
  private tar: number | null = null;
  private readonly limiter: RateLimiter;
  private readonly made = new Map<string, { alertId: string; officerId: string; verdict: CheckVerdict }>();

  constructor(private readonly d: PhotoCheckDeps) {
    this.limiter = new RateLimiter(d.config.tablet.photoCheck.maxPerOfficerPerMinute, 60_000);
  }

  private get cfg(): Config['tablet']['photoCheck'] {
    return this.d.config.tablet.photoCheck;
  }

  /** Reads the 1:1 threshold for the configured rate; an unusable calibration leaves the check off. */
  async start(): Promise<void> {
    if (!this.cfg.enabled) return;
    const modelsDir = modelsDirOf(this.d.config);
    const entry = findModel(await loadManifest(modelsDir), this.d.config.vision.embedder, 'embedder');
    const { point } = await loadOneToOne(modelsDir, entry, this.d.config.vision.mirrorAugment, this.cfg.falseMatchRate);
    this.threshold = point.threshold;
    this.tar = point.tar;
    this.d.log.info({ threshold: point.threshold, falseMatchRate: point.fmr, tar: point.tar }, 'photo check on');
  }

  async stop(): Promise<void> {
    this.threshold = null;
    this.made.clear();
  }

  setting(): PhotoCheckSetting {
    return { enabled: this.cfg.enabled && this.threshold !== null, falseMatchRate: this.cfg.falseMatchRate, threshold: this.threshold, tar: this.tar };
  }

  /** The outcome of a check this officer made on this alert, or null (a decision cites it). */
  lookup(alertId: string, officerId: string, checkId: string): CheckVerdict | null {
    const m = this.made.get(checkId);
    return m && m.alertId === alertId && m.officerId === officerId ? m.verdict : null;
  }

  /** POST /api/alerts/<id>/photo-check by a signed-in officer. Never throws. */
  async handle(req: IncomingMessage, res: ServerResponse, officerId: string, alertId: string, send: Send): Promise<void> {
    const lease = this.d.pools.lease();
    try {
      const answer = await this.check(req, officerId, alertId, lease);
      send(res, answer.verdict === 'photo_unusable' ? 422 : 200, JSON_TYPE, JSON.stringify(answer));
    } catch (err) {
      const r = err instanceof Refused ? err : new Refused(500, 'failed', 'the van could not make the check; try again');
      if (!(err instanceof Refused)) this.d.log.warn({ err, alertId }, 'photo check failed');
      this.d.audit.record('photo_check.refused', { alertId: ALERT_ID_RE.test(alertId) ? alertId : null, reason: r.code }, officerId);
      const body: PhotoCheckRefusal = { schema: SCHEMA, refused: r.message };
      // Whatever is still arriving is not kept: the connection closes once the answer is out.
      if (!req.complete) {
        r.headers.Connection = 'close';
        req.on('data', (chunk: Buffer) => chunk.fill(0));
        res.once('finish', () => req.destroy());
      }
      send(res, r.status, JSON_TYPE, JSON.stringify(body), r.headers);
    } finally {
      // Every owned buffer of this check (the upload) is zeroed here, before this returns.
      lease.release();
    }
  }

  private async check(req: IncomingMessage, officerId: string, alertId: string, lease: Lease): Promise<PhotoCheckAnswer> {
    if (!this.cfg.enabled || this.threshold === null) throw new Refused(403, 'disabled', 'photo checks are switched off on this van');
    const threshold = this.threshold;
    const subject = ALERT_ID_RE.test(alertId) ? this.d.alerts.subjectOf(alertId) : null;
    if (!subject) throw new Refused(404, 'unknown_alert', 'no such alert on the van (never raised, or already deleted)');
    const dep = this.d.deployment();
    if (!dep || subject.row.deploymentId !== dep.id) throw new Refused(403, 'not_running_deployment', 'this alert is not of the running deployment: checks are only for live alerts');
    const wait = this.limiter.take(officerId, this.d.clock());
    if (wait > 0) throw new Refused(429, 'rate_limited', `too many photo checks: wait ${wait} s`, { 'Retry-After': String(wait) });
    const type = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
    if (type !== 'image/jpeg') throw new Refused(415, 'not_jpeg', 'the photo must be a JPEG from the tablet camera');
    const photo = await this.readBody(req, lease);
    if (photo.length < 3 || photo[0] !== 0xff || photo[1] !== 0xd8 || photo[2] !== 0xff) throw new Refused(415, 'not_jpeg', 'the upload is not a JPEG photo');
    const wl = this.d.watchlist();
    const subj = wl?.subjects.find((s) => s.subjectRef === subject.subjectRef);
    if (!wl || !subj) throw new Refused(410, 'subject_gone', 'the alert\'s subject is no longer held on the van (watchlist purged)');

    const gates = this.d.config.quality.enrolment;
    const engine = this.d.engine();
    let pixels: Uint8Array | null = null;
    let aligned: Uint8Array | null = null;
    let vector: Float32Array | null = null;
    let dets: FaceDetection[] = [];
    try {
      let img;
      try {
        img = await decodeImage(photo, { label: 'photo', maxPixels: this.cfg.maxPhotoPixels });
      } catch (err) {
        if (!(err instanceof ImageError)) throw err;
        throw new Refused(422, 'not_decodable', /too many pixels/.test(err.message) ? 'the photo has too many pixels' : 'the photo could not be read (damaged or not a JPEG)');
      }
      pixels = img.data;
      dets = await engine.detect(img);
      const picked = pickPhotoFace(dets, gates);
      if ('refused' in picked) return this.unusable(officerId, alertId, dep.id, threshold, [picked.refused]);
      const face = engine.analyse(img, picked.face, gates);
      aligned = face.aligned.data;
      const reasons = unusableReasons(face.quality, meanLuma(face.aligned));
      if (reasons.length) return this.unusable(officerId, alertId, dep.id, threshold, reasons);
      vector = await engine.embed(face.aligned);
      const raw = wl.gallery.scoreSubject(vector, subj.id);
      if (raw === null) throw new Refused(410, 'subject_gone', 'the alert\'s subject is no longer held on the van (watchlist purged)');
      const score = Math.round(raw * 10000) / 10000;
      const verdict = verdictOf(score, threshold);
      return this.answer(officerId, alertId, dep.id, { verdict, text: VERDICT_TEXT[verdict], score, threshold, reasons: [] });
    } finally {
      // Photo, pixels, aligned face and template: gone before the answer is written.
      wipe(photo);
      if (pixels) wipe(pixels);
      if (aligned) wipe(aligned);
      if (vector) wipe(vector);
      for (const d of dets) d.shape68?.fill(0); // face geometry, from the worker
    }
  }

  private unusable(officerId: string, alertId: string, deploymentId: string, threshold: number, codes: UnusableCode[]): PhotoCheckAnswer {
    return this.answer(officerId, alertId, deploymentId, { verdict: 'photo_unusable', text: `photo unusable: ${codes.map((c) => UNUSABLE_TEXT[c]).join(', ')}`, score: null, threshold, reasons: codes });
  }

  private answer(officerId: string, alertId: string, deploymentId: string, a: Pick<PhotoCheckAnswer, 'verdict' | 'text' | 'score' | 'threshold' | 'reasons'>): PhotoCheckAnswer {
    const checkId = `chk-${randomBytes(8).toString('hex')}`;
    if (this.made.size >= MAX_REMEMBERED) this.made.delete(this.made.keys().next().value!);
    this.made.set(checkId, { alertId, officerId, verdict: a.verdict });
    this.d.audit.record('photo_check.made', { checkId, alertId, deploymentId, outcome: a.verdict, score: a.score, threshold: a.threshold, falseMatchRate: this.cfg.falseMatchRate, reasons: a.reasons.join(',') || null }, officerId);
    this.d.log.info({ alertId, verdict: a.verdict }, 'photo check made');
    try {
      this.d.onCheck?.({ deploymentId, alertId, verdict: a.verdict });
    } catch (err) {
      this.d.log.error({ err }, 'the photo check could not be added to the deployment record');
    }
    return { schema: SCHEMA, checkId, alertId, ...a, falseMatchRate: this.cfg.falseMatchRate };
  }

  /**
   * The upload, read into an owned buffer of the lease (wiped at release) with its size checked
   * before and while reading; each socket chunk is zeroed once copied.
   */
  private readBody(req: IncomingMessage, lease: Lease): Promise<Uint8Array> {
    const max = this.cfg.maxPhotoBytes;
    const declared = Number(req.headers['content-length']);
    if (req.headers['content-length'] === undefined || !Number.isInteger(declared) || declared < 0) return Promise.reject(new Refused(411, 'no_length', 'the upload must say its length'));
    if (declared > max) return Promise.reject(new Refused(413, 'too_large', `the photo is too large (${declared} bytes, at most ${max})`));
    const buf = lease.u8('frame', Math.max(BUCKET, Math.ceil(declared / BUCKET) * BUCKET));
    let n = 0;
    return new Promise((resolve, reject) => {
      req.on('data', (chunk: Buffer) => {
        if (n + chunk.length > declared) {
          chunk.fill(0);
          req.removeAllListeners('data');
          req.pause();
          reject(new Refused(413, 'too_large', 'the upload is longer than it said'));
          return;
        }
        buf.set(chunk, n);
        n += chunk.length;
        chunk.fill(0);
      });
      req.once('end', () => (n === declared ? resolve(buf.subarray(0, n)) : reject(new Refused(400, 'truncated', 'the upload ended early'))));
      req.once('error', () => reject(new Refused(400, 'truncated', 'the upload was interrupted')));
    });
  }
}
