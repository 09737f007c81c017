// Fleet logic without sockets: the bridge section (out only, the fleet topics only), the topic
// parser HQ uses, the signed envelope (a changed byte, another van or kind fails), the order the
// van publishes in, the ingest's refusals and the page's publication marks.
import test from 'ava';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { configSchema } from '../../src/config/schema.js';
import { renderBridgeConf, parseHqUrl } from '../../src/mqtt/bridge.js';
import { parseFleetTopic } from '../../src/mqtt/topics.js';
import { FleetSigner, parseEnvelope, verifyEnvelope } from '../../src/fleet/envelope.js';
import { pendingMessages } from '../../src/fleet/publisher.js';
import { anchorPublicKey } from '../../src/audit/anchor.js';
import { generateKeyFiles } from '../../src/crypto/keys.js';
import { ingest, type IngestStore } from '../../src/hq/ingest.js';
import { publication } from '../../src/hq/page.js';
import type { DeploymentRecord, DeploymentReport } from '../../src/deployment/types.js';

test('the bridge forwards out only, and only status and the fleet records of this van', (t) => {
  const cfg = configSchema.parse({ van: { id: 'van-7' }, fleet: { hqUrl: 'mqtts://hq.example:8883' } });
  const conf = renderBridgeConf(cfg);
  const topics = conf.split('\n').filter((l) => l.startsWith('topic '));
  t.deepEqual(topics, ['topic lfr/van-7/status out 0', 'topic lfr/van-7/fleet/deployments/+ out 1', 'topic lfr/van-7/fleet/reports/+ out 1', 'topic lfr/van-7/fleet/heads/+ out 1']);
  t.notRegex(conf, /alerts|acks|adjudications|availability|\sin\s|\sboth\s/);
  t.regex(conf, /cleansession false/);
  t.is(renderBridgeConf(configSchema.parse({})), '', 'no hqUrl: no bridge');
  t.throws(() => parseHqUrl('mqtt://hq:1883'), { message: /TLS only/ });
});

test('HQ parses fleet topics and refuses anything else', (t) => {
  t.deepEqual(parseFleetTopic('lfr', 'lfr/van-1/fleet/reports/d1'), { vanId: 'van-1', kind: 'report', deploymentId: 'd1' });
  t.deepEqual(parseFleetTopic('lfr', 'lfr/van-1/status'), { vanId: 'van-1', kind: 'status', deploymentId: null });
  t.deepEqual(parseFleetTopic('lfr', 'lfr/van-1/fleet/bridge'), { vanId: 'van-1', kind: 'bridge', deploymentId: null });
  for (const bad of ['lfr/van-1/alerts/abc', 'lfr/van-1/fleet/reports', 'lfr/van-1/fleet/reports/d1/x', 'other/van-1/status', 'lfr/van 1/status']) t.is(parseFleetTopic('lfr', bad), null, bad);
});

const dir = mkdtempSync(path.join(os.tmpdir(), 'lfr-fleet-unit-'));
test.after.always(() => rmSync(dir, { recursive: true, force: true }));

test('the envelope verifies with the van anchor key and fails on any change', (t) => {
  const k = generateKeyFiles('van', path.join(dir, 'a'), 'van');
  const other = generateKeyFiles('van', path.join(dir, 'b'), 'van');
  const s = new FleetSigner(k.privateFile, 'van-1');
  const env = s.sign('report', { deploymentId: 'd1', version: 1 }, new Date());
  const pk = anchorPublicKey(k.privateFile).publicKey;
  const parsed = parseEnvelope(Buffer.from(JSON.stringify(env)));
  t.not(typeof parsed, 'string');
  t.true(verifyEnvelope(env, pk));
  t.false(verifyEnvelope({ ...env, body: env.body.replace('1}', '2}') }, pk), 'a changed body');
  t.false(verifyEnvelope({ ...env, vanId: 'van-2' }, pk), 'another van');
  t.false(verifyEnvelope({ ...env, kind: 'head' }, pk), 'another kind');
  t.false(verifyEnvelope(env, anchorPublicKey(other.privateFile).publicKey), 'another key');
  t.is(parseEnvelope(Buffer.from('not json')), 'not valid JSON');
  s.destroy();
});

