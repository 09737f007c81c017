// Liveness that means something (issue 13 item 5): the daemon is alive only when every live
// camera's frames are being analysed, not merely when its state says "running". Used by the
// sd_notify watchdog (a stuck analysis withholds the ping, so systemd restarts the van) and by
// the health report (`lfr health` names the camera and the inference worker). Pure functions.
import type { Check } from './types.js';

export interface CameraProgress {
  camera: string;
  state: string;
  /** Since when the analysis has been on the frame in hand (null: idle). */
  busySince: number | null;
}

export interface InferenceWorkerFacts {
  index: number;
  state: 'starting' | 'ready' | 'down' | 'stopped';
  restarts: number;
  lastError: string | null;
}

/**
 * How fast a camera is analysed (issue 19): frames analysed per second over the last seconds and
 * the gap between the last two. When analysed frames come further apart than the tracker's miss
 * window, the tracker cannot tell by time that one person left before the next arrived.
 */
export interface CameraPace {
  camera: string;
  analysedFps: number;
  lastIntervalMs: number;
  /** Frames are analysed further apart than the miss window (since `slowSince`). */
  slow: boolean;
  slowSince: number | null;
}

/** WARN for each camera analysed slower than the rate that keeps people apart. */
export function checkPace(pace: readonly CameraPace[], missWindowMs: number): Check | null {
  const slow = pace.filter((p) => p.slow);
  if (slow.length === 0) return null;
  const what = slow.map((p) => `${p.camera} at ${p.analysedFps.toFixed(1)} frames/s (last two ${Math.round(p.lastIntervalMs)} ms apart)`).join(', ');
  return { name: 'analysis.pace', level: 'WARN', message: `analysed slower than one frame per ${missWindowMs} ms (match.trackMaxMissMs): ${what}; people who follow each other are told apart by appearance only` };
}

/** Live cameras whose analysis has been on one frame longer than `limitMs`. */
export function stalledCameras(cams: readonly CameraProgress[], now: number, limitMs: number): string[] {
  return cams.filter((c) => c.state === 'live' && c.busySince !== null && now - c.busySince > limitMs).map((c) => c.camera);
}

export function checkAnalysis(cams: readonly CameraProgress[], now: number, limitMs: number): Check {
  const stuck = stalledCameras(cams, now, limitMs);
  if (stuck.length > 0) return { name: 'analysis', level: 'FAIL', message: `analysis of ${stuck.join(', ')} has made no progress for over ${Math.round(limitMs / 1000)} s: frames are not being looked at` };
  return { name: 'analysis', level: 'OK', message: 'every live camera is being analysed' };
}

/** Inference workers: any down is a WARN (the others carry the cameras), all down a FAIL. */
export function checkInference(workers: readonly InferenceWorkerFacts[], droppedByCamera: Readonly<Record<string, number>>): Check {
  if (workers.length === 0) return { name: 'inference', level: 'OK', message: 'models run on the daemon thread (no worker pool)' };
  const down = workers.filter((w) => w.state === 'down');
  const lost = Object.entries(droppedByCamera).filter(([, n]) => n > 0).map(([c, n]) => `${c} ${n}`);
  const lostText = lost.length ? `; frames lost to worker failures: ${lost.join(', ')}` : '';
  if (down.length === 0) {
    const restarted = workers.filter((w) => w.restarts > 0);
    const msg = `${workers.length} inference worker${workers.length === 1 ? '' : 's'} running`;
    if (restarted.length > 0) return { name: 'inference', level: 'WARN', message: `${msg}; restarted: ${restarted.map((w) => `worker ${w.index} (${w.restarts}x, last: ${w.lastError ?? 'unknown'})`).join(', ')}${lostText}` };
    return { name: 'inference', level: 'OK', message: `${msg}${lostText}` };
  }
  const which = down.map((w) => `worker ${w.index}: ${w.lastError ?? 'unknown'}`).join('; ');
  if (down.length === workers.length) return { name: 'inference', level: 'FAIL', message: `every inference worker is down, no face is analysed (${which})${lostText}` };
  return { name: 'inference', level: 'WARN', message: `${down.length} of ${workers.length} inference workers down, restarting with back-off (${which})${lostText}` };
}
