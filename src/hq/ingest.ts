// What HQ does with each message from a van: check it, then keep it once, or refuse it and say why.
// Checks, in order: the topic is a fleet topic; the van is registered (and not removed); for a
// fleet record, the envelope is well formed, names the topic's van and kind, is signed by the
// registered key, and its body is what its kind says; a report older than the version HQ holds
// is a replay; an audit head also carries a valid anchor signature. A refusal is logged and counted
// with the topic and the reason, never the payload (src/hq/store.ts).
//
// Clocks: HQ keeps both the van's time (sentAt) and its own (received). A record sent from a van
// whose clock runs ahead, or whose last status was far off HQ's clock, is kept and flagged. A record
// that arrives late is not flagged for that alone: a van that was offline for a day sends late.
import { createHash } from 'node:crypto';
import { parseEnvelope, verifyEnvelope } from '../fleet/envelope.js';
import { verifyAnchorSignature } from '../audit/anchor.js';
import { parseFleetTopic, SCHEMA, type FleetDeployment, type FleetEnvelope, type FleetHead, type StatusPayload } from '../mqtt/topics.js';
import type { DeploymentReport } from '../deployment/types.js';

export interface RegisteredVan {
  vanId: string;
  publicKey: string;
  keyId: string;
  /** The van's clock minus HQ's at its last status (ms), when known. */
  clockOffsetMs: number | null;
}

/** What the ingest writes (src/hq/store.ts implements it over PostgreSQL). */
export interface IngestStore {
  van(vanId: string): Promise<RegisteredVan | null>;
  saveStatus(vanId: string, status: StatusPayload, vanTime: Date, received: Date): Promise<void>;
  saveLink(vanId: string, up: boolean, received: Date): Promise<void>;
  /** false: HQ already holds this state of the record (a duplicate). */
  saveDeployment(vanId: string, d: FleetDeployment, vanTime: Date, received: Date, clockFlag: string | null): Promise<boolean>;
  /** 'stored' | 'duplicate' | a refusal reason (an older or conflicting version). */
  saveReport(vanId: string, r: DeploymentReport, bodySha256: string, signature: string, vanTime: Date, received: Date, clockFlag: string | null): Promise<string>;
  saveHead(vanId: string, h: FleetHead, received: Date): Promise<boolean>;
  reject(vanId: string | null, topic: string, reason: string, at: Date): Promise<void>;
  duplicate(vanId: string): Promise<void>;
}

export type IngestResult = { ok: true; what: string } | { ok: false; reason: string };

export interface IngestOptions {
  prefix: string;
  /** A van clock this far from HQ's (either way) is flagged. */
  maxSkewMs: number;
}

const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,3})?(Z|[+-]\d{2}:\d{2})$/;
const isIso = (v: unknown): v is string => typeof v === 'string' && ISO.test(v) && !Number.isNaN(Date.parse(v));
const isObj = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

/** Only safe characters of a topic, and not too many of them (a refusal row is not a dump). */
export const safeTopic = (t: string): string => t.replace(/[^A-Za-z0-9/._+$-]/g, '?').slice(0, 200);

export function checkDeployment(b: unknown, id: string): FleetDeployment | string {
  if (!isObj(b)) return 'deployment body is not an object';
  if (b.deploymentId !== id) return 'deploymentId does not match the topic';
  if (typeof b.location !== 'string' || typeof b.authorisationRef !== 'string') return 'deployment lacks location or authorisation';
  if (!isIso(b.startedAt) || !isIso(b.endsAt) || (b.endedAt !== null && !isIso(b.endedAt))) return 'deployment times must be ISO-8601';
  if (typeof b.threshold !== 'number' || typeof b.watchlistSubjects !== 'number' || !Array.isArray(b.cameras)) return 'deployment lacks threshold, watchlist size or cameras';
  return b as unknown as FleetDeployment;
}

export function checkReport(b: unknown, id: string): DeploymentReport | string {
  if (!isObj(b)) return 'report body is not an object';
  if (b.deploymentId !== id) return 'deploymentId does not match the topic';
  if (b.schema !== 2) return 'unsupported report schema';
  if (!Number.isInteger(b.version) || (b.version as number) < 1) return 'report version must be a positive integer';
  if (typeof b.publishBy !== 'string' || !/^\d{4}-\d{2}-\d{2}$/.test(b.publishBy)) return 'report lacks its publish-by date';
  if (!isIso(b.startedAt) || !isIso(b.endedAt)) return 'report times must be ISO-8601';
  for (const k of ['alerts', 'confirmed', 'falseAlerts', 'peopleSeen', 'threshold']) if (typeof b[k] !== 'number') return `report lacks ${k}`;
  return b as unknown as DeploymentReport;
}