const rec = (id: string, startedAt: number, endedAt: number | null): DeploymentRecord => ({ id, authorisationRef: 'A', authorisingOfficer: null, operator: 'o', location: 'L', reason: null, threshold: 0.6, watchlist: { subjects: 3, templates: 3, categories: {}, bundleSha256: 'x', signerKeyId: 'y', expiresAt: '2026-12-05T00:00:00.000Z' }, cameras: ['c'], startedAt, endsAt: startedAt + 1000, endedAt, endReason: endedAt ? 'ended_by_operator' : null, counts: { facesAnalysed: 0, peopleSeen: 0, repeatSightings: 0, alerts: 0, confirmed: 0, falseAlerts: 0, notEngaged: 0, undecided: 0, engagements: { arrested: 0, spoken_to: 0, no_further_action: 0, not_located: 0 } }, degraded: [], uptime: null });

test('the van sends oldest first: record, then each report version with its head; nothing twice', (t) => {
  const reports = new Map<string, DeploymentReport>([['d1:1', { version: 1, auditHead: { seq: 5, hash: 'h'.repeat(64), signature: 's', keyId: 'k', publicKey: 'p', value: 'v' } } as DeploymentReport], ['d1:2', { version: 2, auditHead: null } as DeploymentReport]]);
  const report = (id: string, v?: number) => reports.get(`${id}:${v ?? 2}`) ?? null;
  const m = pendingMessages([rec('d2', 2000, null), rec('d1', 1000, 1500)], report, new Set(), 0);
  t.deepEqual(m.map((x) => x.key), ['deployment:d1:1500', 'report:d1:1', 'head:d1:1', 'report:d1:2', 'deployment:d2:running']);
  t.deepEqual(pendingMessages([rec('d1', 1000, 1500)], report, new Set(m.map((x) => x.key)), 0), []);
  t.deepEqual(pendingMessages([rec('d1', 1000, 1500)], report, new Set(), 2000), [], 'older than resendDays');
});

test('HQ refuses an unknown van, malformed JSON and a forged body, and stores none of them', async (t) => {
  const k = generateKeyFiles('van', path.join(dir, 'c'), 'van');
  const a = anchorPublicKey(k.privateFile);
  const rejected: string[] = [];
  const stored: string[] = [];
  const store: IngestStore = {
    van: async (id) => (id === 'van-1' ? { vanId: id, publicKey: a.publicKey, keyId: a.keyId, clockOffsetMs: null } : null),
    saveStatus: async () => void stored.push('status'),
    saveLink: async () => void stored.push('link'),
    saveDeployment: async () => (stored.push('deployment'), true),
    saveReport: async () => (stored.push('report'), 'stored'),
    saveHead: async () => (stored.push('head'), true),
    reject: async (_v, _t, reason) => void rejected.push(reason),
    duplicate: async () => undefined,
  };
  const o = { prefix: 'lfr', maxSkewMs: 300_000 };
  const s = new FleetSigner(k.privateFile, 'van-1');
  const env = s.sign('deployment', { deploymentId: 'd1', authorisationRef: 'A', location: 'L', threshold: 0.6, watchlistSubjects: 1, watchlistExpiresAt: '2026-12-05T00:00:00.000Z', cameras: [], startedAt: '2026-12-04T10:00:00.000Z', endsAt: '2026-12-04T11:00:00.000Z', endedAt: null, endReason: null, degraded: [] }, new Date());
  const now = new Date();
  t.like(await ingest(store, o, 'lfr/van-9/fleet/deployments/d1', Buffer.from(JSON.stringify(env)), now), { ok: false });
  t.like(await ingest(store, o, 'lfr/van-1/fleet/deployments/d1', Buffer.from('{oops'), now), { ok: false, reason: 'not valid JSON' });
  t.like(await ingest(store, o, 'lfr/van-1/fleet/deployments/d1', Buffer.from(JSON.stringify({ ...env, body: env.body.replace('"L"', '"M"') })), now), { ok: false });
  t.like(await ingest(store, o, 'lfr/van-1/fleet/reports/d1', Buffer.from(JSON.stringify(env)), now), { ok: false, reason: 'envelope kind does not match the topic' });
  t.deepEqual(stored, []);
  t.is(rejected.length, 4);
  t.regex(rejected.join('|'), /unknown van[\s\S]*bad signature/);
  t.like(await ingest(store, o, 'lfr/van-1/fleet/deployments/d1', Buffer.from(JSON.stringify(env)), now), { ok: true });
  t.deepEqual(stored, ['deployment']);
  s.destroy();
});

