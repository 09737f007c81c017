// Issue 24, bad input: "HQ or its database down: the vans carry on and queue; HQ back: nothing
// lost." A real HQ (`lfr hq run`, its mosquitto requiring client certificates, a PostgreSQL cluster
// of its own); the van side is a client with a van's certificate that publishes signed fleet
// records exactly as the van's bridge forwards them (QoS 1). PostgreSQL is stopped while records
// arrive: HQ must not acknowledge them (the broker keeps them for HQ's session), and once the
// database is back every record is stored, once. The van side of queueing (the bridge, an HQ broker
// outage) is proven on two running vans in fleet-bridge.test.ts.
import os from 'node:os';
import path from 'node:path';
import { mkdtempSync, readFileSync } from 'node:fs';
import mqtt from 'mqtt';
import { fleetTopicsFor } from '../../src/mqtt/topics.js';
import { FleetSigner } from '../../src/fleet/envelope.js';
import { anchorPublicKey } from '../../src/audit/anchor.js';
import { generateKeyFiles } from '../../src/crypto/keys.js';
import { needs } from '../helpers/prereq.js';
import { sleep } from '../helpers/van.js';
import { TestHq } from '../helpers/hq.js';

const { serial } = needs(['postgres', 'mosquitto', 'openssl']);

interface ApiFleet {
  deployments: Array<{ vanId: string; deploymentId: string }>;
  rejections: { total: number };
}

const api = (hq: TestHq): Promise<ApiFleet> => hq.api<ApiFleet>();

const record = (id: string) => ({ deploymentId: id, authorisationRef: 'AUTH-DB', location: 'Test St', threshold: 0.56, watchlistSubjects: 1, watchlistExpiresAt: '2026-12-07T00:00:00.000Z', cameras: ['north-1'], startedAt: new Date(Date.now() - 60_000).toISOString(), endsAt: new Date(Date.now() + 3_600_000).toISOString(), endedAt: null, endReason: null, degraded: [] });

serial('HQ database down: records are not acknowledged, the broker keeps them, and all arrive once when it is back', async (t) => {
  t.timeout(240_000);
  const hq = await TestHq.create(t);
  await hq.startHq();
  const keys = generateKeyFiles('van', mkdtempSync(path.join(os.tmpdir(), 'lfr-dbdown-')), 'van');
  const added = await hq.cli('vans', 'add', 'van-d', '--key', anchorPublicKey(keys.privateFile).publicKey);
  t.is(added.code, 0, added.stderr);
  const fleet = hq.vanFleet('van-d');
  const van = await mqtt.connectAsync(hq.url, { clientId: 'van-d-bridge', ca: readFileSync(hq.caFile), cert: readFileSync(fleet.certFile as string), key: readFileSync(fleet.keyFile as string), servername: 'localhost', reconnectPeriod: 500 });
  t.teardown(() => van.endAsync(true));
  const signer = new FleetSigner(keys.privateFile, 'van-d');
  t.teardown(() => signer.destroy());
  const topics = fleetTopicsFor('lfr', 'van-d');
  const send = (id: string) => van.publishAsync(topics.deployment(id), JSON.stringify(signer.sign('deployment', record(id), new Date())), { qos: 1 });
  const held = async () => (await api(hq)).deployments.filter((d) => d.vanId === 'van-d').map((d) => d.deploymentId).sort();
  const until = async (what: string, f: () => Promise<boolean>, ms: number) => {
    for (const t0 = Date.now(); !(await f().catch(() => false)); await sleep(300)) {
      if (Date.now() - t0 > ms) throw new Error(`timed out waiting for ${what}; HQ log: ${hq.hqLog.slice(-2000)}`);
    }
  };

  // Positive control: with the database up, a record is stored.
  await send('dep-db-1');
  await until('the first record at HQ', async () => (await held()).includes('dep-db-1'), 30_000);

  // The database goes away; two records arrive meanwhile.
  await hq.pg.stop();
  await send('dep-db-2');
  await send('dep-db-3');
  await until('HQ to say the database did not take a message', async () => /the database did not take a message/.test(hq.hqLog), 30_000);
  t.regex(hq.hqLog, /reconnecting so the broker re-sends it/);

  // Back: both arrive, nothing refused.
  await hq.pg.start();
  await until('the records sent while the database was down', async () => (await held()).length === 3, 90_000);
  // One row per deployment (HQ counts a re-delivery as a duplicate, it never stores it twice).
  t.deepEqual(await held(), ['dep-db-1', 'dep-db-2', 'dep-db-3']);
  t.is((await api(hq)).rejections.total, 0, 'nothing refused');
});
