// HQ's PostgreSQL store: the IngestStore the ingest writes through, the van registry
// (`lfr hq vans`), and the read queries of the HQ page. SQL only here.
import type pg from 'pg';
import type { FleetDeployment, FleetHead, StatusPayload } from '../mqtt/topics.js';
import type { DeploymentReport } from '../deployment/types.js';
import type { IngestStore, RegisteredVan } from './ingest.js';

export interface VanRow {
  vanId: string;
  keyId: string;
  publicKey: string;
  addedAt: string;
  removedAt: string | null;
}

export interface FleetVan {
  vanId: string;
  status: StatusPayload | null;
  vanTime: string | null;
  receivedAt: string | null;
  clockOffsetMs: number | null;
  link: string | null;
  linkAt: string | null;
  rejections: number;
  duplicates: number;
}

export interface DeploymentRow {
  vanId: string;
  deploymentId: string;
  record: FleetDeployment;
  clockFlag: string | null;
  vanTime: string;
  receivedAt: string;
  /** The newest report version, with the versions it replaced (numbers only). */
  report: DeploymentReport | null;
  reportVersions: number[];
  reportReceivedAt: string | null;
  reportClockFlag: string | null;
}

const iso = (d: Date | null | undefined): string | null => (d ? d.toISOString() : null);

export class HqStore implements IngestStore {
  constructor(private readonly pool: pg.Pool) {}

  // The registry ---------------------------------------------------------------------------------

  async addVan(vanId: string, publicKey: string, keyId: string): Promise<void> {
    await this.pool.query('INSERT INTO vans (van_id, public_key, key_id) VALUES ($1, $2, $3) ON CONFLICT (van_id) DO UPDATE SET public_key = $2, key_id = $3, removed_at = NULL, added_at = now()', [vanId, publicKey, keyId]);
  }

  /** Marks the van removed (its history stays); false when it was not registered. */
  async removeVan(vanId: string): Promise<boolean> {
    const r = await this.pool.query('UPDATE vans SET removed_at = now() WHERE van_id = $1 AND removed_at IS NULL', [vanId]);
    return (r.rowCount ?? 0) > 0;
  }

  async listVans(): Promise<VanRow[]> {
    const r = await this.pool.query<{ van_id: string; key_id: string; public_key: string; added_at: Date; removed_at: Date | null }>('SELECT van_id, key_id, public_key, added_at, removed_at FROM vans ORDER BY van_id');
    return r.rows.map((x) => ({ vanId: x.van_id, keyId: x.key_id, publicKey: x.public_key, addedAt: x.added_at.toISOString(), removedAt: iso(x.removed_at) }));
  }

  // IngestStore ------------------------------------------------------------------------------------

  async van(vanId: string): Promise<RegisteredVan | null> {
    const r = await this.pool.query<{ public_key: string; key_id: string; clock_offset_ms: string | null }>('SELECT v.public_key, v.key_id, s.clock_offset_ms FROM vans v LEFT JOIN van_status s USING (van_id) WHERE v.van_id = $1 AND v.removed_at IS NULL', [vanId]);
    const x = r.rows[0];
    return x ? { vanId, publicKey: x.public_key, keyId: x.key_id, clockOffsetMs: x.clock_offset_ms === null ? null : Number(x.clock_offset_ms) } : null;
  }

  async saveStatus(vanId: string, status: StatusPayload, vanTime: Date, received: Date): Promise<void> {
    // A status is sent live (QoS 0, never queued), so its age is the van's clock offset (plus the
    // link's delay, small against the skew that matters: minutes).
    await this.pool.query(
      `INSERT INTO van_status (van_id, status, van_time, received_at, clock_offset_ms) VALUES ($1, $2, $3, $4, $5)
       ON CONFLICT (van_id) DO UPDATE SET status = $2, van_time = $3, received_at = $4, clock_offset_ms = $5`,
      [vanId, JSON.stringify(status), vanTime, received, vanTime.getTime() - received.getTime()],
    );
  }

  async saveLink(vanId: string, up: boolean, received: Date): Promise<void> {
    await this.pool.query(`INSERT INTO van_status (van_id, link, link_at) VALUES ($1, $2, $3) ON CONFLICT (van_id) DO UPDATE SET link = $2, link_at = $3`, [vanId, up ? 'up' : 'down', received]);
  }

  async saveDeployment(vanId: string, d: FleetDeployment, vanTime: Date, received: Date, clockFlag: string | null): Promise<boolean> {
    // An end never goes back to "running" (a re-sent start record arriving after the end).
    const r = await this.pool.query(
      `INSERT INTO deployments (van_id, deployment_id, record, started_at, ended_at, van_time, received_at, clock_flag) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
       ON CONFLICT (van_id, deployment_id) DO UPDATE SET record = $3, ended_at = $5, van_time = $6, received_at = $7, clock_flag = COALESCE($8, deployments.clock_flag)
       WHERE deployments.ended_at IS NULL AND $5::timestamptz IS NOT NULL`,
      [vanId, d.deploymentId, JSON.stringify(d), d.startedAt, d.endedAt, vanTime, received, clockFlag],
    );
    return (r.rowCount ?? 0) > 0;
  }

