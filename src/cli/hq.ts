// `lfr hq ...`: the force headquarters (src/hq/, docs/fleet.md). Same codebase as the van, its own
// composition root (src/hq/daemon.ts) and config (`--hq-config`, src/hq/config.ts).
//   lfr hq run                      the HQ daemon (systemd/lfr-hq.service)
//   lfr hq migrate                  apply the schema migrations (run also does it)
//   lfr hq vans add|remove|list     the vans whose signed records HQ accepts
//   lfr hq certs ca|server|client|van   the fleet PKI (the station issues each van its client cert)
//   lfr hq broker setup             HQ's mosquitto config (client certificates, per-van ACL)
import { copyFileSync } from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { createLogger } from '../log.js';
import { keyId } from '../crypto/sign.js';
import { loadHqConfig } from '../hq/config.js';
import { migrate, openPool } from '../hq/db.js';
import { HqStore } from '../hq/store.js';
import { HqDaemon } from '../hq/daemon.js';
import { ensureFleetCa, issueCert } from '../hq/certs.js';
import { writeHqBroker } from '../hq/broker.js';
import { VAN_ID_RE } from '../mqtt/topics.js';
import { action, CliError, emit, EXIT } from './output.js';

async function withStore<T>(file: string | undefined, fn: (s: HqStore) => Promise<T>): Promise<T> {
  const cfg = loadHqConfig(file);
  const pool = openPool(cfg.database.url, 1);
  try {
    await migrate(pool);
    return await fn(new HqStore(pool));
  } finally {
    await pool.end();
  }
}

