// The van's side of the fleet: hands its deployment records, signed results reports and signed
// audit heads to its OWN broker, on the fleet topics (src/mqtt/topics.ts) that the bridge to HQ
// forwards (src/mqtt/bridge.ts). It never talks to HQ itself: while the mobile link is down the
// van broker queues for the bridge (QoS 1, bounded), and the van carries on as before.
//
// It reads the deployment store (the records are the truth; the report regenerated after a late
// decision is a new version there) every fleet.syncSeconds and publishes what changed since it
// last looked. On every (re)connect to its broker, and whenever the bridge reports that it has
// (re)connected to HQ, it forgets what it sent and re-sends the last
// fleet.resendDays of records and every report version, in order: a van broker restarted while HQ
// was unreachable lost its queue with it (persistence is off), and HQ ignores what it already has.
// Nothing here touches alerts, the ledger or decisions: the store's record and report are counts,
// places and hashes (src/deployment/report.ts).
import type { Clock, Component } from '../lifecycle.js';
import type { Logger } from '../log.js';
import type { MqttLink } from '../mqtt/client.js';
import type { FleetDeployment, FleetHead, FleetTopics } from '../mqtt/topics.js';
import type { DeploymentRecord, DeploymentReport } from '../deployment/types.js';
import type { FleetSigner } from './envelope.js';

export interface FleetSource {
  list(limit: number): DeploymentRecord[];
  report(id: string, version?: number): DeploymentReport | null;
}

export interface FleetPublisherDeps {
  source: FleetSource;
  mqtt: MqttLink;
  topics: FleetTopics;
  /** Made in start() (reads the van key): no I/O in the constructor. */
  signer: () => FleetSigner;
  clock: Clock;
  log: Logger;
  syncMs: number;
  resendDays: number;
}

/** The record as HQ gets it: what a force's fleet page shows, nothing per alert. */
export function fleetDeployment(r: DeploymentRecord): FleetDeployment {
  const iso = (ms: number) => new Date(ms).toISOString();
  return {
    deploymentId: r.id,
    authorisationRef: r.authorisationRef,
    location: r.location,
    threshold: r.threshold,
    watchlistSubjects: r.watchlist.subjects,
    watchlistExpiresAt: r.watchlist.expiresAt,
    cameras: [...r.cameras],
    startedAt: iso(r.startedAt),
    endsAt: iso(r.endsAt),
    endedAt: r.endedAt === null ? null : iso(r.endedAt),
    endReason: r.endReason,
    degraded: [...r.degraded],
  };
}

/** What to send now: pure, so the order (record, then each report version and its head) is tested. */
export function pendingMessages(records: readonly DeploymentRecord[], report: FleetSource['report'], sent: ReadonlySet<string>, since: number): Array<{ key: string; kind: 'deployment' | 'report' | 'head'; id: string; body: unknown }> {
  const out: Array<{ key: string; kind: 'deployment' | 'report' | 'head'; id: string; body: unknown }> = [];
  // Oldest first, so HQ receives a van's history in the order it happened.
  for (const r of [...records].filter((x) => x.startedAt >= since).sort((a, b) => a.startedAt - b.startedAt)) {
    const dk = `deployment:${r.id}:${r.endedAt ?? 'running'}`;
    if (!sent.has(dk)) out.push({ key: dk, kind: 'deployment', id: r.id, body: fleetDeployment(r) });
    const latest = r.endedAt === null ? null : report(r.id);
    if (!latest) continue;
    for (let v = 1; v <= latest.version; v++) {
      const rk = `report:${r.id}:${v}`;
      if (sent.has(rk)) continue;
      const rep = v === latest.version ? latest : report(r.id, v);
      if (!rep) continue;
      out.push({ key: rk, kind: 'report', id: r.id, body: rep });
      const h = rep.auditHead;
      if (h) out.push({ key: `head:${r.id}:${v}`, kind: 'head', id: r.id, body: { deploymentId: r.id, reportVersion: v, seq: h.seq, hash: h.hash, signature: h.signature } satisfies FleetHead });
    }
  }
  return out;
}

