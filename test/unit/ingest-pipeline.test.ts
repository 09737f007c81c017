import test from 'ava';
import { selectDecoder, DecoderUnavailableError } from '../../src/ingest/decoder.js';
import { analysisWidth, buildLaunch, fpsFraction, type PipelineSpec } from '../../src/ingest/pipeline.js';
import { captureTime } from '../../src/ingest/frame.js';

const has = (...names: string[]) => (el: string) => names.includes(el);

test('auto picks NVIDIA, then Jetson v4l2, then the CPU', (t) => {
  t.is(selectDecoder('h264', 'auto', has('nvh264dec', 'nvv4l2decoder', 'avdec_h264')).decoder, 'nvh264dec');
  t.is(selectDecoder('h265', 'auto', has('nvh264dec', 'avdec_h265')).decoder, 'avdec_h265', 'no nvh265dec: CPU');
  const jetson = selectDecoder('h265', 'auto', has('nvv4l2decoder'));
  t.is(jetson.decoder, 'nvv4l2decoder');
  t.regex(jetson.toSystemMemory, /nvvidconv/);
  t.deepEqual(selectDecoder('h264', 'auto', has()), { kind: 'cpu', decoder: 'avdec_h264', toSystemMemory: '' });
});

test('an explicit hardware decoder that is missing is an error, not a silent fallback', (t) => {
  t.throws(() => selectDecoder('h264', 'nvidia', has('avdec_h264')), { instanceOf: DecoderUnavailableError, message: /nvh264dec/ });
  t.throws(() => selectDecoder('h264', 'v4l2', has()), { instanceOf: DecoderUnavailableError });
  t.is(selectDecoder('h264', 'cpu', has('avdec_h264', 'nvh264dec')).decoder, 'avdec_h264');
});

test('fps fractions and widths GStreamer accepts', (t) => {
  t.is(fpsFraction(10), '10/1');
  t.is(fpsFraction(0.5), '1/2');
  t.is(fpsFraction(12.5), '25/2');
  t.is(analysisWidth(1280), 1280);
  t.is(analysisWidth(854), 852);
});

const spec: PipelineSpec = {
  source: 'rtsp',
  codec: 'h265',
  decoder: { kind: 'cpu', decoder: 'avdec_h265', toSystemMemory: '' },
  transport: 'udp',
  latencyMs: 150,
  analysisWidth: 640,
  analysisFps: 5,
  tcpTimeoutMs: 5000,
  delivery: 'live',
};

test('live launch: transport, latency, codec chain, rate cap, RGB at width, dropping appsink', (t) => {
  const l = buildLaunch(spec);
  t.regex(l, /^rtspsrc name=src protocols=udp latency=150 /);
  t.regex(l, /rtph265depay ! h265parse ! avdec_h265 max-threads=1 ! videorate name=rate drop-only=true ! video\/x-raw,framerate=\[1\/100,5\/1\] ! videoscale ! videoconvert/);
  t.regex(l, /video\/x-raw,format=RGB,width=640,pixel-aspect-ratio=1\/1 ! appsink name=sink drop=true max-buffers=1 sync=false/);
  t.false(l.includes('location'), 'URL is set as a property, never in the string');
  t.false(/user-(id|pw)/.test(l));
});

test('file launch: paced syncs to the clock, fast blocks instead of dropping', (t) => {
  const paced = buildLaunch({ ...spec, source: 'file', delivery: 'paced' });
  t.regex(paced, /^filesrc name=src ! qtdemux/);
  t.regex(paced, /drop=true max-buffers=1 sync=true/);
  t.regex(buildLaunch({ ...spec, source: 'file', delivery: 'fast' }), /drop=false max-buffers=1 sync=false/);
  const jetson = buildLaunch({ ...spec, decoder: { kind: 'v4l2', decoder: 'nvv4l2decoder', toSystemMemory: 'nvvidconv ! video/x-raw' } });
  t.regex(jetson, /nvv4l2decoder ! nvvidconv ! video\/x-raw ! videorate/);
});

test('capture time: the decoder hand-over less the jitter buffer, never later than arrival (issue 19)', (t) => {
  t.is(captureTime(10_000, 200, 12_500), 9_800, 'seconds of queueing in the daemon do not move the capture time');
  t.is(captureTime(10_000, 0, 10_040), 10_000, 'a file: no jitter buffer');
  t.is(captureTime(0, 200, 12_500), 12_300, 'a broken header falls back to arrival');
  t.is(captureTime(13_000, 200, 12_500), 12_300, 'a decoder clock ahead of the daemon is not trusted');
});
