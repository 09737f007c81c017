// `lfr bench fleet`: HQ under a fleet's load, on this box. Real parts: a local PostgreSQL cluster
// (src/tools/postgres.ts, fsync off: say so beside the figures), HQ's mosquitto as
// `lfr hq broker setup` writes it (TLS, client certificates, per-van ACL), HQ's own composition
// root (HqDaemon, in this process) and N simulated vans, each its own TLS connection with its own
// certificate (CN = van id) and its own anchor key, sending what a van's bridge sends:
//   phase 1 (steady): a status every 10 s per van (QoS 0), a deployment record at the start and,
//     spread over the run, its end, its signed report and its signed audit head (QoS 1);
//   phase 2 (backlog): every van at once sends `backlog` reports, as a van back after a day away
//     would: how many messages per second HQ takes into PostgreSQL when it cannot keep up.
// Figures: messages per second held, delay van -> database commit (p50/p99) of fleet records,
// database bytes per deployment and per van-year.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import mqtt, { type MqttClient } from 'mqtt';
import { configSchema } from '../../config/schema.js';
import { silentLogger } from '../../log.js';
import { generateKeyFiles } from '../../crypto/keys.js';
import { anchorPublicKey } from '../../audit/anchor.js';
import { FleetSigner } from '../../fleet/envelope.js';
import { fleetTopicsFor, topicsFor, SCHEMA, type FleetDeployment, type StatusPayload } from '../../mqtt/topics.js';
import { keyId } from '../../crypto/sign.js';
import { hqConfigSchema } from '../../hq/config.js';
import { HqDaemon } from '../../hq/daemon.js';
import { ensureFleetCa, issueCert } from '../../hq/certs.js';
import { writeHqBroker } from '../../hq/broker.js';
import { LocalPostgres, postgresAvailable } from '../postgres.js';
import { LocalBroker, MOSQUITTO } from '../broker.js';
import { freePort } from '../../util/net.js';
import { BenchNotReady, type Bench } from './types.js';
import { signAnchor } from '../../audit/anchor.js';
import { spawn } from 'node:child_process';

const VANS = Number(process.env.LFR_BENCH_FLEET_VANS ?? 200);
const STATUS_S = 10;
const BACKLOG = 20;

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const pct = (xs: number[], p: number): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]! : NaN;
};

function report(id: string, version: number, start: Date, end: Date, head: ReturnType<typeof signAnchor>): unknown {
  // The shape of src/deployment/report.ts buildReport, with plausible counts and a dozen cameras' worth of fields.
  return { schema: 2, version, generatedAt: end.toISOString(), deploymentId: id, authorisationRef: 'AUTH-2026-0001', authorisingOfficer: 'Supt A', operator: 'op', location: 'High Street, outside the station, facing north', reason: 'Wanted offenders', startedAt: start.toISOString(), endedAt: end.toISOString(), endReason: 'ended_by_operator', durationMinutes: 360, publishBy: '2026-12-31', publishByRule: '20 working days after the end', degraded: [], cameras: [1, 2, 3, 4].map((i) => ({ name: `cam-${i}`, location: `Pole ${i}`, liveMinutes: 355, liveSeconds: 21300, livePercent: 98.6, interruptions: 1 })), threshold: 0.6, targetFpir: 0.001, expectedFalseAlertsPer10k: 1.2, watchlist: { subjects: 1000, notEnrolled: 3, categories: { wanted: 990, 'missing person': 10 }, bundleSha256: 'a'.repeat(64), signerKeyId: 'b'.repeat(16) }, facesAnalysed: 120_000, peopleSeen: 14_000, alerts: 3, confirmed: 2, falseAlerts: 1, notEngaged: 0, undecided: 0, engagements: { arrested: 1, spoken_to: 1, no_further_action: 0, not_located: 0 }, falseAlertRate: 1 / 14000, lateDecisions: 0, watchlistPurged: true, auditHead: head };
}

