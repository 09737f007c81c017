// The per-camera analyser with a scripted engine (no models, no I/O): decisions, the embedding
// schedule in the loop, counters, and that every crop, embedding and frame is zero once the
// frame's lease is released, whether the face matched or not (read from the buffer pools
// themselves, not from a list the analyser keeps). Unit test: wired by hand, with the product's
// default tracker, schedule, fusion and appearance gate (analyserSettings of the default config),
// except the threshold. Two people in one place (issue 19): who = the embedding axis, so two
// different `who` are two people (similarity 0, below the appearance gate).
import test from 'ava';
import { CameraAnalyser, type DecisionContext } from '../../src/match/analyser.js';
import { Gallery } from '../../src/match/gallery.js';
import type { AnalysedFace, FaceDetection, FaceEngine, RgbImage } from '../../src/vision/types.js';
import { frameOf, type Frame } from '../../src/ingest/frame.js';
import { BufferPools } from '../../src/buffers/pools.js';
import { localFrameAnalysis } from '../../src/vision/frame-analysis.js';
import { parseConfig } from '../../src/config/load.js';
import { analyserSettings } from '../../src/match/settings.js';

const product = analyserSettings(parseConfig({}));

const DIM = 4;
const unit = (i: number): Float32Array => {
  const v = new Float32Array(DIM);
  v[i] = 1;
  return v;
};

/** Faces at given x positions; `who` picks the embedding axis (0 = watchlisted subject). */
function engine(script: { faces: Array<{ x: number; who: number; eyes?: number }> }): FaceEngine & { embeds: number; aligned: Uint8Array[] } {
  const e = {
    embeds: 0,
    aligned: [] as Uint8Array[],
    embeddingSize: DIM,
    models: { detector: 'd', landmarker: 'l', embedder: 'e' },
    async detect(): Promise<FaceDetection[]> {
      return script.faces.map((f) => ({ box: { x: f.x, y: 100, width: 60, height: 70 }, score: 0.9, landmarks: [[f.who, f.eyes ?? 30]] as FaceDetection['landmarks'] }));
    },
    analyse(_img: RgbImage, d: FaceDetection): AnalysedFace {
      const [who, eyes] = d.landmarks[0]!;
      const data = new Uint8Array(112 * 112 * 3).fill(100 + who);
      e.aligned.push(data);
      return {
        detection: d,
        aligned: { width: 112, height: 112, data },
        quality: { interEyePx: eyes, faceHeightPx: 70, sharpness: 100, yawDeg: 0, pitchDeg: 0, rollDeg: 0, detectorScore: 0.9, ok: eyes >= 16, reasons: [] },
      };
    },
    async embed(aligned: RgbImage): Promise<Float32Array> {
      e.embeds++;
      return unit(aligned.data[0]! - 100);
    },
    async close() {},
  };
  return e;
}

function setup(script: { faces: Array<{ x: number; who: number; eyes?: number }> }, opts: { minObservations?: number } = {}) {
  const gallery = new Gallery(DIM);
  gallery.add([{ subjectId: 'a', embedding: unit(0) }]);
  const eng = engine(script);
  const decisions: DecisionContext[] = [];
  const wiped: Array<Uint8Array | Float32Array> = [];
  const pools = new BufferPools('main');
  const an = new CameraAnalyser({
    camera: 'c1',
    engine: localFrameAnalysis(eng),
    gates: { minInterEyePx: 16, minSharpness: 0, maxYawDeg: 40, maxPitchDeg: 35, minDetectorScore: 0.5 },
    tracker: product.tracker,
    schedule: product.schedule,
    fusion: product.fusion,
    pools,
    policy: { ...product.policy, threshold: 0.5, minObservations: opts.minObservations ?? product.policy.minObservations },
    target: () => ({ gallery, topK: 3 }),
    onDecision: async (ctx) => {
      t0check(ctx);
      decisions.push(ctx);
    },
    log: undefined as never,
  });
  // Every frame goes through its lease; the scripted engine's crops are registered on it too.
  const run = async (i: number): Promise<void> => {
    const f = frame(i, pools);
    const img = f.image.data;
    try {
      await an.analyse(f);
    } finally {
      f.lease.release();
      wiped.push(img);
    }
  };
  // The frame is still intact when the decision is handed over (the alert path encodes from it).
  const t0check = (ctx: DecisionContext): void => {
    if (ctx.frame.image.data[0] !== 7) throw new Error('frame already wiped at decision time');
  };
  return { an, eng, decisions, wiped, pools, run };
}

const frame = (i: number, pools: BufferPools): Frame => frameOf('c1', i, i * 100, { width: 640, height: 360, data: new Uint8Array(640 * 360 * 3).fill(7) }, pools);

/** Released buffers that still hold something, and how many buffers the pools handed out. */
const leftovers = (pools: BufferPools) => {
  const a = pools.audit();
  return { notZero: a.reduce((s, p) => s + p.releasedNotZero, 0), inUse: a.reduce((s, p) => s + p.inUse, 0), acquired: a.reduce((s, p) => s + p.acquired, 0) };
};

test('a watchlisted face alerts once after two observations; crops and embeddings are zero afterwards', async (t) => {
  const script = { faces: [{ x: 100, who: 0 }] };
  const { eng, decisions, wiped, pools, run, an } = setup(script);
  for (let i = 0; i < 20; i++) {
    script.faces[0]!.x = 100 + i * 5;
    await run(i);
  }
  t.is(decisions.length, 1);
  t.like(decisions[0]!.decision, { subjectId: 'a', observations: 2 });
  t.is(an.counters.faces, 20);
  t.is(an.counters.tracks, 1);
  // Looks at 0, 200 and 400 ms (fusion's three looks), then the check every second (1400 ms).
  t.true(eng.embeds <= 4, `embedded ${eng.embeds} times for 20 frames of one steady face`);
  an.endAll(); // the camera stops: the track's fused looks are wiped too
  const l = leftovers(pools);
  t.is(l.acquired, eng.embeds + 4, 'one owned embedding buffer per embedding, plus the track\'s fused template and its three kept looks (fusion)');
  t.is(l.inUse, 0);
  t.is(l.notZero, 0, 'every released embedding buffer is zero');
  t.is(wiped.length, 20);
  t.true(wiped.every((b) => b.every((v) => v === 0)), 'every frame is zero after release');
});

