// Shapes shared by the health probes, the gatherer, `lfr health`, the status topic and the
// metrics endpoint. Facts are what was measured; a Check is the verdict a pure probe draws from
// them. Nothing here can carry a face, a template or a subject reference: only counts, states,
// temperatures, hashes' verdicts and times.
import type { CameraProgress, InferenceWorkerFacts } from './analysis.js';

export type Level = 'OK' | 'WARN' | 'FAIL';

export interface Check {
  name: string;
  level: Level;
  message: string;
  /** The camera's URL without credentials, on a camera check that is not OK: where the technician
   * looks. Printed by the CLI only; the status topic's problems (to tablets and HQ) carry the message alone. */
  url?: string;
}

export interface SystemFacts {
  /** 1-minute load average and the number of logical cores it is shared by. */
  load1: number;
  cores: number;
  /** Highest CPU package/core temperature, null when the platform does not expose one (VMs). */
  cpuTempC: number | null;
  memTotalMb: number;
  memAvailableMb: number;
  /** Free space of the file systems holding the state and runtime folders. */
  /** volatile: a tmpfs (the runtime folder), measured with statfs (systeminformation lists no tmpfs). */
  disks: Array<{ path: string; mount: string; freeMb: number; sizeMb: number; volatile?: boolean }>;
  /** NVIDIA/other GPUs found; empty on a CPU-only box. */
  gpus: Array<{ model: string; tempC: number | null; memUsedMb: number | null; memTotalMb: number | null }>;
}

/** Clock synchronisation as the OS reports it; synced null = could not tell. */
export interface ClockFacts {
  synced: boolean | null;
  source: string;
}

export interface CameraFacts {
  name: string;
  enabled: boolean;
  /** connecting | live | stalled | failed | stopped | ended, or reachable/unreachable from an active probe. */
  state: string;
  fps: number | null;
  /** Frames dropped because analysis was busy (bounded queue), since start. */
  dropped: number | null;
  reason?: string;
  /** The configured URL without credentials (src/ingest/safe-url.ts). */
  url?: string;
}

export interface BrokerFacts {
  connected: boolean | null;
  reason?: string;
}

export interface ModelFacts {
  id: string;
  ok: boolean;
  message: string;
}

export interface WatchlistFacts {
  present: boolean;
  /** Decrypted into the matcher (daemon only); null when asked from outside the daemon. */
  loaded: boolean | null;
  expiresAtMs: number | null;
  subjects: number | null;
  error?: string;
}

export interface AlertFacts {
  /** Capture time of the oldest alert still stored, null when none. */
  oldestCapturedAt: number | null;
  retentionHours: number;
}

export interface AuditFacts {
  intact: boolean | null;
  message: string;
}

export interface HealthFacts {
  now: number;
  daemonRunning: boolean;
  system: SystemFacts | null;
  clock: ClockFacts;
  cameras: CameraFacts[];
  broker: BrokerFacts;
  models: ModelFacts[];
  watchlist: WatchlistFacts;
  alerts: AlertFacts | null;
  audit: AuditFacts | null;
  /** Core dumps and swap (memory-safety.ts): the daemon's own facts, or from the CLI only the swap. */
  memory?: { facts: import('./memory-safety.js').MemorySafetyFacts; self: boolean };
  /** The tablet page, known only inside the daemon; absent when not enabled or not known. */
  tablet?: { served: boolean; reason?: string };
  /** Analysis progress and inference workers, known only inside the daemon (src/health/analysis.ts). */
  analysis?: AnalysisFacts;
  /** File systems of the folders that must vanish at power-off (src/health/storage.ts). */
  volatile?: import('./storage.js').VolatilePlace[];
  /** What protects the van key at rest (src/crypto/sealed.ts, src/health/keys.ts). */
  keys?: import('../crypto/sealed.js').Protection;
  /** The van CA's validity (src/health/van-ca.ts); absent when mqtt.caFile is not set. */
  vanCa?: import('./van-ca.js').VanCaFacts;
}

/** How the daemon keeps up, measured inside it (src/health/loop-lag.ts, latency.ts). */
export interface PerformanceFacts {
  /** Event-loop delay over the last window (ms). */
  eventLoopLagP50Ms: number | null;
  eventLoopLagP99Ms: number | null;
  eventLoopLagMaxMs: number | null;
  /** Frame-to-decision latency of the last frames analysed (ms). */
  decisionLatencyP50Ms: number | null;
  decisionLatencyP99Ms: number | null;
}

export interface AnalysisFacts {
  cameras: CameraProgress[];
  stallLimitMs: number;
  workers: InferenceWorkerFacts[];
  droppedByCamera: Record<string, number>;
  /** Per camera analysed rate, and the tracker's miss window it is compared with (issue 19). */
  pace?: import('./analysis.js').CameraPace[];
  missWindowMs?: number;
}

export interface HealthThresholds {
  maxCpuTempC: number;
  minFreeDiskMb: number;
  maxLoadPerCore: number;
  minFreeMemMb: number;
  maxGpuTempC: number;
  minCameraFps: number;
  warnWatchlistExpiryMinutes: number;
}

export interface HealthReport {
  at: string;
  level: Level;
  checks: Check[];
}
