import test from 'ava';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseConfig, ConfigError } from '../../src/config/load.js';
import { runCli, lastJson } from '../helpers/cli.js';

test('defaults fill an empty config', (t) => {
  const cfg = parseConfig({});
  t.is(cfg.watchlist.maxAgeHours, 24);
  t.is(cfg.alerts.retentionHours, 24);
  t.deepEqual(cfg.vision.executionProviders, ['cuda', 'cpu']);
});

test('retention above the 24 h ceiling is refused', (t) => {
  const err = t.throws(() => parseConfig({ alerts: { retentionHours: 48 } }), { instanceOf: ConfigError });
  t.is(err?.issues[0]?.path, 'alerts.retentionHours');
});

test('credentials inside a camera URL are refused', (t) => {
  const err = t.throws(() => parseConfig({ cameras: [{ name: 'c1', url: 'rtsp://admin:pw@10.0.0.2/s' }] }), { instanceOf: ConfigError });
  t.regex(err?.issues[0]?.reason ?? '', /credentialsFile/);
});

test('lfr config validate prints path, value and reason, and exits non-zero', async (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'lfr-cfg-'));
  const file = path.join(dir, 'bad.json');
  writeFileSync(file, JSON.stringify({ match: { threshold: 1.5 }, unknownThing: true }));
  const r = await runCli(['config', 'validate', file, '--json']);
  t.is(r.code, 3);
  const out = lastJson<{ valid: boolean; issues: { path: string; value: unknown; reason: string }[] }>(r.stdout);
  t.false(out.valid);
  t.true(out.issues.some((i) => i.path === 'match.threshold' && i.value === 1.5));
  t.true(out.issues.some((i) => /unknownThing/.test(i.reason)));
  const ok = path.join(dir, 'ok.json');
  writeFileSync(ok, JSON.stringify({ match: { threshold: 0.5 } }));
  const r2 = await runCli(['config', 'validate', ok]);
  t.is(r2.code, 0, r2.stderr);
});

test('a missing config file is a clear error, not a stack trace', async (t) => {
  const r = await runCli(['config', 'validate', '/nonexistent/lfr.json']);
  t.is(r.code, 3);
  t.regex(r.stderr + r.stdout, /not found/);
  t.notRegex(r.stderr, /at .*\.js:\d+/);
});

test('the shipped example config (config/lfr.example.json) is valid', async (t) => {
  const { INSTALL_ROOT } = await import('../../src/paths.js');
  const r = await runCli(['config', 'validate', path.join(INSTALL_ROOT, 'config', 'lfr.example.json'), '--json']);
  t.is(r.code, 0, r.stdout + r.stderr);
  t.true(lastJson<{ valid: boolean }>(r.stdout).valid);
});

test('docs/config.md is the current rendering of the schema (run: lfr config docs > docs/config.md)', async (t) => {
  const { readFileSync } = await import('node:fs');
  const { INSTALL_ROOT } = await import('../../src/paths.js');
  const { renderConfigDocs } = await import('../../src/config/docs.js');
  const committed = readFileSync(path.join(INSTALL_ROOT, 'docs', 'config.md'), 'utf8');
  t.is(committed, renderConfigDocs());
  t.regex(committed, /\| `match\.threshold` \| number \| `0\.55` \|/);
});
