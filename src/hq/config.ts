// HQ's own configuration (one schema, defaults and descriptions together): `lfr hq --hq-config FILE`
// (default /etc/lfr/hq.json, or LFR_HQ_CONFIG). Secrets by reference: file paths only.
import { readFileSync } from 'node:fs';
import { z } from 'zod';

export const hqConfigSchema = z
  .object({
    topicPrefix: z.string().regex(/^[a-z0-9/_-]+$/).default('lfr').describe('Topic prefix the vans use (their mqtt.topicPrefix).'),
    database: z
      .object({
        url: z.string().default('postgresql:///lfr_hq?host=/run/postgresql').describe('PostgreSQL connection URL (a replicated cluster: the primary\'s, or a proxy\'s; docs/fleet.md).'),
        poolSize: z.number().int().min(1).max(100).default(5).describe('Connections per HQ instance.'),
      })
      .strict()
      .prefault({}),
    mqtt: z
      .object({
        url: z.string().default('mqtts://127.0.0.1:8883').describe('HQ broker (mqtts://HOST:PORT).'),
        caFile: z.string().default('/etc/lfr/hq/ca.crt').describe('The fleet CA (signs the broker\'s and every van\'s certificate).'),
        certFile: z.string().default('/etc/lfr/hq/hq-client.crt').describe('HQ\'s client certificate (CN "hq": the broker ACL lets it read the vans\' topics).'),
        keyFile: z.string().default('/etc/lfr/hq/hq-client.key').describe('Key of mqtt.certFile.'),
        instance: z.string().regex(/^[A-Za-z0-9._-]{1,40}$/).default('hq-1').describe('This instance\'s name (its MQTT client id is lfr-<instance>): each of several HQ instances needs its own.'),
        shareGroup: z.string().regex(/^[A-Za-z0-9_-]{1,40}$/).default('hq').describe('MQTT 5 shared-subscription group ($share/GROUP/...): the instances of one group share the vans\' messages, each message going to one of them.'),
        sessionExpirySeconds: z.number().int().min(0).max(604800).default(86400).describe('The broker keeps this instance\'s session, and queues its share of messages, this long while it is down.'),
      })
      .strict()
      .prefault({}),
    web: z
      .object({
        host: z.string().default('127.0.0.1').describe('Address of the HQ page (HTTPS).'),
        port: z.number().int().min(0).max(65535).default(9443).describe('Port of the HQ page; 0 picks a free one.'),
        certFile: z.string().default('/etc/lfr/hq/web.crt').describe('TLS certificate of the page.'),
        keyFile: z.string().default('/etc/lfr/hq/web.key').describe('Key of web.certFile.'),
      })
      .strict()
      .prefault({}),
    maxClockSkewSeconds: z.number().int().min(1).max(86400).default(300).describe('A van clock further than this from HQ\'s is flagged on its records (both times are kept).'),
    offlineAfterSeconds: z.number().int().min(10).max(86400).default(120).describe('A van with no status for this long shows as offline (unless its bridge says it is down sooner).'),
  })
  .strict();

export type HqConfig = z.infer<typeof hqConfigSchema>;

export const DEFAULT_HQ_CONFIG = '/etc/lfr/hq.json';

export function loadHqConfig(file?: string): HqConfig {
  const f = file ?? process.env.LFR_HQ_CONFIG ?? DEFAULT_HQ_CONFIG;
  let raw: unknown = {};
  try {
    raw = JSON.parse(readFileSync(f, 'utf8'));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT' || file) throw new Error(`HQ config ${f}: ${(err as Error).message}`);
  }
  const r = hqConfigSchema.safeParse(raw);
  if (!r.success) throw new Error(`HQ config ${f}: ${r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  return r.data;
}
