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
 * and cannot be shared: a lock file refuses a second process on the same directory, and the
 * lock's in-process record a second queue in this one (two PGlites on one directory lose commits).
 */
export async function embeddedDb(dir: string): Promise<Db> {
  const { PGlite } = await import('@electric-sql/pglite');
  makeDirectory(dir);
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

function makeDirectory(dir: string): void {
  try {
    fs.mkdirSync(dir, { recursive: true });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== 'EEXIST' && code !== 'ENOTDIR') throw err;
    throw new ProxyError('HANDOFF_INVALID_OPTIONS', `The embedded queue store's dir ${dir} is not a directory (a file is in the way)`, { option: 'dir', cause: err });
  }
}

/**
 * The directories whose lock this process holds, by real path: shared through the global
 * symbol registry by every copy of this package loaded in the process.
 */
const HELD: Set<string> = ((globalThis as Record<symbol, Set<string> | undefined>)[Symbol.for('handoff.queue.embeddedLocks')] ??= new Set<string>());

function inUse(dir: string, by: string): ProxyError {
  return new ProxyError(
    'HANDOFF_INVALID_OPTIONS',
    `The embedded queue store ${dir} is in use by ${by}: it serves one queue in one process; use PostgreSQL (database) to share a queue`,
    { option: 'dir' },
  );
}

/**
 * Takes `dir/lock` for this queue. A lock naming a process that is gone (kill -9) is taken
 * over; so is one naming this process's pid that this process does not hold (left by an
 * earlier process with the same pid, as in a restarted container where every process is pid 1).
 */
function lockDirectory(dir: string): () => void {
  const real = fs.realpathSync(dir);
  if (HELD.has(real)) throw inUse(dir, 'another queue in this process');
  const file = path.join(dir, 'lock');
  for (let tries = 0; tries < 2; tries++) {
    try {
      fs.writeFileSync(file, String(process.pid), { flag: 'wx' });
      HELD.add(real);
      return () => {
        if (!HELD.delete(real)) return;
        // Only a lock that still names this process is removed: never one another has taken since.
        if (readHolder(file) === process.pid) fs.rmSync(file, { force: true });
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const holder = readHolder(file);
      if (holder !== process.pid && alive(holder)) throw inUse(dir, `process ${holder}`);
      fs.rmSync(file, { force: true });
    }
  }
  throw new Error(`cannot lock the embedded queue store ${dir}`);
}

function readHolder(file: string): number {
  try {
    return Number(fs.readFileSync(file, 'utf8'));
  } catch {
    return Number.NaN;
  }
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
