// Prometheus text exposition (format 0.0.4) of the health facts and deployment counters, served on
// 127.0.0.1 only: the van's LAN carries tablets, not monitoring, and nothing here needs auth
// because nothing here is personal: counts, rates, states, temperatures. Never a subject, a
// score of a person, an image or a template.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { HealthFacts, HealthReport, Level, PerformanceFacts } from './types.js';

export interface DeploymentGauge {
  running: boolean;
  facesAnalysed: number;
  alerts: number;
  confirmed: number;
  falseAlerts: number;
  undecided: number;
}

const LEVEL_VALUE: Record<Level, number> = { OK: 0, WARN: 1, FAIL: 2 };

/** Label values escaped per the exposition format: backslash, double quote and newline. */
export const escapeLabel = (v: string) => v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');

class Writer {
  private out: string[] = [];
  private seen = new Set<string>();
  metric(name: string, type: 'gauge' | 'counter', help: string, value: number | null, labels: Record<string, string> = {}): void {
    if (value === null || !Number.isFinite(value)) return;
    if (!this.seen.has(name)) {
      this.seen.add(name);
      this.out.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
    }
    const l = Object.entries(labels).map(([k, v]) => `${k}="${escapeLabel(v)}"`).join(',');
    this.out.push(`${name}${l ? `{${l}}` : ''} ${value}`);
  }
  text(): string {
    return `${this.out.join('\n')}\n`;
  }
}

export function renderMetrics(report: HealthReport | null, facts: HealthFacts | null, dep: DeploymentGauge | null, perf: PerformanceFacts | null = null): string {
  const w = new Writer();
  w.metric('lfr_up', 'gauge', 'The daemon is running.', 1);
  if (perf) {
    const s = (v: number | null): number | null => (v === null ? null : v / 1000);
    // Plain gauges, one name per statistic: a `quantile` label belongs to a summary (with _sum and
    // _count over all observations), which these windowed figures are not.
    w.metric('lfr_event_loop_delay_p50_seconds', 'gauge', 'Median event-loop delay of the daemon over the last minute.', s(perf.eventLoopLagP50Ms));
    w.metric('lfr_event_loop_delay_p99_seconds', 'gauge', '99th-percentile event-loop delay of the daemon over the last minute.', s(perf.eventLoopLagP99Ms));
    w.metric('lfr_event_loop_delay_max_seconds', 'gauge', 'Largest event-loop delay of the daemon over the last minute.', s(perf.eventLoopLagMaxMs));
    w.metric('lfr_decision_latency_p50_seconds', 'gauge', 'Median frame-to-decision latency of the last frames analysed.', s(perf.decisionLatencyP50Ms));
    w.metric('lfr_decision_latency_p99_seconds', 'gauge', '99th-percentile frame-to-decision latency of the last frames analysed.', s(perf.decisionLatencyP99Ms));
  }
  if (report) {
    w.metric('lfr_health_level', 'gauge', 'Worst health level: 0 OK, 1 WARN, 2 FAIL.', LEVEL_VALUE[report.level]);
    for (const c of report.checks) w.metric('lfr_health_check', 'gauge', 'Level of one health check: 0 OK, 1 WARN, 2 FAIL.', LEVEL_VALUE[c.level], { check: c.name });
  }
  if (facts?.system) {
    const s = facts.system;
    w.metric('lfr_cpu_load1', 'gauge', '1-minute load average.', s.load1);
    w.metric('lfr_cpu_temperature_celsius', 'gauge', 'Hottest CPU sensor.', s.cpuTempC);
    w.metric('lfr_memory_available_bytes', 'gauge', 'Available memory.', Math.round(s.memAvailableMb * 1048576));
    for (const d of s.disks) w.metric('lfr_disk_free_bytes', 'gauge', 'Free space of the file system holding a state folder.', Math.round(d.freeMb * 1048576), { path: d.path });
    s.gpus.forEach((g, i) => w.metric('lfr_gpu_temperature_celsius', 'gauge', 'GPU temperature.', g.tempC, { gpu: String(i) }));
  }
  if (facts) {
    for (const c of facts.cameras) {
      w.metric('lfr_camera_live', 'gauge', '1 when frames arrive from the camera.', c.state === 'live' ? 1 : 0, { camera: c.name });
      w.metric('lfr_camera_fps', 'gauge', 'Frames analysed per second.', c.fps, { camera: c.name });
      w.metric('lfr_camera_dropped_frames_total', 'counter', 'Frames dropped because analysis was busy.', c.dropped, { camera: c.name });
    }
    w.metric('lfr_broker_connected', 'gauge', '1 when the MQTT client is connected.', facts.broker.connected === null ? null : Number(facts.broker.connected));
    w.metric('lfr_watchlist_present', 'gauge', '1 when a watchlist is stored.', Number(facts.watchlist.present));
    if (facts.watchlist.expiresAtMs !== null) w.metric('lfr_watchlist_expiry_seconds', 'gauge', 'Seconds until the watchlist is purged.', Math.max(0, Math.round((facts.watchlist.expiresAtMs - facts.now) / 1000)));
    if (facts.alerts?.oldestCapturedAt != null) w.metric('lfr_alert_oldest_age_seconds', 'gauge', 'Age of the oldest stored alert.', Math.round((facts.now - facts.alerts.oldestCapturedAt) / 1000));
  }
  if (dep) {
    w.metric('lfr_deployment_running', 'gauge', '1 while a deployment runs.', Number(dep.running));
    w.metric('lfr_deployment_faces_analysed_total', 'counter', 'Faces analysed in the current deployment (counted, never stored).', dep.facesAnalysed);
    w.metric('lfr_deployment_alerts_total', 'counter', 'Alerts raised in the current deployment.', dep.alerts);
    w.metric('lfr_deployment_adjudications', 'gauge', 'Alerts of the current deployment by officer decision.', dep.confirmed, { decision: 'confirmed' });
    w.metric('lfr_deployment_adjudications', 'gauge', 'Alerts of the current deployment by officer decision.', dep.falseAlerts, { decision: 'false' });
    w.metric('lfr_deployment_adjudications', 'gauge', 'Alerts of the current deployment by officer decision.', dep.undecided, { decision: 'undecided' });
  }
  return w.text();
}

/** GET /metrics (Prometheus) and GET /health (the last report as JSON) on 127.0.0.1 only. */
export class MetricsServer {
  private server: http.Server | null = null;

  constructor(
    private readonly port: number,
    private readonly snapshot: () => { report: HealthReport | null; facts: HealthFacts | null; deployment: DeploymentGauge | null; performance?: PerformanceFacts | null },
  ) {}

  async start(): Promise<number> {
    const server = http.createServer((req, res) => {
      const s = this.snapshot();
      if (req.method === 'GET' && req.url === '/metrics') {
        res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4; charset=utf-8' });
        res.end(renderMetrics(s.report, s.facts, s.deployment, s.performance ?? null));
      } else if (req.method === 'GET' && req.url === '/health') {
        const code = s.report?.level === 'FAIL' ? 503 : 200;
        res.writeHead(code, { 'content-type': 'application/json' });
        res.end(JSON.stringify(s.report ?? { level: 'WARN', checks: [], at: null }));
      } else {
        res.writeHead(404).end();
      }
    });
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.port, '127.0.0.1', () => resolve());
    });
    return (server.address() as AddressInfo).port;
  }

  async stop(): Promise<void> {
    const s = this.server;
    this.server = null;
    if (s) await new Promise<void>((r) => s.close(() => r()));
  }
}
