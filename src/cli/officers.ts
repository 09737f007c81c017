// `lfr broker setup` and `lfr officers add|remove|list`: the broker's whole set-up, and one broker
// account per officer (the same account signs the officer in to the tablet page). Thin: the work
// is in src/mqtt/broker-setup.ts and src/mqtt/passwd.ts. Account changes are audited with the
// account the KERNEL gives this process (its uid: cli/offline-audit.ts), never SUDO_USER, which is
// whatever the caller exports (the same caller-chosen actor as `lfr alerts purge --operator`,
// issue 21); passwords never appear on a command line, in a log or in the audit.
import { NotARegularFile, readSmallFileSync } from '../util/files.js';
import type { Command } from 'commander';
import { loadConfig } from '../config/load.js';
import { AuditLog, auditFile } from '../audit/log.js';
import { systemClock } from '../lifecycle.js';
import { BridgeSetupError, parseHqUrl } from '../mqtt/bridge.js';
import { BrokerSetupError, brokerPaths, reloadBroker, setupBroker, writeOfficerFiles } from '../mqtt/broker-setup.js';
import { CertError } from '../mqtt/certs.js';
import { PasswdError, hashPassword, randomPassword, readPasswd } from '../mqtt/passwd.js';
import { OFFICER_ID_RE } from '../mqtt/topics.js';
import { action, CliError, emit, EXIT } from './output.js';
import { kernelActor } from './offline-audit.js';

const MIN_PASSWORD = 12;

/** Reads one line from stdin (a pipe, or the keyboard: echo is the terminal's business). */
async function readLine(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) {
    chunks.push(c as Buffer);
    if (Buffer.concat(chunks).includes(0x0a)) break;
  }
  return Buffer.concat(chunks).toString('utf8').split('\n')[0]!.replace(/\r$/, '');
}

function audit(cfgFile: string | undefined, type: string, fields: Record<string, string | boolean>): void {
  try {
    const log = new AuditLog(auditFile(loadConfig(cfgFile)), systemClock).open();
    try {
      log.record(type, fields, kernelActor());
    } finally {
      log.close();
    }
  } catch {
    /* no state folder on a broker-only box: the account change itself still stands */
  }
}

/**
 * Whether the broker was told, for the audit: the pid file is writable by the mosquitto user, so a
 * pid it names that is not mosquitto is refused (reloadBroker), and that refusal is evidence too.
 */
function reloadFields(r: { reloaded: boolean; message: string }): Record<string, string | boolean> {
  return r.reloaded ? { brokerReloaded: true } : { brokerReloaded: false, reloadRefused: r.message.slice(0, 300) };
}

function setupError(err: unknown): never {
  if (err instanceof BrokerSetupError || err instanceof BridgeSetupError || err instanceof CertError || err instanceof PasswdError) throw new CliError(err.message, EXIT.badInput);
  if ((err as NodeJS.ErrnoException).code === 'EACCES' || (err as NodeJS.ErrnoException).code === 'EPERM') throw new CliError(`permission denied (${(err as NodeJS.ErrnoException).path ?? ''}): run as root (sudo)`, EXIT.failure);
  throw err;
}