export const fleetBench: Bench = {
  name: 'fleet',
  description: `HQ under ${VANS} simulated vans (status every ${STATUS_S} s, a deployment record, report and head each, then a backlog) through a real mosquitto into PostgreSQL: messages/s, delay p99, bytes per van-year; --iterations = 10 s rounds`,
  async run(_cfg, opts) {
    if (!postgresAvailable()) throw new BenchNotReady('PostgreSQL is not installed (apt-get install postgresql; bash scripts/setup.sh)');
    if (!MOSQUITTO) throw new BenchNotReady('mosquitto is not installed (bash scripts/setup.sh)');
    void LocalBroker;
    const dir = mkdtempSync(path.join(os.tmpdir(), 'lfr-bench-fleet-'));
    const caDir = path.join(dir, 'ca');
    const pg = new LocalPostgres();
    const clients: MqttClient[] = [];
    let hq: HqDaemon | null = null;
    let broker: ReturnType<typeof spawn> | null = null;
    try {
      await pg.start();
      ensureFleetCa(caDir);
      const port = await freePort();
      const b = issueCert(caDir, 'server', 'localhost', ['localhost', '127.0.0.1'], path.join(dir, 'broker'), 'broker');
      const hqc = issueCert(caDir, 'client', 'hq', [], path.join(dir, 'hq'), 'hq-client');
      const web = issueCert(caDir, 'server', 'localhost', ['localhost', '127.0.0.1'], path.join(dir, 'hq'), 'web');
      const conf = writeHqBroker({ dir: path.join(dir, 'broker'), port, bind: '127.0.0.1', caFile: path.join(caDir, 'ca.crt'), certFile: b.certFile, keyFile: b.keyFile, prefix: 'lfr', ...(process.getuid?.() === 0 ? { user: 'root' } : {}) });
      broker = spawn(MOSQUITTO, ['-c', conf], { stdio: ['ignore', 'ignore', 'pipe'] });
      let blog = '';
      broker.stderr!.on('data', (d: Buffer) => (blog += d.toString()));
      for (let i = 0; !blog.includes(' running'); i++) {
        if (i > 400) throw new Error(`HQ mosquitto did not start: ${blog}`);
        await sleep(25);
      }
      const hcfg = hqConfigSchema.parse({ database: { url: pg.url, poolSize: 5 }, mqtt: { url: `mqtts://127.0.0.1:${port}`, caFile: path.join(caDir, 'ca.crt'), certFile: hqc.certFile, keyFile: hqc.keyFile, instance: 'bench' }, web: { host: '127.0.0.1', port: 0, certFile: web.certFile, keyFile: web.keyFile } });
      hq = new HqDaemon(hcfg, silentLogger());
      await hq.start(new AbortController().signal);
      const sizeOf = async (): Promise<number> => Number((await hq!.pool.query<{ s: string }>("SELECT sum(pg_total_relation_size(c.oid)) AS s FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'public' AND c.relkind = 'r'")).rows[0]!.s);

      // The vans: keys, certificates, registration, connections.
      const ca = readFileSync(path.join(caDir, 'ca.crt'));
      const vans: { id: string; signer: FleetSigner; client: MqttClient; keyFile: string }[] = [];
      for (let i = 0; i < VANS; i++) {
        const id = `van-${String(i).padStart(3, '0')}`;
        const k = generateKeyFiles('van', path.join(dir, 'vans', id), 'van');
        const a = anchorPublicKey(k.privateFile);
        await hq.store.addVan(id, a.publicKey, keyId(Buffer.from(a.publicKey, 'base64')));
        const c = issueCert(caDir, 'client', id, [], path.join(dir, 'vans', id), 'hq-client');
        const client = await mqtt.connectAsync(`mqtts://127.0.0.1:${port}`, { clientId: `lfr-van-${id}`, protocolVersion: 4, clean: false, ca, cert: readFileSync(c.certFile), key: readFileSync(c.keyFile), reconnectPeriod: 1000 });
        clients.push(client);
        vans.push({ id, signer: new FleetSigner(k.privateFile, id), client, keyFile: k.privateFile });
      }
      const size0 = await sizeOf();
      const cfg = configSchema.parse({});
      void cfg;

      // Phase 1: steady load.
      const rounds = opts.iterations;
      const t0 = Date.now();
      const acc0 = hq.subscriber.counters.accepted;
      hq.subscriber.counters.lastDelaysMs.length = 0;
      let sent = 0;
      const pub = (c: MqttClient, topic: string, payload: string, qos: 0 | 1): Promise<unknown> => {
        sent++;
        return c.publishAsync(topic, payload, { qos });
      };
      const start = new Date();
      await Promise.all(vans.map((v) => {
        const d: FleetDeployment = { deploymentId: `d-${v.id}-1`, authorisationRef: 'AUTH-2026-0001', location: 'High Street', threshold: 0.6, watchlistSubjects: 1000, watchlistExpiresAt: new Date(Date.now() + 86_400_000).toISOString(), cameras: ['cam-1', 'cam-2', 'cam-3', 'cam-4'], startedAt: start.toISOString(), endsAt: new Date(Date.now() + 6 * 3_600_000).toISOString(), endedAt: null, endReason: null, degraded: [] };
        return pub(v.client, fleetTopicsFor('lfr', v.id).deployment(d.deploymentId), JSON.stringify(v.signer.sign('deployment', d, new Date())), 1);
      }));
      for (let r = 0; r < rounds; r++) {
        const roundStart = Date.now();
        // Each van's status at its own offset within the 10 s, like vans started at random times.
        await Promise.all(vans.map(async (v, i) => {
          await sleep(((i * STATUS_S * 1000) / VANS) | 0);
          const s: StatusPayload = { schema: SCHEMA, vanId: v.id, updatedAt: new Date().toISOString(), deployment: { id: `d-${v.id}-1`, location: 'High Street', threshold: 0.6, endsAt: new Date(Date.now() + 3_600_000).toISOString() }, watchlist: { subjects: 1000, expiresAt: new Date(Date.now() + 86_400_000).toISOString() }, cameras: [1, 2, 3, 4].map((n) => ({ name: `cam-${n}`, state: 'live', fps: 10 })), counts: { facesAnalysed: 1000, alerts: 1, pendingOutbox: 0 }, health: 'ok', problems: [] };
          await pub(v.client, topicsFor('lfr', v.id).status, JSON.stringify(s), 0);
          // The end, the report and the head of van i arrive in round (i mod rounds).
          if (i % rounds === r) {
            const id = `d-${v.id}-1`;
            const end = new Date();
            const f = fleetTopicsFor('lfr', v.id);
            const head = signAnchor({ seq: 1000 + r, hash: 'c'.repeat(64) }, v.keyFile);
            await pub(v.client, f.deployment(id), JSON.stringify(v.signer.sign('deployment', { deploymentId: id, authorisationRef: 'AUTH-2026-0001', location: 'High Street', threshold: 0.6, watchlistSubjects: 1000, watchlistExpiresAt: new Date(Date.now() + 86_400_000).toISOString(), cameras: ['cam-1', 'cam-2', 'cam-3', 'cam-4'], startedAt: start.toISOString(), endsAt: end.toISOString(), endedAt: end.toISOString(), endReason: 'ended_by_operator', degraded: [] }, end)), 1);
            await pub(v.client, f.report(id), JSON.stringify(v.signer.sign('report', report(id, 1, start, end, head), end)), 1);
            await pub(v.client, f.head(id), JSON.stringify(v.signer.sign('head', { deploymentId: id, reportVersion: 1, seq: head.seq, hash: head.hash, signature: head.signature }, end)), 1);
          }
        }));
        const left = STATUS_S * 1000 - (Date.now() - roundStart);
        if (left > 0) await sleep(left);
      }
      // Drain: wait until HQ has taken everything sent (QoS 0 statuses may be dropped: counted).
      const steadySent = sent;
      for (let i = 0; i < 600 && hq.subscriber.counters.accepted - acc0 < steadySent; i++) await sleep(100);
      const steadyS = (Date.now() - t0) / 1000;
      const steadyAccepted = hq.subscriber.counters.accepted - acc0;
      const steadyDelays = [...hq.subscriber.counters.lastDelaysMs];
      const sizeSteady = await sizeOf();

      // Phase 2: the backlog of a fleet back online at once.
      hq.subscriber.counters.lastDelaysMs.length = 0;
      const acc1 = hq.subscriber.counters.accepted;
      const b0 = Date.now();
      await Promise.all(vans.map(async (v) => {
        for (let k = 2; k < 2 + BACKLOG; k++) {
          const id = `d-${v.id}-${k}`;
          const now = new Date();
          const head = signAnchor({ seq: 5000 + k, hash: 'd'.repeat(64) }, v.keyFile);
          await pub(v.client, fleetTopicsFor('lfr', v.id).report(id), JSON.stringify(v.signer.sign('report', report(id, 1, now, now, head), now)), 1);
        }
      }));
      const backlog = VANS * BACKLOG;
      for (let i = 0; i < 3000 && hq.subscriber.counters.accepted - acc1 < backlog; i++) await sleep(100);
      const backlogS = (Date.now() - b0) / 1000;
      const backlogTaken = hq.subscriber.counters.accepted - acc1;
      const sizeEnd = await sizeOf();
      const refused = hq.subscriber.counters.refused;

      // Database bytes: a deployment is its record, its report and its head (phase 1 measured:
      // VANS deployments); the backlog adds reports only. Status rows are one per van (upserted).
      const bytesPerDeployment = (sizeSteady - size0) / VANS;
      const deploymentsPerVanYear = 250;
      const json = {
        vans: VANS,
        statusEverySeconds: STATUS_S,
        rounds,
        steady: { seconds: Math.round(steadyS), sent: steadySent, accepted: steadyAccepted, messagesPerSecond: Math.round(steadyAccepted / steadyS), delayP50Ms: Math.round(pct(steadyDelays, 50)), delayP99Ms: Math.round(pct(steadyDelays, 99)), records: steadyDelays.length },
        backlog: { messages: backlog, taken: backlogTaken, seconds: Math.round(backlogS * 10) / 10, messagesPerSecond: Math.round(backlogTaken / backlogS), delayP99Ms: Math.round(pct(hq.subscriber.counters.lastDelaysMs, 99)) },
        refused,
        database: { bytesPerDeployment: Math.round(bytesPerDeployment), bytesPerReport: Math.round((sizeEnd - sizeSteady) / backlog), deploymentsPerVanYearAssumed: deploymentsPerVanYear, mbPerVanYear: Math.round((bytesPerDeployment * deploymentsPerVanYear) / 1e4) / 100, fsync: 'off (throw-away cluster)' },
      };
      const human = [
        `fleet: ${VANS} vans, status every ${STATUS_S} s, ${rounds} rounds, one HQ instance, PostgreSQL ${pg.url.includes('host=') ? 'on a Unix socket' : ''} (fsync off)`,
        `  steady: ${json.steady.accepted}/${json.steady.sent} messages in ${json.steady.seconds} s = ${json.steady.messagesPerSecond}/s; van -> database commit p50 ${json.steady.delayP50Ms} ms, p99 ${json.steady.delayP99Ms} ms (${json.steady.records} records)`,
        `  backlog: ${json.backlog.taken}/${backlog} signed reports in ${json.backlog.seconds} s = ${json.backlog.messagesPerSecond}/s held; p99 ${json.backlog.delayP99Ms} ms`,
        `  database: ${json.database.bytesPerDeployment} B per deployment (record + report + head), ${json.database.bytesPerReport} B per report; ${json.database.mbPerVanYear} MB per van-year at ${deploymentsPerVanYear} deployments`,
        `  refused: ${refused}`,
      ].join('\n');
      return { human, json };
    } finally {
      for (const c of clients) await c.endAsync(true).catch(() => undefined);
      await hq?.stop().catch(() => undefined);
      broker?.kill('SIGTERM');
      await pg.cleanup();
      rmSync(dir, { recursive: true, force: true });
    }
  },
};