  async saveReport(vanId: string, rep: DeploymentReport, sha: string, signature: string, vanTime: Date, received: Date, clockFlag: string | null): Promise<string> {
    const c = await this.pool.connect();
    try {
      await c.query('BEGIN');
      // One writer per deployment at a time (several HQ instances share the subscription).
      await c.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`${vanId}/${rep.deploymentId}`]);
      const have = await c.query<{ version: number; body_sha256: string }>('SELECT version, body_sha256 FROM reports WHERE van_id = $1 AND deployment_id = $2', [vanId, rep.deploymentId]);
      const same = have.rows.find((x) => x.version === rep.version);
      const newest = Math.max(0, ...have.rows.map((x) => x.version));
      let out: string;
      if (same) out = same.body_sha256 === sha ? 'duplicate' : `conflicting report: HQ holds a different version ${rep.version} of this deployment`;
      else if (newest > rep.version) out = `replayed old version ${rep.version}: HQ holds version ${newest}`;
      else {
        await c.query('INSERT INTO reports (van_id, deployment_id, version, report, body_sha256, signature, publish_by, van_time, received_at, clock_flag) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)', [vanId, rep.deploymentId, rep.version, JSON.stringify(rep), sha, signature, rep.publishBy, vanTime, received, clockFlag]);
        out = 'stored';
      }
      await c.query('COMMIT');
      return out;
    } catch (err) {
      await c.query('ROLLBACK').catch(() => undefined);
      throw err;
    } finally {
      c.release();
    }
  }

  async saveHead(vanId: string, h: FleetHead, received: Date): Promise<boolean> {
    const r = await this.pool.query('INSERT INTO audit_heads (van_id, seq, hash, signature, deployment_id, report_version, received_at) VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING', [vanId, h.seq, h.hash, h.signature, h.deploymentId, h.reportVersion, received]);
    return (r.rowCount ?? 0) > 0;
  }

  async reject(vanId: string | null, topic: string, reason: string, at: Date): Promise<void> {
    await this.pool.query('INSERT INTO rejections (van_id, topic, reason, at) VALUES ($1, $2, $3, $4)', [vanId, topic, reason, at]);
  }

  async duplicate(vanId: string): Promise<void> {
    await this.pool.query('INSERT INTO duplicates (van_id, count) VALUES ($1, 1) ON CONFLICT (van_id) DO UPDATE SET count = duplicates.count + 1', [vanId]);
  }

  // The page -------------------------------------------------------------------------------------

  async fleet(): Promise<FleetVan[]> {
    const r = await this.pool.query<{ van_id: string; status: StatusPayload | null; van_time: Date | null; received_at: Date | null; clock_offset_ms: string | null; link: string | null; link_at: Date | null; rejections: string; duplicates: string | null }>(
      `SELECT v.van_id, s.status, s.van_time, s.received_at, s.clock_offset_ms, s.link, s.link_at,
              (SELECT count(*) FROM rejections j WHERE j.van_id = v.van_id) AS rejections, d.count AS duplicates
         FROM vans v LEFT JOIN van_status s USING (van_id) LEFT JOIN duplicates d USING (van_id)
        WHERE v.removed_at IS NULL ORDER BY v.van_id`,
    );
    return r.rows.map((x) => ({ vanId: x.van_id, status: x.status, vanTime: iso(x.van_time), receivedAt: iso(x.received_at), clockOffsetMs: x.clock_offset_ms === null ? null : Number(x.clock_offset_ms), link: x.link, linkAt: iso(x.link_at), rejections: Number(x.rejections), duplicates: Number(x.duplicates ?? 0) }));
  }

  /** Every deployment, newest first, with its newest report version. */
  async deployments(limit = 500): Promise<DeploymentRow[]> {
    const r = await this.pool.query<{ van_id: string; deployment_id: string; record: FleetDeployment; clock_flag: string | null; van_time: Date; received_at: Date; report: DeploymentReport | null; versions: number[] | null; report_received_at: Date | null; report_clock_flag: string | null }>(
      `SELECT d.van_id, d.deployment_id, d.record, d.clock_flag, d.van_time, d.received_at, r.report, r.received_at AS report_received_at, r.clock_flag AS report_clock_flag,
              (SELECT array_agg(version ORDER BY version) FROM reports x WHERE x.van_id = d.van_id AND x.deployment_id = d.deployment_id) AS versions
         FROM deployments d
         LEFT JOIN LATERAL (SELECT report, received_at, clock_flag FROM reports x WHERE x.van_id = d.van_id AND x.deployment_id = d.deployment_id ORDER BY version DESC LIMIT 1) r ON true
        ORDER BY d.started_at DESC LIMIT $1`,
      [limit],
    );
    return r.rows.map((x) => ({ vanId: x.van_id, deploymentId: x.deployment_id, record: x.record, clockFlag: x.clock_flag, vanTime: x.van_time.toISOString(), receivedAt: x.received_at.toISOString(), report: x.report, reportVersions: x.versions ?? [], reportReceivedAt: iso(x.report_received_at), reportClockFlag: x.report_clock_flag }));
  }

  async rejections(limit = 50): Promise<{ total: number; recent: { at: string; vanId: string | null; topic: string; reason: string }[] }> {
    const t = await this.pool.query<{ n: string }>('SELECT count(*) AS n FROM rejections');
    const r = await this.pool.query<{ at: Date; van_id: string | null; topic: string; reason: string }>('SELECT at, van_id, topic, reason FROM rejections ORDER BY id DESC LIMIT $1', [limit]);
    return { total: Number(t.rows[0]?.n ?? 0), recent: r.rows.map((x) => ({ at: x.at.toISOString(), vanId: x.van_id, topic: x.topic, reason: x.reason })) };
  }

  async heads(vanId: string): Promise<{ seq: number; hash: string; deploymentId: string; reportVersion: number }[]> {
    const r = await this.pool.query<{ seq: string; hash: string; deployment_id: string; report_version: number }>('SELECT seq, hash, deployment_id, report_version FROM audit_heads WHERE van_id = $1 ORDER BY seq', [vanId]);
    return r.rows.map((x) => ({ seq: Number(x.seq), hash: x.hash, deploymentId: x.deployment_id, reportVersion: x.report_version }));
  }
}