test('strangers: counted, embedded once per track, never a decision, nothing left unwiped', async (t) => {
  const script = { faces: [{ x: 100, who: 1 }, { x: 400, who: 2 }, { x: 700, who: 3, eyes: 8 }] };
  const { an, eng, decisions, wiped, pools, run } = setup(script);
  for (let i = 0; i < 10; i++) await run(i);
  t.is(decisions.length, 0);
  t.is(an.counters.faces, 30);
  t.is(an.counters.tracks, 3);
  t.is(eng.embeds, 6, 'the face below the quality gate is never embedded; the others three times (fusion\'s looks at 0, 200, 400 ms), then not before the check at 1400 ms');
  t.true(wiped.every((b) => b.every((v) => v === 0)));
  t.is(leftovers(pools).notZero, 0);
  t.is(eng.aligned.length, 30);
  t.true(eng.aligned.every((b) => b.every((v) => v === 0)), 'every aligned crop is zero after release');
});

test('a face that gets clearly better is looked at again', async (t) => {
  const script = { faces: [{ x: 100, who: 1, eyes: 20 }] };
  const { eng, run } = setup(script);
  await run(0);
  script.faces[0]!.eyes = 21;
  await run(1);
  t.is(eng.embeds, 1);
  script.faces[0]!.eyes = 30;
  await run(2);
  t.is(eng.embeds, 2);
});

// ---- two people in one place (issue 19) ----

/** Frames 100 ms apart: `who` in the same place for `n` frames (-1: nobody). */
async function show(run: (i: number) => Promise<void>, script: { faces: Array<{ x: number; who: number; eyes?: number }> }, from: number, plan: Array<[who: number, frames: number]>): Promise<number> {
  let i = from;
  for (const [who, n] of plan) {
    script.faces = who < 0 ? [] : [{ x: 100, who }];
    for (let k = 0; k < n; k++) await run(i++);
  }
  return i;
}

for (const gapFrames of [0, 2, 5]) {
  test(`wanted person then a stranger in the same place ${gapFrames * 100} ms later: the stranger never gets the wanted person's alert`, async (t) => {
    const script = { faces: [] as Array<{ x: number; who: number }> };
    const { decisions, run, an } = setup(script);
    await show(run, script, 0, [[0, 5], [-1, gapFrames], [1, 30]]);
    t.is(decisions.length, 1, 'one alert: the wanted person');
    t.like(decisions[0]!.decision, { subjectId: 'a' });
    t.true(decisions[0]!.frame.seq < 5, 'raised while the wanted person was on screen');
    t.is(an.counters.tracks, 2, 'the stranger is a track of their own');
  });

  test(`wanted person alerting only after a stranger left the place ${gapFrames * 100} ms before: searched as themself`, async (t) => {
    const script = { faces: [] as Array<{ x: number; who: number }> };
    const { decisions, run, an } = setup(script);
    // The stranger's track has all its looks (3) and no candidate: nothing would embed the next
    // face before a quality gain, except the appearance check.
    await show(run, script, 0, [[1, 10], [-1, gapFrames], [0, 10]]);
    t.is(decisions.length, 1);
    t.like(decisions[0]!.decision, { subjectId: 'a' });
    t.true(decisions[0]!.frame.seq >= 10 + gapFrames, 'on the wanted person\'s frames');
    t.true(Math.abs(decisions[0]!.decision.score - 1) < 1e-6, 'the wanted face searched alone (fused with nobody else)');
    t.is(an.counters.tracks, 2);
    t.is(an.counters.splits, gapFrames > 0 ? 1 : 1);
  });
}

test('the alert shows the score of the face it shows: the deciding frame\'s search, not the track\'s best', async (t) => {
  const script = { faces: [{ x: 100, who: 0, eyes: 40 }] };
  const { decisions, run } = setup(script);
  await run(0);
  script.faces[0]!.eyes = 20; // a worse face decides; fusion keeps the good look in its search
  await run(1);
  await run(2);
  t.is(decisions.length, 1);
  t.true(decisions[0]!.decision.score <= 1 + 1e-6);
});

test('a returning person: a new track after the miss window, one alert (cooldown), no split', async (t) => {
  const script = { faces: [] as Array<{ x: number; who: number }> };
  const { decisions, run, an } = setup(script);
  await show(run, script, 0, [[0, 10], [-1, 20], [0, 10]]);
  t.is(an.counters.tracks, 2);
  t.is(an.counters.splits, 0);
  t.is(decisions.length, 1, 'the second appearance is within the cooldown');
});

test('two people crossing: each stays on their own track, and the wanted one alerts as themself', async (t) => {
  const script = { faces: [] as Array<{ x: number; who: number }> };
  const { decisions, run, an } = setup(script);
  for (let i = 0; i < 30; i++) {
    // 0 walks right, 1 walks left, 20 px a frame (same height); they pass each other at frame 10.
    script.faces = [{ x: 300 + i * 20, who: 0 }, { x: 700 - i * 20, who: 1 }];
    await run(i);
  }
  t.is(decisions.length, 1);
  t.like(decisions[0]!.decision, { subjectId: 'a' });
  t.true(an.counters.tracks >= 2);
});
