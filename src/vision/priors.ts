// SSD prior (anchor) boxes of the Ultra-Light-Fast-Generic-Face-Detector (RFB/slim), for any input
// size. Follows the training code (vision/ssd/config/fd_config.py and generate_priors in
// Linzaer's repository): feature map n = ceil(size / stride); prior centre = (i + 0.5) / n (NOT
// (i + 0.5) * stride / size: the two differ when size is not a multiple of the stride, and the
// network learnt the former); prior size = minBox / size; everything clamped to [0, 1].
// Layout matches the heads' output: per stride, rows, then columns, then min boxes; each prior is
// [cx, cy, w, h] normalised to the input.

export interface PriorSpec {
  strides: readonly number[];
  minBoxes: readonly (readonly number[])[];
}

export function featureMapSize(size: number, stride: number): number {
  return Math.ceil(size / stride);
}

export function priorCount(width: number, height: number, spec: PriorSpec): number {
  let n = 0;
  spec.strides.forEach((s, k) => {
    n += featureMapSize(width, s) * featureMapSize(height, s) * (spec.minBoxes[k]?.length ?? 0);
  });
  return n;
}

const clamp01 = (v: number): number => (v < 0 ? 0 : v > 1 ? 1 : v);

export function ssdPriors(width: number, height: number, spec: PriorSpec): Float32Array {
  if (spec.strides.length !== spec.minBoxes.length) throw new RangeError('strides and minBoxes must have the same length');
  const out = new Float32Array(priorCount(width, height, spec) * 4);
  let o = 0;
  spec.strides.forEach((stride, k) => {
    const fw = featureMapSize(width, stride);
    const fh = featureMapSize(height, stride);
    for (let j = 0; j < fh; j++) {
      for (let i = 0; i < fw; i++) {
        for (const m of spec.minBoxes[k]!) {
          out[o++] = clamp01((i + 0.5) / fw);
          out[o++] = clamp01((j + 0.5) / fh);
          out[o++] = clamp01(m / width);
          out[o++] = clamp01(m / height);
        }
      }
    }
  });
  return out;
}
