// The audit trail anchored outside the van (issue 12, item 6), through the real process: a
// deployment ends, its results report prints the signed audit head, and a rewrite of the log
// (entries deleted, the chain rebuilt, the head file rewritten to match: `lfr audit verify` alone
// calls that intact) is caught by `lfr audit verify --head <value from the report>`.
import path from 'node:path';
import Database from 'better-sqlite3';
import { writeFileSync } from 'node:fs';
import { Van } from '../helpers/van.js';
import { needs } from '../helpers/prereq.js';
import { referenceFace } from '../helpers/faces.js';
import { lastJson } from '../helpers/cli.js';
import { entryHash, type AuditFields } from '../../src/audit/log.js';

const { serial } = needs(['models']);

serial('a rewritten audit tail is detected against the head printed in the results report', async (t) => {
  const van = await Van.create(t, { broker: false });
  const bundle = await van.buildBundle([{ ref: 'REF-1', images: [await referenceFace(1)] }]);
  await van.start();
  await van.cliJson(['deployment', 'start', '--authorisation', 'AUTH-9', '--location', 'Rig', '--officer', 'Insp B', '--ends-at', '+1h', '--threshold', '0.56', '--watchlist', bundle]);
  const endText = await van.cli('deployment', 'end');
  t.is(endText.code, 0, endText.stderr);
  const head = /Audit head:\s+(\S+)/.exec(endText.stdout)?.[1];
  t.truthy(head, endText.stdout);
  t.regex(head!, /^\d+:[0-9a-f]{64}:[A-Za-z0-9_-]{86}$/);
  const ok = await van.cli('audit', 'verify', '--head', head!, '--json');
  t.is(ok.code, 0, ok.stdout + ok.stderr);
  t.like(lastJson(ok.stdout), { ok: true, pinned: { hashMatches: true, signature: 'valid' } });
  await van.stop();

  // The attacker's rewrite: delete the deployment.start entry, renumber and re-hash everything
  // after it, rewrite the head file. The chain is consistent again.
  const file = path.join(van.stateDir, 'audit.db');
  const db = new Database(file);
  const rows = db.prepare('SELECT * FROM audit ORDER BY seq').all() as Array<{ seq: number; at: string; type: string; actor: string | null; fields: string; prev: string; hash: string }>;
  const kept = rows.filter((r) => r.type !== 'deployment.start');
  t.true(kept.length < rows.length);
  db.exec('DELETE FROM audit');
  let prev = '0'.repeat(64);
  const ins = db.prepare('INSERT INTO audit (seq, at, type, actor, fields, prev, hash) VALUES (?, ?, ?, ?, ?, ?, ?)');
  kept.forEach((r, i) => {
    const e = { seq: i + 1, at: r.at, type: r.type, actor: r.actor, fields: JSON.parse(r.fields) as AuditFields, prev };
    const hash = entryHash(e);
    ins.run(e.seq, e.at, e.type, e.actor, r.fields, prev, hash);
    prev = hash;
  });
  db.close();
  writeFileSync(`${file}.head`, `${JSON.stringify({ seq: kept.length, hash: prev })}\n`);

  const fooled = await van.cli('audit', 'verify');
  t.is(fooled.code, 0, 'without the anchor the rewrite goes unnoticed (the attack of the issue)');
  const caught = await van.cli('audit', 'verify', '--head', head!);
  t.is(caught.code, 1, caught.stdout);
  t.regex(caught.stdout, /BROKEN/);
  t.regex(caught.stdout, /report pinned|rewritten/);

  // A head value whose signature is not the van's is refused as such.
  const forgedHead = `${head!.slice(0, head!.lastIndexOf(':') + 1)}${'A'.repeat(86)}`;
  const sig = await van.cli('audit', 'verify', '--head', forgedHead, '--json');
  t.is(sig.code, 1);
  t.like(lastJson(sig.stdout), { pinned: { signature: 'invalid' } });
});