test('a report is overdue once its publish-by date (London) has passed', (t) => {
  const r = { publishBy: '2026-12-04' } as DeploymentReport;
  t.is(publication(r, Date.parse('2026-12-04T20:00:00Z')), 'due');
  t.is(publication(r, Date.parse('2026-12-05T09:00:00Z')), 'overdue');
});

test('a van whose clock is far off: its record is kept with both times and flagged, not refused', async (t) => {
  const k = generateKeyFiles('van', path.join(dir, 'skew'), 'van');
  const a = anchorPublicKey(k.privateFile);
  const saved: Array<{ vanTime: string; received: string; flag: string | null }> = [];
  let offset: number | null = null;
  const store: IngestStore = {
    van: async (id) => ({ vanId: id, publicKey: a.publicKey, keyId: a.keyId, clockOffsetMs: offset }),
    saveStatus: async () => undefined,
    saveLink: async () => undefined,
    saveDeployment: async (_v, _d, vanTime, received, flag) => (saved.push({ vanTime: vanTime.toISOString(), received: received.toISOString(), flag }), true),
    saveReport: async () => 'stored',
    saveHead: async () => true,
    reject: async () => undefined,
    duplicate: async () => undefined,
  };
  const o = { prefix: 'lfr', maxSkewMs: 300_000 };
  const s = new FleetSigner(k.privateFile, 'van-1');
  const body = { deploymentId: 'd1', authorisationRef: 'A', location: 'L', threshold: 0.6, watchlistSubjects: 1, watchlistExpiresAt: '2026-12-05T00:00:00.000Z', cameras: [], startedAt: '2026-12-04T10:00:00.000Z', endsAt: '2026-12-04T11:00:00.000Z', endedAt: null, endReason: null, degraded: [] };
  const received = new Date('2026-12-04T12:00:00.000Z');
  // Sent "an hour from now" by the van's clock: kept, both times, flagged as ahead.
  const ahead = s.sign('deployment', body, new Date(received.getTime() + 3_600_000));
  t.like(await ingest(store, o, 'lfr/van-1/fleet/deployments/d1', Buffer.from(JSON.stringify(ahead)), received), { ok: true });
  t.is(saved[0]!.vanTime, '2026-12-04T13:00:00.000Z');
  t.is(saved[0]!.received, '2026-12-04T12:00:00.000Z');
  t.regex(saved[0]!.flag ?? '', /van clock ahead/);
  // Sent a day late (a van offline for a day) with a right clock: kept, not flagged for that alone.
  const late = s.sign('deployment', body, new Date(received.getTime() - 86_400_000));
  t.like(await ingest(store, o, 'lfr/van-1/fleet/deployments/d1', Buffer.from(JSON.stringify(late)), received), { ok: true });
  t.is(saved[1]!.flag, null);
  // Its last status said its clock was 10 minutes behind HQ's: flagged too.
  offset = -600_000;
  t.like(await ingest(store, o, 'lfr/van-1/fleet/deployments/d1', Buffer.from(JSON.stringify(late)), received), { ok: true });
  t.regex(saved[2]!.flag ?? '', /van clock off by -600 s/);
  s.destroy();
});
