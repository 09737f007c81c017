// The audit witness (src/audit/witness.ts) and the tablet's keeper of heads (web/tablet/audit-heads.js):
// a head signed when it moved (never twice the same), every signed head verifies with the van's
// anchor key, and the tablet keeps heads only (bounded), never anything else it is handed.
import test from 'ava';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { INSTALL_ROOT } from '../../src/paths.js';
import { AuditLog } from '../../src/audit/log.js';
import { AuditWitness, type SignedHead } from '../../src/audit/witness.js';
import { parseHeadValue, verifyAnchorSignature } from '../../src/audit/anchor.js';
import { generateKeyFiles } from '../../src/crypto/keys.js';
import { silentLogger } from '../../src/log.js';

test('signs the head when it moved, hands each new head out once, and every head verifies', async (t) => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'lfr-wit-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const keyFile = generateKeyFiles('van', dir).privateFile;
  const log = new AuditLog(path.join(dir, 'audit.db'), Date.now, false, keyFile).open();
  t.teardown(() => log.close());
  const heads: SignedHead[] = [];
  const w = new AuditWitness({ sign: () => log.anchor(), intervalMs: 3_600_000, log: silentLogger(), clock: Date.now, onHead: (h) => heads.push(h) });
  t.is(w.signNow(), null, 'an empty log has no head');
  log.record('daemon.start', {});
  await w.start();
  w.signNow();
  log.record('adjudication.recorded', { alertId: 'a1', outcome: 'confirmed' });
  w.signNow();
  w.signNow();
  await w.stop();
  t.deepEqual(heads.map((h) => h.seq), [1, 2], 'one signature per head, none for an unchanged head');
  for (const h of heads) {
    const p = parseHeadValue(h.value);
    t.true(verifyAnchorSignature(p.seq, p.hash, p.signature!, h.publicKey));
    t.is(log.entry(p.seq)?.hash, p.hash);
  }
});

test('the tablet keeps the last heads it saw in localStorage, and nothing that is not a head', async (t) => {
  const m = (await import(pathToFileURL(path.join(INSTALL_ROOT, 'web/tablet/audit-heads.js')).href)) as { keepHead: (h: unknown, now?: number, s?: unknown) => Array<{ value: string }>; seenHeads: (s?: unknown) => Array<{ value: string }>; KEEP: number };
  const mem = new Map<string, string>();
  const storage = { getItem: (k: string) => mem.get(k) ?? null, setItem: (k: string, v: string) => void mem.set(k, v) };
  const sig = 'A'.repeat(86);
  const head = (n: number) => ({ value: `${n}:${'a'.repeat(64)}:${sig}`, keyId: 'k', signedAt: 'x' });
  m.keepHead(head(1), 0, storage);
  m.keepHead(head(1), 0, storage);
  m.keepHead({ value: 'REF-123 a face', faceJpeg: '/9j/' }, 0, storage);
  t.deepEqual(m.seenHeads(storage).map((h) => h.value), [head(1).value]);
  for (let i = 2; i <= m.KEEP + 10; i++) m.keepHead(head(i), 0, storage);
  const kept = m.seenHeads(storage);
  t.is(kept.length, m.KEEP);
  t.is(kept.at(-1)?.value, head(m.KEEP + 10).value);
  t.false([...mem.values()].join().includes('faceJpeg'));
});
