// Greedy non-maximum suppression by IoU, highest score first: the standard post-processing of
// anchor-based detectors. O(n^2) on the candidates that passed the score threshold, which for a
// frame is at most a few hundred.
import type { Box } from './types.js';

export interface Scored {
  box: Box;
  score: number;
}

export function iou(a: Box, b: Box): number {
  const x1 = Math.max(a.x, b.x);
  const y1 = Math.max(a.y, b.y);
  const x2 = Math.min(a.x + a.width, b.x + b.width);
  const y2 = Math.min(a.y + a.height, b.y + b.height);
  const inter = Math.max(0, x2 - x1) * Math.max(0, y2 - y1);
  if (inter <= 0) return 0;
  return inter / (a.width * a.height + b.width * b.height - inter);
}

/** Keep the best of each overlapping group; result sorted by score, highest first. */
export function nms<T extends Scored>(items: readonly T[], iouThreshold: number, maxOut = Infinity): T[] {
  const sorted = [...items].sort((a, b) => b.score - a.score);
  const kept: T[] = [];
  for (const cand of sorted) {
    if (kept.length >= maxOut) break;
    if (cand.box.width <= 0 || cand.box.height <= 0) continue;
    if (kept.every((k) => iou(k.box, cand.box) <= iouThreshold)) kept.push(cand);
  }
  return kept;
}
