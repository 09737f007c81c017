// `lfr eval video` through the real CLI process on a video made from the MIT demo photos: the
// person enrolled from a crop of photo 1 alerts once while on screen; a gallery of someone not
// in the video gives no alert; bad input is a clear error.
import test from 'ava';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseConfig } from '../../src/config/load.js';
import { createFaceEngine } from '../../src/vision/engine.js';
import { silentLogger } from '../../src/log.js';
import { cropReferenceFace, demoPhoto, makeDemoVideo } from '../../src/tools/demo/kit.js';
import { runCli, lastJson } from '../helpers/cli.js';
import { requirePrereqs } from '../helpers/prereq.js';

type Report = { alerts: Array<{ identity: string; score: number; timeMs: number; track: number }>; framesAnalysed: number; faces: number; tracks: number };

test.serial('eval video: enrolled person alerts while on screen, a stranger gallery does not', async (t) => {
  requirePrereqs(['demo-photos', 'models']);
  const dir = mkdtempSync(path.join(tmpdir(), 'lfr-evalvideo-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const base = parseConfig({});
  const engine = await createFaceEngine(base, silentLogger());
  const person = await cropReferenceFace(engine, demoPhoto(1), base.quality.enrolment);
  const stranger = await cropReferenceFace(engine, demoPhoto(3), base.quality.enrolment);
  await engine.close();
  mkdirSync(path.join(dir, 'g1', 'person'), { recursive: true });
  writeFileSync(path.join(dir, 'g1', 'person', 'ref.jpg'), person);
  mkdirSync(path.join(dir, 'g2', 'stranger'), { recursive: true });
  writeFileSync(path.join(dir, 'g2', 'stranger', 'ref.jpg'), stranger);
  const video = path.join(dir, 'v.mp4');
  await makeDemoVideo(video, ['black:1', `${demoPhoto(1)}:3`, 'black:1']);

  const r1 = await runCli(['eval', 'video', '--video', video, '--gallery', path.join(dir, 'g1'), '--json'], { timeoutMs: 120_000 });
  t.is(r1.code, 0, `signal ${r1.signal}, timed out ${r1.timedOut}: ${r1.stderr.slice(-2000)}`);
  const j1 = lastJson<Report>(r1.stdout);
  t.is(j1.alerts.length, 1, JSON.stringify(j1.alerts));
  t.is(j1.alerts[0]!.identity, 'person');
  t.true(j1.alerts[0]!.timeMs >= 1000 && j1.alerts[0]!.timeMs <= 4000, `alert at ${j1.alerts[0]!.timeMs} ms`);
  t.true(j1.framesAnalysed >= 45 && j1.faces > 0 && j1.tracks > 0);

  const r2 = await runCli(['eval', 'video', '--video', video, '--gallery', path.join(dir, 'g2'), '--json'], { timeoutMs: 120_000 });
  t.is(r2.code, 0, `signal ${r2.signal}, timed out ${r2.timedOut}: ${r2.stderr.slice(-2000)}`);
  t.deepEqual(lastJson<Report>(r2.stdout).alerts, []);

  const bad = await runCli(['eval', 'video', '--video', path.join(dir, 'missing.mp4'), '--gallery', path.join(dir, 'g1')]);
  t.is(bad.code, 3);
  t.regex(bad.stderr, /cannot read video/);
  t.notRegex(bad.stderr, /\n\s+at /, 'no stack trace');
});
