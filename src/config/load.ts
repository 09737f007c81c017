// Loads and validates the config file. Errors come back as a list of {path, value, reason} so
// `lfr config validate` can print them plainly; nothing here logs the config (it may name secret
// file paths, which are harmless, but never secret values).
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { configSchema, type Config } from './schema.js';
import { INSTALL_ROOT } from '../paths.js';

export const DEFAULT_CONFIG_PATH = '/etc/lfr/lfr.json';

export interface ConfigIssue {
  path: string;
  value: unknown;
  reason: string;
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

/** Validate an already-parsed object; throws ConfigError listing every problem. */
export function parseConfig(raw: unknown, source = 'config'): Config {
  const result = configSchema.safeParse(raw ?? {});
  if (result.success) return result.data;
  const issues = result.error.issues.map((i: z.core.$ZodIssue) => {
    const keys = i.path as PropertyKey[];
    const issue: ConfigIssue = { path: keys.join('.') || '(root)', value: valueAt(raw, keys), reason: i.message };
    if (i.code === 'unrecognized_keys') issue.reason = `unknown field(s): ${i.keys.join(', ')}`;
    return issue;
  });
  throw new ConfigError(`${source} is not valid (${issues.length} problem${issues.length === 1 ? '' : 's'})`, issues);
}

/** Read, parse and validate a JSON config file. */
export function loadConfigFile(file: string): Config {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new ConfigError(code === 'ENOENT' ? `config file not found: ${file}` : `cannot read config file ${file}: ${code ?? String(err)}`);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new ConfigError(`config file ${file} is not valid JSON: ${(err as Error).message}`);
  }
  const cfg = parseConfig(raw, file);
  return resolvePaths(cfg, path.dirname(path.resolve(file)));
}

/**
 * Resolve the config to use: an explicit file, else $LFR_CONFIG, else /etc/lfr/lfr.json when it
 * exists, else built-in defaults (handy for still-image commands on a workstation).
 */
export function loadConfig(file?: string): Config {
  const chosen = file ?? process.env.LFR_CONFIG;
  if (chosen) return loadConfigFile(chosen);
  try {
    readFileSync(DEFAULT_CONFIG_PATH);
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
