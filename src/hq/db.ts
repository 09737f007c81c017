// HQ's PostgreSQL connection and schema migrations. The migrations are the .sql files of
// src/hq/migrations (shipped beside the compiled code: INSTALL_ROOT/src/hq/migrations), applied in
// name order, each once, each in its own transaction, recorded in schema_migrations; several HQ
// instances starting together take an advisory lock so only one migrates.
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import { INSTALL_ROOT } from '../paths.js';

export const MIGRATIONS_DIR = path.join(INSTALL_ROOT, 'src', 'hq', 'migrations');
/** Any constant: the advisory lock id HQ instances migrate under. */
const MIGRATE_LOCK = 0x1f1ee7;

export type Pool = pg.Pool;

export function openPool(url: string, max = 5): pg.Pool {
  const pool = new pg.Pool({ connectionString: url, max, connectionTimeoutMillis: 5000, idleTimeoutMillis: 30_000 });
  // An idle client's error (the server restarted) must not kill HQ: the next query reconnects.
  pool.on('error', () => undefined);
  return pool;
}

export function migrationFiles(dir = MIGRATIONS_DIR): { version: number; name: string; sql: string }[] {
  return readdirSync(dir)
    .filter((f) => /^\d{3}_[a-z0-9_]+\.sql$/.test(f))
    .sort()
    .map((f) => ({ version: Number(f.slice(0, 3)), name: f, sql: readFileSync(path.join(dir, f), 'utf8') }));
}

/** Applies the migrations not applied yet; returns their names. */
export async function migrate(pool: pg.Pool, dir = MIGRATIONS_DIR): Promise<string[]> {
  const c = await pool.connect();
  const applied: string[] = [];
  try {
    await c.query('SELECT pg_advisory_lock($1)', [MIGRATE_LOCK]);
    await c.query('CREATE TABLE IF NOT EXISTS schema_migrations (version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())');
    const have = new Set((await c.query<{ version: number }>('SELECT version FROM schema_migrations')).rows.map((r) => r.version));
    for (const m of migrationFiles(dir)) {
      if (have.has(m.version)) continue;
      await c.query('BEGIN');
      try {
        await c.query(m.sql);
        await c.query('INSERT INTO schema_migrations (version, name) VALUES ($1, $2)', [m.version, m.name]);
        await c.query('COMMIT');
      } catch (err) {
        await c.query('ROLLBACK');
        throw new Error(`migration ${m.name} failed: ${(err as Error).message}`);
      }
      applied.push(m.name);
    }
  } finally {
    await c.query('SELECT pg_advisory_unlock($1)', [MIGRATE_LOCK]).catch(() => undefined);
    c.release();
  }
  return applied;
}

export async function schemaVersion(pool: pg.Pool): Promise<number> {
  const r = await pool.query<{ v: number | null }>('SELECT max(version) AS v FROM schema_migrations').catch(() => ({ rows: [{ v: null }] }));
  return r.rows[0]?.v ?? 0;
}
