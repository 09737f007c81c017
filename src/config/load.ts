// Loads and validates the config file. Errors come back as a list of {path, value, reason} so
// `lfr config validate` can print them plainly; nothing here logs the config (it may name secret
// file paths, which are harmless, but never secret values).
import { accessSync, closeSync, constants, fstatSync, openSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { configSchema, type Config } from './schema.js';
import { INSTALL_ROOT } from '../paths.js';
import { scrubUrl } from '../log.js';

export const DEFAULT_CONFIG_PATH = '/etc/lfr/lfr.json';

export interface ConfigIssue {
  path: string;
  value: unknown;
  reason: string;
  /** True when a value is there but not shown (an object, an array: see shownValue). */
  hidden?: boolean;
}

export class ConfigError extends Error {
  constructor(
    message: string,
    readonly issues: ConfigIssue[] = [],
  ) {
    super(message);
    this.name = 'ConfigError';
  }
}

function valueAt(obj: unknown, keys: PropertyKey[]): unknown {
  let cur: unknown = obj;
  for (const k of keys) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<PropertyKey, unknown>)[k];
  }
  return cur;
}

/**
 * The value shown beside a problem. Errors reach the terminal and, for `lfr run`, the journal on
 * disk: a config pointed at the wrong file (the van key, a credentials file) must not print it
 * there. So only short scalars are shown, URLs without user:password@, and never an object or an
 * array (an unknown-field problem at the top of a key file would print the whole key).
 */
function shownValue(v: unknown): unknown {
  if (v === null || typeof v === 'number' || typeof v === 'boolean') return v;
  if (typeof v === 'string') {
    const s = scrubUrl(v);
    return s.length > 80 ? `${s.slice(0, 77)}...` : s;
  }
  return undefined;
}

/** Validate an already-parsed object; throws ConfigError listing every problem. */
export function parseConfig(raw: unknown, source = 'config'): Config {
  const result = configSchema.safeParse(raw ?? {});
  if (result.success) return result.data;
  const issues = result.error.issues.map((i: z.core.$ZodIssue) => {
    const keys = i.path as PropertyKey[];
    const at = valueAt(raw, keys);
    const value = shownValue(at);
    const issue: ConfigIssue = { path: keys.join('.') || '(root)', value, reason: i.message, ...(value === undefined && at !== undefined ? { hidden: true } : {}) };
    if (i.code === 'unrecognized_keys') issue.reason = `unknown field(s): ${i.keys.join(', ')}`;
    return issue;
  });
  throw new ConfigError(`${source} is not valid (${issues.length} problem${issues.length === 1 ? '' : 's'})`, issues);
}

/** Read, parse and validate a JSON config file. */
export function loadConfigFile(file: string): Config {
  const text = readConfigText(file);
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    // V8 quotes the text around the error ("root:*:202"...): never echo a file's content.
    throw new ConfigError(`config file ${file} is not valid JSON: ${(err as Error).message.replace(/"[^]*?"(\.\.\.)?/g, '(...)')}`);
  }
  const cfg = parseConfig(raw, file);
  return resolvePaths(cfg, path.dirname(path.resolve(file)));
}

/** A config is a small regular file: a FIFO or a device (LFR_CONFIG=/dev/zero) would block for ever. */
const MAX_CONFIG_BYTES = 1 << 20;

function readConfigText(file: string): string {
  let fd: number;
  try {
    // O_NONBLOCK: opening a FIFO must not wait for a writer; fstat then refuses it.
    fd = openSync(file, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new ConfigError(code === 'ENOENT' ? `config file not found: ${file}` : `cannot read config file ${file}: ${code ?? String(err)}`);
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) throw new ConfigError(`config file ${file} is not a regular file (a FIFO, device or folder): refused`);
    if (st.size > MAX_CONFIG_BYTES) throw new ConfigError(`config file ${file} is ${st.size} bytes, more than a config can be (${MAX_CONFIG_BYTES})`);
    return readFileSync(fd, 'utf8');
  } finally {
    closeSync(fd);
  }
}

/**
 * Resolve the config to use: an explicit file, else $LFR_CONFIG, else /etc/lfr/lfr.json when it
 * exists, else built-in defaults (handy for still-image commands on a workstation).
 */
export function loadConfig(file?: string): Config {
  const chosen = file ?? process.env.LFR_CONFIG;
  if (chosen) return loadConfigFile(chosen);
  try {
    accessSync(DEFAULT_CONFIG_PATH, constants.R_OK); // never read here: it could be a FIFO
    return loadConfigFile(DEFAULT_CONFIG_PATH);
  } catch (err) {
    if (err instanceof ConfigError) throw err;
    return resolvePaths(parseConfig({}), process.cwd());
  }
}


/** Make the relative paths in a config absolute: modelsDir against the install root, others against the config file. */
export function resolvePaths(cfg: Config, baseDir: string): Config {
  const abs = (p: string, base: string) => (path.isAbsolute(p) ? p : path.resolve(base, p));
  const stateDir = abs(cfg.paths.stateDir, baseDir);
  const runtimeDir = abs(cfg.paths.runtimeDir, baseDir);
  return {
    ...cfg,
    paths: { stateDir, runtimeDir, modelsDir: abs(cfg.paths.modelsDir, INSTALL_ROOT) },
    watchlist: {
      ...cfg.watchlist,
      storeFile: abs(cfg.watchlist.storeFile, runtimeDir),
      vanKeyFile: abs(cfg.watchlist.vanKeyFile, baseDir),
      trustedSigningKeys: cfg.watchlist.trustedSigningKeys.map((k) => abs(k, baseDir)),
    },
    alerts: { ...cfg.alerts, storeFile: abs(cfg.alerts.storeFile, stateDir) },
    audit: { ...cfg.audit, file: abs(cfg.audit.file, stateDir) },
    mqtt: {
      ...cfg.mqtt,
      ...(cfg.mqtt.passwordFile ? { passwordFile: abs(cfg.mqtt.passwordFile, baseDir) } : {}),
      ...(cfg.mqtt.caFile ? { caFile: abs(cfg.mqtt.caFile, baseDir) } : {}),
    },
    cameras: cfg.cameras.map((c) => (c.credentialsFile ? { ...c, credentialsFile: abs(c.credentialsFile, baseDir) } : c)),
  };
}