export function register(program: Command): void {
  const cfgFile = () => program.opts<{ config?: string }>().config;
  const broker = program.command('broker').description("the van's MQTT broker (mosquitto)");
  broker
    .command('setup')
    .option('--json', 'machine-readable output')
    .option('--hq <url>', "bridge this van's status, deployment records, signed reports and audit heads (nothing else) to the force HQ broker mqtts://HOST:PORT (overrides fleet.hqUrl; docs/fleet.md)")
    .description('write the broker config, accounts, ACLs and certificates where the lfr config says (idempotent; install.sh runs it)')
    .action(
      action(async (o: { json?: boolean; hq?: string }) => {
        let cfg = loadConfig(cfgFile());
        if (o.hq !== undefined) {
          try {
            parseHqUrl(o.hq);
          } catch (err) {
            setupError(err);
          }
          cfg = { ...cfg, fleet: { ...cfg.fleet, hqUrl: o.hq } };
        }
        const r = await setupBroker(cfg).catch(setupError);
        emit(
          o,
          () => [`broker config ${r.confFile}; accounts and certificates in ${r.dir}`, `  certificate names: ${r.names.join(', ')} (the van CA may vouch for these only)`, `  van CA ends ${r.caExpiresAt}; run "lfr broker setup" again before then (it renews the CA in its last quarter)`, ...(r.caRenewed ? [`  NEW van CA (${r.caRenewed}): give ${cfg.mqtt.caFile} to every tablet, then restart mosquitto and lfr`] : []), `  officers: ${r.officers.length ? r.officers.join(', ') : 'none yet (lfr officers add ID)'}`, ...r.created.map((f) => `  created ${f}`), ...r.warnings.map((w) => `  WARNING: ${w}`)].join('\n'),
          () => r,
        );
      }),
    );

  const off = program.command('officers').description("officers' accounts: one per officer, for the broker and the tablet page alike");
  off
    .command('list')
    .option('--json', 'machine-readable output')
    .description('the officer accounts of this van')
    .action(
      action((o: { json?: boolean }) => {
        const users = [...readPasswd(brokerPaths(loadConfig(cfgFile())).officersPasswd).keys()];
        emit(o, () => (users.length ? users.join('\n') : 'no officer accounts (lfr officers add ID)'), () => ({ officers: users }));
      }),
    );
  off
    .command('add')
    .argument('<id>', "the officer's ID (collar number): what they type on the tablet; never a name")
    .option('--password-file <file>', 'read the password from this file (first line)')
    .option('--generate', 'make a random password and print it once (give it to the officer)')
    .option('--reset', 'change the password of an existing account')
    .option('--json', 'machine-readable output')
    .description('create an officer account (the password is read from stdin unless --password-file or --generate)')
    .action(
      action(async (id: string, o: { passwordFile?: string; generate?: boolean; reset?: boolean; json?: boolean }) => {
        const cfg = loadConfig(cfgFile());
        if (!OFFICER_ID_RE.test(id)) throw new CliError(`officer ID "${id}" must be 1-32 letters, digits, dot, dash or underscore (a collar number, not a name)`, EXIT.usage);
        if (id === cfg.mqtt.username) throw new CliError(`"${id}" is the daemon's own account (mqtt.username)`, EXIT.usage);
        const p = brokerPaths(cfg);
        const users = readPasswd(p.officersPasswd);
        if (users.has(id) && !o.reset) throw new CliError(`officer ${id} already has an account (use --reset to change the password)`, EXIT.badInput);
        if (!users.has(id) && o.reset) throw new CliError(`officer ${id} has no account to reset`, EXIT.badInput);
        let password: string;
        if (o.generate) password = randomPassword();
        else if (o.passwordFile) {
          try {
            password = readSmallFileSync(o.passwordFile, 64 * 1024).toString('utf8').split('\n')[0]!.trim();
          } catch (err) {
            throw new CliError(err instanceof NotARegularFile ? err.message : `cannot read ${o.passwordFile}: ${(err as NodeJS.ErrnoException).code ?? err}`, EXIT.badInput);
          }
        } else {
          if (process.stdin.isTTY) process.stderr.write(`password for ${id} (at least ${MIN_PASSWORD} characters): `);
          password = (await readLine()).trim();
        }
        if (password.length < MIN_PASSWORD) throw new CliError(`the password must have at least ${MIN_PASSWORD} characters`, EXIT.badInput);
        users.set(id, hashPassword(password));
        try {
          writeOfficerFiles(cfg, users);
        } catch (err) {
          setupError(err);
        }
        const reload = reloadBroker(cfg);
        audit(cfgFile(), o.reset ? 'officer.password_reset' : 'officer.added', { officerId: id, ...reloadFields(reload) });
        emit(
          o,
          () => [`officer ${id} ${o.reset ? 'password changed' : 'added'}; ${reload.message}`, ...(o.generate ? [`  password (shown once): ${password}`] : [])].join('\n'),
          () => ({ officerId: id, added: !o.reset, reset: Boolean(o.reset), reloaded: reload.reloaded, ...(o.generate ? { password } : {}) }),
        );
      }),
    );
  off
    .command('remove')
    .argument('<id>', "the officer's ID")
    .option('--json', 'machine-readable output')
    .description("delete an officer's account (a lost tablet or a leaver); the broker reloads at once")
    .action(
      action((id: string, o: { json?: boolean }) => {
        const cfg = loadConfig(cfgFile());
        const users = readPasswd(brokerPaths(cfg).officersPasswd);
        if (!users.delete(id)) throw new CliError(`officer ${id} has no account`, EXIT.badInput);
        try {
          writeOfficerFiles(cfg, users);
        } catch (err) {
          setupError(err);
        }
        const reload = reloadBroker(cfg);
        audit(cfgFile(), 'officer.removed', { officerId: id, ...reloadFields(reload) });
        emit(o, () => `officer ${id} removed; ${reload.message}`, () => ({ officerId: id, removed: true, reloaded: reload.reloaded }));
      }),
    );
}
