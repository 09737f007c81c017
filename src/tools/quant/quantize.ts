// Float ONNX model bytes -> static int8 QDQ model bytes: upgrade to opset 13 (per-channel Q/DQ),
// pick the activations, calibrate their ranges on the given inputs, insert Q/DQ, encode.
import { calibrate, DEFAULT_CALIBRATION, type CalibrationFeed, type CalibrationOptions } from './calibrate.js';
import { decodeModel, encodeModel } from '../../vision/onnx-graph.js';
import { upgradeToOpset13 } from './opset.js';
import { activationTensors, insertQdq, type QdqOptions, type QdqStats } from './qdq.js';

export interface QuantizeOptions extends QdqOptions {
  calibration: CalibrationOptions;
}

export const DEFAULT_QUANTIZE: QuantizeOptions = { perChannel: true, reduceRange: false, calibration: DEFAULT_CALIBRATION };

export interface QuantizeResult {
  bytes: Uint8Array;
  stats: QdqStats & { upgradedNodes: number; calibrationInputs: number };
}

export async function quantizeModel(floatBytes: Uint8Array, feeds: readonly CalibrationFeed[], opts: QuantizeOptions = DEFAULT_QUANTIZE): Promise<QuantizeResult> {
  const model = decodeModel(floatBytes);
  const upgradedNodes = upgradeToOpset13(model);
  const tensors = activationTensors(model.graph, opts);
  const ranges = await calibrate(model, tensors, feeds, opts.calibration);
  const stats = insertQdq(model, ranges, opts);
  model.producerName = 'lfr-edge quantiser';
  model.metadataProps = [
    ...(model.metadataProps ?? []).filter((p) => p.key !== 'lfr.quantization'),
    {
      key: 'lfr.quantization',
      value: JSON.stringify({ scheme: 'QDQ u8 activations / s8 weights', perChannel: opts.perChannel, reduceRange: opts.reduceRange, calibration: opts.calibration.method, percentile: opts.calibration.percentile, inputs: feeds.length }),
    },
  ];
  return { bytes: encodeModel(model), stats: { ...stats, upgradedNodes, calibrationInputs: feeds.length } };
}
