// The van broker's bridge to the force's HQ broker (`lfr broker setup --hq URL`, or fleet.hqUrl in
// the config). It forwards OUT ONLY, and only these topics of this van (src/mqtt/topics.ts):
//   status (QoS 0: the newest matters; a stale status is not worth queueing over a mobile link),
//   fleet/deployments/+, fleet/reports/+, fleet/heads/+ (QoS 1, queued while HQ is unreachable).
// Alerts, acknowledgements, decisions, availability: no bridge topic names them, so mosquitto never
// sends them to HQ (test: fleet-bridge.test.ts subscribes to '#' at HQ during a deployment with
// alerts). Nothing comes IN over the bridge: HQ cannot publish on the van's broker.
//
// The queue: cleansession false keeps the bridge's session, so messages published while the link
// is down are queued in the van broker's memory and delivered in order when it is back, bounded by
// max_queued_messages (config/mosquitto/lfr.conf.template: 200 per client, global in mosquitto 2.0;
// a deployment is 4 fleet messages, so ~50 deployments' worth). Persistence is off on the van: a
// broker restart empties the queue, and the daemon re-sends its recent records on reconnecting
// (src/fleet/publisher.ts); HQ keeps each once.
//
// TLS: the HQ CA (bridge_cafile) and the van's client certificate from the station, whose CN is
// the van id: HQ's broker takes it as the user name (use_identity_as_username) and its ACL lets a
// van write under its own id only (src/hq/broker.ts). The three files are copied into broker.dir,
// owned by broker.user, because mosquitto reads them after dropping root.
import { execFileSync } from 'node:child_process';
import { chmodSync, chownSync, copyFileSync, existsSync } from 'node:fs';
import path from 'node:path';
import type { Config } from '../config/schema.js';
import { fleetTopicsFor, topicsFor } from './topics.js';

export class BridgeSetupError extends Error {
  override name = 'BridgeSetupError';
}

/** host and port of an mqtts:// URL. */
export function parseHqUrl(url: string): { host: string; port: number } {
  const m = /^mqtts:\/\/(\[[0-9A-Fa-f:]+\]|[A-Za-z0-9.-]{1,253}):(\d{1,5})$/.exec(url);
  const port = m ? Number(m[2]) : 0;
  if (!m || port < 1 || port > 65535) throw new BridgeSetupError(`"${url}" is not an HQ broker address: expected mqtts://HOST:PORT (TLS only)`);
  return { host: m[1]!, port };
}

export interface BridgeFiles {
  caFile: string;
  certFile: string;
  keyFile: string;
}

export const bridgeFiles = (cfg: Config): BridgeFiles => {
  const dir = path.resolve(cfg.broker.dir);
  return { caFile: path.join(dir, 'hq-ca.crt'), certFile: path.join(dir, 'hq-client.crt'), keyFile: path.join(dir, 'hq-client.key') };
};

/** The bridge section appended to the van's mosquitto config (empty without fleet.hqUrl). */
export function renderBridgeConf(cfg: Config): string {
  if (!cfg.fleet.hqUrl) return '';
  const { host, port } = parseHqUrl(cfg.fleet.hqUrl);
  const t = topicsFor(cfg.mqtt.topicPrefix, cfg.van.id);
  const f = fleetTopicsFor(cfg.mqtt.topicPrefix, cfg.van.id);
  const files = bridgeFiles(cfg);
  const id = cfg.van.id.replace(/[^A-Za-z0-9._-]/g, '_');
  return [
    '',
    '# The bridge to the force HQ (src/mqtt/bridge.ts, docs/fleet.md): OUT ONLY, these topics only.',
    `connection lfr-hq-${id}`,
    `address ${host}:${port}`,
    'bridge_protocol_version mqttv311',
    `remote_clientid lfr-van-${id}`,
    `local_clientid lfr-bridge-${id}`,
    'cleansession false',
    'try_private true',
    'start_type automatic',
    // Back off while the link is down (5 s to 60 s, mosquitto's Decorrelated Jitter).
    'restart_timeout 5 60',
    'keepalive_interval 30',
    // HQ learns the link's state: "1" retained on connect, "0" as the bridge's will.
    'notifications true',
    `notification_topic ${f.bridge}`,
    `bridge_cafile ${files.caFile}`,
    `bridge_certfile ${files.certFile}`,
    `bridge_keyfile ${files.keyFile}`,
    'bridge_tls_version tlsv1.2',
    'bridge_insecure false',
    `topic ${t.status} out 0`,
    `topic ${f.deployment('+')} out 1`,
    `topic ${f.report('+')} out 1`,
    `topic ${f.head('+')} out 1`,
    '',
  ].join('\n');
}

function uidOf(user: string): number | null {
  if (process.getuid?.() !== 0) return null;
  try {
    const n = Number(execFileSync('id', ['-u', user], { stdio: ['ignore', 'pipe', 'ignore'] }).toString().trim());
    return Number.isInteger(n) ? n : null;
  } catch {
    return null;
  }
}

/** Copies the HQ CA and the van's client certificate and key into broker.dir; returns what it wrote. */
export function installBridgeFiles(cfg: Config): string[] {
  if (!cfg.fleet.hqUrl) return [];
  parseHqUrl(cfg.fleet.hqUrl);
  const to = bridgeFiles(cfg);
  const from: BridgeFiles = { caFile: path.resolve(cfg.fleet.caFile), certFile: path.resolve(cfg.fleet.certFile), keyFile: path.resolve(cfg.fleet.keyFile) };
  const missing = (Object.keys(from) as (keyof BridgeFiles)[]).filter((k) => !existsSync(from[k])).map((k) => `fleet.${k} ${from[k]}`);
  if (missing.length) throw new BridgeSetupError(`the HQ bridge needs the files the station issued for this van (lfr hq certs van ${cfg.van.id}): missing ${missing.join(', ')}`);
  const uid = uidOf(cfg.broker.user);
  for (const k of Object.keys(from) as (keyof BridgeFiles)[]) {
    copyFileSync(from[k], to[k]);
    if (uid !== null) chownSync(to[k], uid, 0);
    chmodSync(to[k], k === 'keyFile' ? 0o600 : 0o644);
  }
  return Object.values(to);
}
