// Config -> analyser settings, in one place so `lfr run`, `lfr eval video` and `lfr bench live`
// decide exactly alike.
import type { Config } from '../config/schema.js';
import type { TrackerSettings } from './tracker.js';
import type { PolicySettings } from './policy.js';
import type { ScheduleSettings } from './schedule.js';
import type { FusionSettings } from './fusion.js';
import type { QualityGateSettings } from '../vision/types.js';

export function analyserSettings(c: Config): { gates: QualityGateSettings; tracker: TrackerSettings; schedule: ScheduleSettings; policy: PolicySettings; fusion: FusionSettings } {
  const m = c.match;
  return {
    gates: c.quality.live,
    tracker: { maxMissMs: m.trackMaxMissMs, minIou: m.trackMinIou, maxCentreJump: m.trackMaxCentreShift },
    schedule: { qualityGain: m.embedQualityGain, confirmIntervalMs: m.reembedIntervalMs, looks: m.fusionKeep, verifyIntervalMs: m.trackVerifyMs },
    policy: { threshold: m.threshold, minObservations: m.minObservations, cooldownMs: m.cooldownSeconds * 1000 },
    fusion: { keep: m.fusionKeep, minSimilarity: m.trackMinSimilarity },
  };
}