export function register(program: Command): void {
  const hq = program.command('hq').description("the force headquarters: the vans' records, reports and audit heads over MQTT, kept in PostgreSQL, on an HTTPS page (docs/fleet.md)").option('--hq-config <file>', 'HQ config (default: $LFR_HQ_CONFIG or /etc/lfr/hq.json)');
  const cfgFile = (): string | undefined => hq.opts<{ hqConfig?: string }>().hqConfig;

  hq.command('run')
    .description('run HQ in the foreground: migrate the database, subscribe (shared), serve the page; stops on SIGINT/SIGTERM')
    .action(
      action(async () => {
        const cfg = loadHqConfig(cfgFile());
        const log = createLogger({ level: 'info' });
        const daemon = new HqDaemon(cfg, log);
        const controller = new AbortController();
        const stopped = new Promise<void>((resolve) => {
          const on = (): void => {
            controller.abort();
            resolve();
          };
          process.once('SIGINT', on);
          process.once('SIGTERM', on);
        });
        try {
          await daemon.start(controller.signal);
        } catch (err) {
          log.error({ err }, 'hq start failed');
          await daemon.stop();
          throw err;
        }
        await stopped;
        await daemon.stop();
        return EXIT.ok;
      }),
    );

  hq.command('migrate')
    .description('apply the schema migrations not applied yet')
    .option('--json', 'machine-readable output')
    .action(
      action(async (o: { json?: boolean }) => {
        const cfg = loadHqConfig(cfgFile());
        const pool = openPool(cfg.database.url, 1);
        try {
          const applied = await migrate(pool);
          emit(o, () => (applied.length ? `applied ${applied.join(', ')}` : 'the schema is up to date'), () => ({ applied }));
        } finally {
          await pool.end();
        }
      }),
    );

  const vans = hq.command('vans').description('the vans HQ accepts records from');
  vans
    .command('add <vanId>')
    .description("register a van with its audit anchor public key (on the van: lfr audit anchor-key); re-adding replaces the key")
    .requiredOption('--key <base64>', "the van's anchor public key (32 bytes, base64)")
    .option('--json', 'machine-readable output')
    .action(
      action(async (vanId: string, o: { key: string; json?: boolean }) => {
        if (!VAN_ID_RE.test(vanId)) throw new CliError(`"${vanId}" is not a van id (1-64 letters, digits, dot, dash, underscore)`, EXIT.badInput);
        const pk = Buffer.from(o.key, 'base64');
        if (pk.length !== 32 || pk.toString('base64') !== o.key.trim()) throw new CliError('--key must be a 32-byte Ed25519 public key in base64 (lfr audit anchor-key prints it)', EXIT.badInput);
        const id = keyId(pk);
        await withStore(cfgFile(), (s) => s.addVan(vanId, o.key.trim(), id));
        emit(o, () => `van ${vanId} registered (key ${id})`, () => ({ vanId, keyId: id }));
      }),
    );
  vans
    .command('remove <vanId>')
    .description("stop accepting a van's messages (its history stays)")
    .option('--json', 'machine-readable output')
    .action(
      action(async (vanId: string, o: { json?: boolean }) => {
        const removed = await withStore(cfgFile(), (s) => s.removeVan(vanId));
        if (!removed) throw new CliError(`van ${vanId} is not registered`, EXIT.badInput);
        emit(o, () => `van ${vanId} removed: its new messages are refused`, () => ({ vanId, removed }));
      }),
    );
  vans
    .command('list')
    .description('the registered vans')
    .option('--json', 'machine-readable output')
    .action(
      action(async (o: { json?: boolean }) => {
        const list = await withStore(cfgFile(), (s) => s.listVans());
        emit(o, () => list.map((v) => `${v.vanId}\tkey ${v.keyId}\tadded ${v.addedAt}${v.removedAt ? `\tremoved ${v.removedAt}` : ''}`).join('\n') || 'no vans registered', () => list);
      }),
    );

  const certs = hq.command('certs').description('the fleet PKI: CA, HQ broker/page certificates, HQ and van client certificates');
  const caOpt = '--ca-dir <dir>';
  certs
    .command('ca')
    .requiredOption(caOpt, 'folder of the fleet CA (ca.crt, ca.key)')
    .description('make the fleet CA (once)')
    .action(action((o: { caDir: string }) => void process.stdout.write(`${ensureFleetCa(path.resolve(o.caDir))}\n`)));
  certs
    .command('server <name>')
    .requiredOption(caOpt, 'folder of the fleet CA')
    .requiredOption('--out <dir>', 'where NAME.crt and NAME.key go')
    .option('--host <name...>', 'DNS names and addresses the certificate holds', ['localhost', '127.0.0.1'])
    .description('a server certificate (HQ broker, HQ page)')
    .action(action((name: string, o: { caDir: string; out: string; host: string[] }) => void process.stdout.write(`${JSON.stringify(issueCert(path.resolve(o.caDir), 'server', o.host[0]!, o.host, path.resolve(o.out), name))}\n`)));
  certs
    .command('client <cn>')
    .requiredOption(caOpt, 'folder of the fleet CA')
    .requiredOption('--out <dir>', 'where CN.crt and CN.key go')
    .description('a client certificate with this CN (use "hq" for the HQ instances)')
    .action(action((cn: string, o: { caDir: string; out: string }) => void process.stdout.write(`${JSON.stringify(issueCert(path.resolve(o.caDir), 'client', cn, [], path.resolve(o.out), cn))}\n`)));
  certs
    .command('van <vanId>')
    .requiredOption(caOpt, 'folder of the fleet CA')
    .requiredOption('--out <dir>', 'where hq-client.crt, hq-client.key and hq-ca.crt go (the van\'s fleet.certFile, keyFile, caFile)')
    .description("a van's HQ client certificate (CN = the van id) and the CA, to carry to the van")
    .action(
      action((vanId: string, o: { caDir: string; out: string }) => {
        if (!VAN_ID_RE.test(vanId)) throw new CliError(`"${vanId}" is not a van id`, EXIT.badInput);
        const r = issueCert(path.resolve(o.caDir), 'client', vanId, [], path.resolve(o.out), 'hq-client');
        copyFileSync(path.join(path.resolve(o.caDir), 'ca.crt'), path.join(path.resolve(o.out), 'hq-ca.crt'));
        process.stdout.write(`${JSON.stringify({ ...r, caFile: path.join(path.resolve(o.out), 'hq-ca.crt') })}\n`);
      }),
    );

  hq.command('broker')
    .description("HQ's mosquitto")
    .command('setup')
    .requiredOption(caOpt, 'folder of the fleet CA')
    .requiredOption('--dir <dir>', 'where mosquitto.conf, hq.acl, the certificate and the persistence file go')
    .option('--port <n>', 'TLS listener port', '8883')
    .option('--bind <addr>', 'listener address', '0.0.0.0')
    .option('--host <name...>', "names the vans use for HQ (the broker certificate's)", ['localhost', '127.0.0.1'])
    .option('--user <user>', 'OS user mosquitto runs as when started as root')
    .option('--pid-file <file>', "mosquitto's pid file")
    .description('write the HQ broker config: client certificates required, each van writes under its own id only')
    .action(
      action((o: { caDir: string; dir: string; port: string; bind: string; host: string[]; user?: string; pidFile?: string }) => {
        const dir = path.resolve(o.dir);
        const ca = ensureFleetCa(path.resolve(o.caDir));
        const { certFile, keyFile } = issueCert(path.resolve(o.caDir), 'server', o.host[0]!, o.host, dir, 'broker');
        const conf = writeHqBroker({ dir, port: Number(o.port), bind: o.bind, caFile: ca, certFile, keyFile, prefix: loadHqConfig(cfgFile()).topicPrefix, ...(o.user ? { user: o.user } : {}), ...(o.pidFile ? { pidFile: o.pidFile } : {}) });
        process.stdout.write(`${conf}\n`);
      }),
    );
}