export function checkHead(b: unknown, id: string): FleetHead | string {
  if (!isObj(b)) return 'head body is not an object';
  if (b.deploymentId !== id) return 'deploymentId does not match the topic';
  if (!Number.isInteger(b.seq) || !Number.isInteger(b.reportVersion)) return 'head lacks seq or reportVersion';
  if (typeof b.hash !== 'string' || !/^[0-9a-f]{64}$/.test(b.hash) || typeof b.signature !== 'string') return 'head lacks hash or signature';
  return b as unknown as FleetHead;
}

export function checkStatus(raw: Buffer, vanId: string): StatusPayload | string {
  if (raw.length > 65_536) return 'status too large';
  let v: unknown;
  try {
    v = JSON.parse(raw.toString('utf8'));
  } catch {
    return 'status is not valid JSON';
  }
  if (!isObj(v)) return 'status is not a JSON object';
  if (v.schema !== SCHEMA) return 'unsupported status schema';
  if (v.vanId !== vanId) return 'status names another van';
  if (!isIso(v.updatedAt)) return 'status lacks updatedAt';
  if (!Array.isArray(v.cameras)) return 'status lacks cameras';
  return v as unknown as StatusPayload;
}

/** The flag a record from this van gets now (null: its clock looks right). */
export function clockFlag(env: FleetEnvelope, van: RegisteredVan, received: Date, maxSkewMs: number): string | null {
  const ahead = Date.parse(env.sentAt) - received.getTime();
  if (ahead > maxSkewMs) return `van clock ahead: sent ${env.sentAt}, received ${received.toISOString()}`;
  if (van.clockOffsetMs !== null && Math.abs(van.clockOffsetMs) > maxSkewMs) return `van clock off by ${Math.round(van.clockOffsetMs / 1000)} s at its last status`;
  return null;
}

export async function ingest(store: IngestStore, o: IngestOptions, topic: string, raw: Buffer, received: Date): Promise<IngestResult> {
  const refuse = async (vanId: string | null, reason: string): Promise<IngestResult> => {
    await store.reject(vanId, safeTopic(topic), reason, received);
    return { ok: false, reason };
  };
  const t = parseFleetTopic(o.prefix, topic);
  if (!t) return refuse(null, 'not a fleet topic');
  const van = await store.van(t.vanId);
  if (!van) return refuse(t.vanId, 'unknown van (not registered at HQ, or removed)');

  if (t.kind === 'bridge') {
    const s = raw.toString('utf8');
    if (s !== '0' && s !== '1') return refuse(t.vanId, 'bridge state must be 0 or 1');
    await store.saveLink(t.vanId, s === '1', received);
    return { ok: true, what: 'link' };
  }
  if (t.kind === 'status') {
    const s = checkStatus(raw, t.vanId);
    if (typeof s === 'string') return refuse(t.vanId, s);
    await store.saveStatus(t.vanId, s, new Date(s.updatedAt), received);
    return { ok: true, what: 'status' };
  }

  const env = parseEnvelope(raw);
  if (typeof env === 'string') return refuse(t.vanId, env);
  if (env.vanId !== t.vanId) return refuse(t.vanId, 'envelope names another van than the topic');
  if (env.kind !== t.kind) return refuse(t.vanId, 'envelope kind does not match the topic');
  if (env.keyId !== van.keyId || !verifyEnvelope(env, van.publicKey)) return refuse(t.vanId, 'bad signature (not signed by the key registered for this van)');
  let body: unknown;
  try {
    body = JSON.parse(env.body);
  } catch {
    return refuse(t.vanId, 'signed body is not valid JSON');
  }
  const id = t.deploymentId!;
  const flag = clockFlag(env, van, received, o.maxSkewMs);
  const vanTime = new Date(env.sentAt);
  if (t.kind === 'deployment') {
    const d = checkDeployment(body, id);
    if (typeof d === 'string') return refuse(t.vanId, d);
    if (!(await store.saveDeployment(t.vanId, d, vanTime, received, flag))) await store.duplicate(t.vanId);
    return { ok: true, what: 'deployment' };
  }
  if (t.kind === 'report') {
    const r = checkReport(body, id);
    if (typeof r === 'string') return refuse(t.vanId, r);
    const sha = createHash('sha256').update(env.body).digest('hex');
    const res = await store.saveReport(t.vanId, r, sha, env.sig, vanTime, received, flag);
    if (res === 'duplicate') await store.duplicate(t.vanId);
    else if (res !== 'stored') return refuse(t.vanId, res);
    return { ok: true, what: `report v${r.version}` };
  }
  const h = checkHead(body, id);
  if (typeof h === 'string') return refuse(t.vanId, h);
  if (!verifyAnchorSignature(h.seq, h.hash, h.signature, van.publicKey)) return refuse(t.vanId, 'audit head signature is not the van anchor key\'s');
  if (!(await store.saveHead(t.vanId, h, received))) await store.duplicate(t.vanId);
  return { ok: true, what: 'head' };
}
