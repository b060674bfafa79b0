import fs from 'node:fs';
import path from 'node:path';
import { Pool, type PoolConfig } from 'pg';
import { ProxyError } from '@handoff/core';

/** The SQL the queue runs, on PostgreSQL or on the embedded PGlite: the same statements on both. */
export interface Db {
  readonly kind: 'postgres' | 'embedded';
  /** One statement with parameters. */
  query<R>(sql: string, params?: readonly unknown[]): Promise<{ rows: R[]; rowCount: number }>;
  /** Several statements without parameters, in one implicit transaction. */
  exec(sql: string): Promise<void>;
  /** How many statements may usefully run at once. */
  readonly parallel: number;
  close(): Promise<void>;
}

/** A pool on a URL (the queue owns and closes it), or the caller's pool (never closed here). */
export function postgresDb(database: string | Pool, poolSize: number, timeout: number): Db {
  const owned = typeof database === 'string';
  const config: PoolConfig = {
    connectionString: database as string,
    max: poolSize,
    connectionTimeoutMillis: timeout,
    // Bounds a statement on a server that accepted the connection and then stopped answering.
    query_timeout: timeout,
    statement_timeout: timeout,
  };
  const pool = owned ? new Pool(config) : database;
  // An idle client whose server went away emits 'error' on the pool; the next query reports it.
  if (owned) pool.on('error', () => {});
  return {
    kind: 'postgres',
    parallel: owned ? poolSize : (pool.options.max ?? 10),
    async query<R>(sql: string, params?: readonly unknown[]) {
      const result = await pool.query(sql, params as unknown[]);
      return { rows: result.rows as R[], rowCount: result.rowCount ?? 0 };
    },
    async exec(sql: string) {
      await pool.query(sql);
    },
    close: () => (owned ? pool.end() : Promise.resolve()),
  };
}

/**
 * PGlite (PostgreSQL compiled to WebAssembly) persisted to `dir`. It runs inside this process
 * and cannot be shared: a lock file refuses a second process on the same directory.
 */
export async function embeddedDb(dir: string): Promise<Db> {
  const { PGlite } = await import('@electric-sql/pglite');
  fs.mkdirSync(dir, { recursive: true });
  const release = lockDirectory(dir);
  let db;
  try {
    db = await PGlite.create(path.join(dir, 'pgdata'));
  } catch (err) {
    release();
    throw err;
  }
  const pglite = db;
  return {
    kind: 'embedded',
    parallel: 1,
    async query<R>(sql: string, params?: readonly unknown[]) {
      const result = await pglite.query<R>(sql, params as unknown[]);
      return { rows: result.rows, rowCount: result.affectedRows ?? result.rows.length };
    },
    async exec(sql: string) {
      await pglite.exec(sql);
    },
    async close() {
      await pglite.close();
      release();
    },
  };
}

/** Takes `dir/lock` for this process; a lock left by a process that is gone (kill -9) is taken over. */
function lockDirectory(dir: string): () => void {
  const file = path.join(dir, 'lock');
  for (let tries = 0; tries < 2; tries++) {
    try {
      fs.writeFileSync(file, String(process.pid), { flag: 'wx' });
      return () => fs.rmSync(file, { force: true });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const holder = Number(fs.readFileSync(file, 'utf8'));
      if (holder !== process.pid && alive(holder)) {
        throw new ProxyError(
          'HANDOFF_INVALID_OPTIONS',
          `The embedded queue store ${dir} is in use by process ${holder}: it serves one process; use PostgreSQL (database) to share a queue`,
          { option: 'dir' },
        );
      }
      fs.rmSync(file, { force: true });
    }
  }
  throw new Error(`cannot lock the embedded queue store ${dir}`);
}

function alive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
