// The audit trail on a real SQLite file, tampered with by a second connection (as an attacker
// with file access would), checked by the API and by the real `lfr audit verify` process.
import test from 'ava';
import { copyFileSync, mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { AuditLog, entryHash } from '../../src/audit/log.js';
import { lastJson, runCli } from '../helpers/cli.js';

function fresh(): { dir: string; file: string; cfgFile: string } {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'lfr-audit-'));
  const file = path.join(dir, 'audit.db');
  let now = Date.UTC(2026, 10, 23, 9);
  const log = new AuditLog(file, () => (now += 1000)).open();
  log.record('daemon.start', { version: '0.1.0' });
  log.record('deployment.start', { deploymentId: 'd1', officer: 'INSP-1' }, 'INSP-1');
  log.record('alert.raised', { alertId: 'a1b2c3d4e5', camera: 'north-1', score: 0.71, category: 'wanted' });
  log.record('adjudication.recorded', { alertId: 'a1b2c3d4e5', outcome: 'false_alert' }, 'PC1234');
  log.record('retention.purge', { 'alerts.alerts': 1 });
  log.close();
  const cfgFile = path.join(dir, 'lfr.json');
  writeFileSync(cfgFile, JSON.stringify({ paths: { stateDir: dir, runtimeDir: path.join(dir, 'run') } }));
  return { dir, file, cfgFile };
}

function tamper(file: string, sql: string): void {
  const db = new Database(file);
  db.exec(sql);
  db.close();
}

const verify = (file: string) => {
  const log = new AuditLog(file, Date.now, true).open();
  try {
    return log.verify();
  } finally {
    log.close();
  }
};

test('an untouched trail verifies, by API and CLI', async (t) => {
  const { file, cfgFile } = fresh();
  t.like(verify(file), { ok: true, entries: 5 });
  const r = await runCli(['-c', cfgFile, 'audit', 'verify', '--json']);
  t.is(r.code, 0, r.stderr);
  t.like(lastJson(r.stdout), { ok: true, entries: 5 });
  const show = await runCli(['-c', cfgFile, 'audit', 'show', '--json', '--type', 'alert.raised']);
  t.is(show.code, 0, show.stderr);
  t.is(lastJson<{ entries: { fields: { alertId: string } }[] }>(show.stdout).entries[0]?.fields.alertId, 'a1b2c3d4e5');
});

test('an edited entry is detected', async (t) => {
  const { file, cfgFile } = fresh();
  tamper(file, `UPDATE audit SET fields = replace(fields, 'false_alert', 'confirmed_match') WHERE seq = 4`);
  const r = verify(file);
  t.false(r.ok);
  t.true(r.problems.some((p) => p.seq === 4 && /edited/.test(p.problem)), JSON.stringify(r.problems));
  const cli = await runCli(['-c', cfgFile, 'audit', 'verify']);
  t.is(cli.code, 1);
  t.regex(cli.stdout, /BROKEN[\s\S]*entry 4/);
});

test('an edited entry whose hash was recomputed is still detected (the next link breaks)', (t) => {
  const { file } = fresh();
  const db = new Database(file);
  db.prepare(`UPDATE audit SET actor = 'PC9999' WHERE seq = 4`).run();
  db.close();
  // a forger who recomputes entry 4's own hash still breaks entry 5's link to it
  const log = new AuditLog(file, Date.now, true).open();
  const e4 = log.list(10).find((e) => e.seq === 4)!;
  log.close();
  tamper(file, `UPDATE audit SET hash = '${entryHash({ ...e4 })}' WHERE seq = 4`);
  t.true(verify(file).problems.every((p) => p.seq !== 4), 'entry 4 itself now looks consistent');
  const r = verify(file);
  t.false(r.ok);
  t.true(r.problems.some((p) => p.seq === 5 && /previous entry/.test(p.problem)));
});

test('a deleted entry is detected', (t) => {
  const { file } = fresh();
  tamper(file, 'DELETE FROM audit WHERE seq = 2');
  const r = verify(file);
  t.false(r.ok);
  t.true(r.problems.some((p) => p.seq === 3 && /missing|previous entry/.test(p.problem)), JSON.stringify(r.problems));
});

test('reordered entries are detected', (t) => {
  const { file } = fresh();
  // swap entries 2 and 3 (content and hashes move, seq stays in place)
  tamper(file, `UPDATE audit SET seq = -2 WHERE seq = 2; UPDATE audit SET seq = 2 WHERE seq = 3; UPDATE audit SET seq = 3 WHERE seq = -2;`);
  const r = verify(file);
  t.false(r.ok);
  t.true(r.problems.some((p) => p.seq === 2), JSON.stringify(r.problems));
});

test('deleting the newest entries (truncating the tail) is detected through the head file', (t) => {
  const { file } = fresh();
  tamper(file, 'DELETE FROM audit WHERE seq >= 4');
  const r = verify(file);
  t.false(r.ok);
  t.true(r.problems.some((p) => /newest entries deleted/.test(p.problem)), JSON.stringify(r.problems));
});

test('replacing the whole trail with an older copy is detected', (t) => {
  const { dir, file } = fresh();
  const old = path.join(dir, 'old.db');
  copyFileSync(file, old);
  const log = new AuditLog(file, Date.now).open();
  log.record('daemon.stop', {});
  log.close();
  copyFileSync(old, file);
  t.false(verify(file).ok);
});

test('the trail refuses image-sized fields', (t) => {
  const { file } = fresh();
  const log = new AuditLog(file, Date.now).open();
  t.throws(() => log.record('alert.raised', { faceJpeg: Buffer.alloc(4000).toString('base64') }));
  t.is(log.count(), 5);
  log.close();
});
