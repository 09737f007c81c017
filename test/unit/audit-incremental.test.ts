// Unit test (temp SQLite file, no daemon): the health loop's incremental audit check finds what the
// full walk finds, checking only new entries plus a rolling window of old ones per call.
import test from 'ava';
import Database from 'better-sqlite3';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { AuditLog, checkFields } from '../../src/audit/log.js';
import { writeSyntheticTrail } from '../../src/tools/bench/audit.js';

/** A log of n entries (n - 1 synthetic ones written in one transaction, then a real record). */
function log(t: import('ava').ExecutionContext, n: number): AuditLog {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'lfr-audit-inc-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const file = path.join(dir, 'audit.db');
  writeSyntheticTrail(file, n - 1);
  const a = new AuditLog(file, Date.now).open();
  a.record('daemon.start', {}); // entry n, and the head file
  return a;
}

test('new entries are verified, and an edit of an old entry is found within entries / 2,000 calls', (t) => {
  const a = log(t, 5000);
  t.true(a.verifyIncremental().ok);
  a.record('daemon.stop', {});
  t.true(a.verifyIncremental().ok);
  const db = new Database(a.file);
  db.prepare("UPDATE audit SET fields = ? WHERE seq = 10").run(JSON.stringify({ alertId: 'forged', camera: 'c', score: 0.6 }));
  db.close();
  let found = false;
  for (let i = 0; i < 4 && !found; i++) found = !a.verifyIncremental().ok;
  t.true(found, 'the rolling re-check reaches entry 10');
  t.false(a.verify().ok);
  a.close();
});

test('a deleted newest entry and an edited new entry are found at the next call', (t) => {
  const a = log(t, 100);
  t.true(a.verifyIncremental().ok);
  a.record('daemon.stop', {});
  const db = new Database(a.file);
  db.prepare('UPDATE audit SET actor = ? WHERE seq = 101').run('someone-else');
  db.close();
  const r = a.verifyIncremental();
  t.false(r.ok);
  t.regex(r.problems[0]!.problem, /edited/);
  a.close();
});

test('the audit API refuses subject references and free-text notes', (t) => {
  t.throws(() => checkFields({ subjectRef: 'REF-9' }), { message: /subject references and free-text notes/ });
  t.throws(() => checkFields({ note: 'looked like him' }), { message: /never go in the audit trail/ });
  t.throws(() => checkFields({ 'officer.Notes': 'x' }));
  t.notThrows(() => checkFields({ alertId: 'a1', hasNote: true, category: 'wanted' }));
});