/** Re-sends after the bridge reports it reconnected to HQ (besides the one at once). */
const RESEND_AFTER_BRIDGE_MS = [5_000, 30_000];

export class FleetPublisher implements Component {
  readonly name = 'fleet';
  private timer: NodeJS.Timeout | null = null;
  private signer: FleetSigner | null = null;
  private readonly sent = new Set<string>();
  private busy = false;
  private again = false;
  private unlisten: (() => void) | null = null;
  private readonly resendTimers = new Set<NodeJS.Timeout>();

  constructor(private readonly d: FleetPublisherDeps) {}

  async start(): Promise<void> {
    this.signer = this.d.signer();
    this.unlisten = this.d.mqtt.onConnect(() => {
      // A new broker session: whatever the old one queued for HQ may be gone with it.
      this.sent.clear();
      this.kick();
    });
    // The bridge's own notice ("1" when it (re)connects to HQ, published locally too): re-send the
    // recent records then as well. A restarted HQ broker may have dropped what the bridge handed it
    // before any HQ instance had subscribed again (docs/fleet.md, "Queueing"); HQ keeps each once.
    // Again a few seconds later, and once more after half a minute: the bridge reconnects the
    // moment the HQ broker is back, before HQ's own subscriber has reconnected and subscribed, and
    // mosquitto 2.0.11 does not restore HQ's shared subscription from its persistence file, so
    // what arrives in that gap reaches nobody (measured in the fleet-bridge test: the records
    // re-sent at once were lost, HQ subscribed again 1 s later). HQ keeps each record once.
    await this.d.mqtt.subscribe(this.d.topics.bridge, (_t, payload) => {
      if (payload.toString('utf8') !== '1') return;
      this.resendAll();
      for (const ms of RESEND_AFTER_BRIDGE_MS) {
        const timer = setTimeout(() => {
          this.resendTimers.delete(timer);
          this.resendAll();
        }, ms);
        timer.unref();
        this.resendTimers.add(timer);
      }
    });
    this.timer = setInterval(() => this.kick(), this.d.syncMs);
    this.timer.unref();
    this.kick();
  }

  /** Forget what was sent and hand the recent records again (HQ ignores what it already has). */
  private resendAll(): void {
    this.sent.clear();
    this.kick();
  }

  /** Publish what changed now (the daemon may call it after a deployment starts or ends). */
  kick(): void {
    if (!this.signer) return;
    if (this.busy) {
      this.again = true;
      return;
    }
    this.busy = true;
    void this.sync()
      .catch((err: unknown) => this.d.log.warn({ err }, 'fleet records could not be handed to the broker; retrying'))
      .finally(() => {
        this.busy = false;
        if (this.again) {
          this.again = false;
          this.kick();
        }
      });
  }

  private async sync(): Promise<void> {
    if (!this.d.mqtt.connected || !this.signer) return;
    const since = this.d.clock() - this.d.resendDays * 86_400_000;
    const todo = pendingMessages(this.d.source.list(500), (id, v) => this.d.source.report(id, v), this.sent, since);
    for (const m of todo) {
      const topic = m.kind === 'deployment' ? this.d.topics.deployment(m.id) : m.kind === 'report' ? this.d.topics.report(m.id) : this.d.topics.head(m.id);
      const env = this.signer.sign(m.kind, m.body, new Date(this.d.clock()));
      // One at a time, in order: QoS 1 keeps the order on the connection and over the bridge.
      await this.d.mqtt.publish(topic, JSON.stringify(env), { qos: 1 });
      this.sent.add(m.key);
    }
    if (todo.length) this.d.log.info({ messages: todo.length }, 'fleet records handed to the broker for HQ');
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    for (const t of this.resendTimers) clearTimeout(t);
    this.resendTimers.clear();
    this.unlisten?.();
    this.signer?.destroy();
    this.signer = null;
  }
}
