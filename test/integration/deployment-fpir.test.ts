// Threshold from a target FPIR on the real daemon (`lfr run`, control socket, SQLite records,
// the real models and the shipped impostor calibration): the threshold is derived for the
// watchlist's size and recorded with the target and the expected false alerts (record, audit,
// report, CLI output); a calibration that does not match the embedder stops the daemon at start.
import test from 'ava';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { runCli, lastJson } from '../helpers/cli.js';
import { CLI_ENTRY, INSTALL_ROOT } from '../../src/paths.js';
import type { DeploymentRecord, DeploymentReport } from '../../src/deployment/types.js';
import { loadCalibration, thresholdForFpir } from '../../src/match/fpir.js';
import { findModel, loadManifest } from '../../src/vision/manifest.js';
import { loadConfig, parseConfig } from '../../src/config/load.js';
import { DeploymentStore, deploymentsFile } from '../../src/deployment/store.js';
import { auditEntries, makeEnv, startHost } from './fixtures/fieldops-env.js';

const MODELS = path.join(INSTALL_ROOT, 'models');

test.serial('--target-fpir derives the threshold for the watchlist size and records target, threshold and expected false alerts', async (t) => {
  const env = await makeEnv();
  const host = await startHost(env);
  t.teardown(async () => {
    await host.stop();
    env.cleanup();
  });
  const c = ['-c', env.cfgFile];
  const base = ['deployment', 'start', '--authorisation', 'AUTH-FPIR-1', '--location', 'High St', '--officer', 'Supt A. Example', '--watchlist', env.bundleFile, '--ends-at', '+1h'];

  const both = await runCli([...c, ...base, '--threshold', '0.6', '--target-fpir', '1e-3']);
  t.is(both.code, 2);
  t.regex(both.stderr, /either --threshold or --target-fpir, not both/);
  const bad = await runCli([...c, ...base, '--target-fpir', '0.5']);
  t.is(bad.code, 3);
  t.regex(bad.stderr, /--target-fpir "0.5" must be a rate between 1e-8 and 0.1/);

  // The same derivation as the product's module on the shipped calibration: 2 templates.
  const cfg = parseConfig({});
  const entry = findModel(await loadManifest(MODELS), cfg.vision.embedder, 'embedder');
  const cal = await loadCalibration(MODELS, entry, cfg.vision.mirrorAugment);
  const want = thresholdForFpir(cal, 1e-4, 2);
  // A bundle serves one deployment only (integrity rule), so one start per test.
  const human = await runCli([...c, ...base, '--target-fpir', '1e-4']);
  t.is(human.code, 0, human.stderr);
  t.regex(human.stdout, new RegExp(`threshold ${want.threshold} \\(from target FPIR 0\\.0001 with 2 templates\\)`));
  t.regex(human.stdout, /expected false alerts: about [\d.e-]+ per 10,000 faces of passers-by/);
  const store = new DeploymentStore(deploymentsFile(loadConfig(env.cfgFile)), true).open();
  const rec = store.running()!;
  store.close();
  t.is(rec.threshold, want.threshold);
  t.is(rec.thresholdBasis?.targetFpir, 1e-4);
  t.is(rec.thresholdBasis?.templates, 2);
  t.is(rec.thresholdBasis?.embedderSha256, entry.sha256);
  t.true(rec.thresholdBasis!.expectedFalseAlertsPer10k <= 1);
  const audit = auditEntries(env.auditFile).filter((a) => a.type === 'deployment.start').at(-1)!;
  t.is(audit.fields.threshold, want.threshold);
  t.is(audit.fields.targetFpir, 1e-4);
  const ended = await runCli([...c, 'deployment', 'end', '--json']);
  t.is(ended.code, 0, ended.stderr);
  const report = lastJson<DeploymentReport>(ended.stdout);
  t.is(report.targetFpir, 1e-4);
  t.is(report.threshold, want.threshold);
  t.true(report.expectedFalseAlertsPer10k !== null && report.expectedFalseAlertsPer10k <= 1);
});

test.serial('a fixed threshold is still possible and gets its expected false-alert rate recorded too', async (t) => {
  const env = await makeEnv();
  const host = await startHost(env);
  t.teardown(async () => {
    await host.stop();
    env.cleanup();
  });
  const c = ['-c', env.cfgFile];
  const r = await runCli([...c, 'deployment', 'start', '--authorisation', 'AUTH-FPIR-2', '--location', 'High St', '--officer', 'Supt A. Example', '--watchlist', env.bundleFile, '--ends-at', '+1h', '--threshold', '0.6', '--json']);
  t.is(r.code, 0, r.stderr);
  const fixed = lastJson<DeploymentRecord>(r.stdout);
  t.is(fixed.threshold, 0.6);
  t.is(fixed.thresholdBasis?.targetFpir, null);
  t.true(fixed.thresholdBasis!.expectedFalseAlertsPer10k > 0);
  await runCli([...c, 'deployment', 'end']);
});

test.serial('with match.targetFpir set, a calibration measured for other embedder bytes stops lfr run with a plain message', async (t) => {
  const models = mkdtempSync(path.join(os.tmpdir(), 'lfr-models-'));
  t.teardown(() => rmSync(models, { recursive: true, force: true }));
  cpSync(MODELS, models, { recursive: true });
  const calFile = path.join(models, 'faceplugin-feature-int8.calibration.json');
  const cal = JSON.parse(readFileSync(calFile, 'utf8')) as { embedderSha256: string };
  cal.embedderSha256 = '0'.repeat(64);
  writeFileSync(calFile, JSON.stringify(cal));
  const env = await makeEnv({ paths: { stateDir: path.join(models, 'state'), runtimeDir: path.join(models, 'run'), modelsDir: models }, match: { targetFpir: 1e-4 } });
  t.teardown(() => env.cleanup());
  const r = spawnSync(process.execPath, [CLI_ENTRY, '-c', env.cfgFile, 'run'], { encoding: 'utf8', timeout: 60_000, env: { ...process.env, LFR_CONFIG: '' } });
  t.not(r.status, 0);
  t.regex(r.stderr, /calibration .* was measured for embedder bytes 0000000000000000…, but the configured embedder faceplugin-feature-int8 is/);
});
