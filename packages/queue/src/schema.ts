/**
 * The queue's tables and statements, for one schema. A job row is leased by setting its
 * `run_at` into the future: one index serves new jobs, retries and expired leases alike, and
 * `(lease_owner, attempts)` fences every write of an outcome (a worker whose lease expired
 * and was taken over changes nothing).
 */

/** Columns every statement reading a job returns. */
const JOB = 'id, idempotency_key, method, origin, path, headers, body, attempts, max_attempts, created_at';

/** Every table and index `ddl` creates: when all exist, a process starts without taking DDL locks. */
export const RELATIONS = ['jobs', 'jobs_run_at', 'jobs_created_at', 'keys', 'keys_created_at', 'dead_letters', 'dead_letters_failed_at'];

/** $1 schema, $2 relation names: how many of them exist (a catalog read, no lock on the tables). */
export const presentSql = `
  SELECT count(*)::int AS n FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace ns ON ns.oid = c.relnamespace
  WHERE ns.nspname = $1 AND c.relname = ANY($2::text[])`;

export function ddl(s: string): string {
  // The advisory lock serialises processes creating the schema at the same time.
  return `
    SELECT pg_advisory_xact_lock(hashtext('handoff-queue-schema'));
    CREATE SCHEMA IF NOT EXISTS ${s};
    CREATE TABLE IF NOT EXISTS ${s}.jobs (
      id uuid PRIMARY KEY,
      idempotency_key text NOT NULL,
      method text NOT NULL,
      origin text NOT NULL,
      path text NOT NULL,
      headers jsonb NOT NULL,
      body bytea,
      created_at timestamptz NOT NULL DEFAULT now(),
      run_at timestamptz NOT NULL DEFAULT now(),
      attempts integer NOT NULL DEFAULT 0,
      max_attempts integer NOT NULL,
      lease_owner uuid,
      last_status integer,
      last_error text
    );
    CREATE INDEX IF NOT EXISTS jobs_run_at ON ${s}.jobs (run_at);
    CREATE INDEX IF NOT EXISTS jobs_created_at ON ${s}.jobs (created_at);
    CREATE TABLE IF NOT EXISTS ${s}.keys (
      key text PRIMARY KEY,
      job_id uuid NOT NULL,
      fingerprint text NOT NULL,
      created_at timestamptz NOT NULL DEFAULT now()
    );
    CREATE INDEX IF NOT EXISTS keys_created_at ON ${s}.keys (created_at);
    CREATE TABLE IF NOT EXISTS ${s}.dead_letters (
      id uuid PRIMARY KEY,
      idempotency_key text NOT NULL,
      method text NOT NULL,
      origin text NOT NULL,
      path text NOT NULL,
      headers jsonb NOT NULL,
      body bytea,
      created_at timestamptz NOT NULL,
      failed_at timestamptz NOT NULL DEFAULT now(),
      attempts integer NOT NULL,
      last_status integer,
      last_error text
    );
    CREATE INDEX IF NOT EXISTS dead_letters_failed_at ON ${s}.dead_letters (failed_at);
  `;
}

/** Parameters per enqueued row (PostgreSQL allows 65535 per statement). */
export const ENQUEUE_PARAMS = 9;

/**
 * Inserts `rows` jobs and their keys in one statement, one commit: a key already taken
 * keeps its job (the caller looks it up), the others are inserted with their job.
 */
export function enqueueSql(s: string, rows: number): string {
  const values: string[] = [];
  for (let r = 0; r < rows; r++) {
    const p = (i: number) => `$${r * ENQUEUE_PARAMS + i}`;
    values.push(`(${p(1)}::uuid, ${p(2)}::text, ${p(3)}::text, ${p(4)}::text, ${p(5)}::text, ${p(6)}::text, ${p(7)}::jsonb, ${p(8)}::bytea, ${p(9)}::int)`);
  }
  return `
    WITH input (id, key, fingerprint, method, origin, path, headers, body, max_attempts) AS (VALUES ${values.join(', ')}),
    k AS (
      INSERT INTO ${s}.keys (key, job_id, fingerprint) SELECT key, id, fingerprint FROM input
      ON CONFLICT (key) DO NOTHING RETURNING key
    ),
    j AS (
      INSERT INTO ${s}.jobs (id, idempotency_key, method, origin, path, headers, body, max_attempts)
      SELECT i.id, i.key, i.method, i.origin, i.path, i.headers, i.body, i.max_attempts FROM input i JOIN k ON k.key = i.key
      RETURNING id
    )
    SELECT id::text AS id FROM j`;
}

export const sql = (s: string) => ({
  keys: `SELECT key, job_id::text AS job_id, fingerprint FROM ${s}.keys WHERE key = ANY($1::text[])`,
  /** $1 owner, $2 lease ms, $3 how many, $4 origins not to claim now (at their limit here). */
  claim: `
    UPDATE ${s}.jobs j SET run_at = now() + $2 * interval '1 millisecond', lease_owner = $1, attempts = j.attempts + 1
    FROM (
      SELECT id FROM ${s}.jobs WHERE run_at <= now() AND origin <> ALL($4::text[])
      ORDER BY run_at LIMIT $3 FOR UPDATE SKIP LOCKED
    ) c
    WHERE j.id = c.id
    RETURNING ${JOB.split(', ').map((c) => `j.${c}`).join(', ')}`,
  /** $1 owner, $2 lease ms, $3 ids, $4 their attempts: renews the leases still held. */
  extend: `
    UPDATE ${s}.jobs j SET run_at = now() + $2 * interval '1 millisecond'
    FROM unnest($3::uuid[], $4::int[]) AS f(id, attempts)
    WHERE j.id = f.id AND j.attempts = f.attempts AND j.lease_owner = $1
    RETURNING j.id::text AS id`,
  /** $1 owner, $2 ids, $3 attempts: delivered, gone. */
  complete: `
    DELETE FROM ${s}.jobs j USING unnest($2::uuid[], $3::int[]) AS f(id, attempts)
    WHERE j.id = f.id AND j.attempts = f.attempts AND j.lease_owner = $1
    RETURNING j.id::text AS id`,
  /** $1 owner, $2 id, $3 attempts, $4 delay ms, $5 status, $6 error. */
  retry: `
    UPDATE ${s}.jobs SET run_at = now() + $4 * interval '1 millisecond', lease_owner = NULL, last_status = $5, last_error = $6
    WHERE id = $2 AND attempts = $3 AND lease_owner = $1`,
  /** $1 owner, $2 id, $3 attempts: given back unfinished at shutdown, the attempt not counted. */
  release: `
    UPDATE ${s}.jobs SET run_at = now(), lease_owner = NULL, attempts = attempts - 1
    WHERE id = $2 AND attempts = $3 AND lease_owner = $1`,
  /** $1 owner, $2 id, $3 attempts, $4 status, $5 error: the row moves to the dead letters. */
  bury: `
    WITH m AS (DELETE FROM ${s}.jobs WHERE id = $2 AND attempts = $3 AND lease_owner = $1 RETURNING *)
    INSERT INTO ${s}.dead_letters (id, idempotency_key, method, origin, path, headers, body, created_at, attempts, last_status, last_error)
    SELECT id, idempotency_key, method, origin, path, headers, body, created_at, attempts, $4, $5 FROM m
    RETURNING id`,
  deadLetters: `
    SELECT id::text AS id, idempotency_key, method, origin, path, attempts, last_status, last_error, created_at, failed_at
    FROM ${s}.dead_letters ORDER BY failed_at, id LIMIT $1`,
  /** $1 ids (null: all), $2 max attempts: back to the queue, due now, attempts from 0. */
  revive: `
    WITH m AS (DELETE FROM ${s}.dead_letters WHERE $1::uuid[] IS NULL OR id = ANY($1::uuid[]) RETURNING *)
    INSERT INTO ${s}.jobs (id, idempotency_key, method, origin, path, headers, body, created_at, max_attempts, last_status, last_error)
    SELECT id, idempotency_key, method, origin, path, headers, body, created_at, $2, last_status, last_error FROM m
    RETURNING id::text AS id`,
  purge: `DELETE FROM ${s}.dead_letters WHERE $1::uuid[] IS NULL OR id = ANY($1::uuid[]) RETURNING id::text AS id`,
  /** $1 window ms, $2 batch: forgets old keys, a bounded batch at a time. */
  forget: `
    DELETE FROM ${s}.keys WHERE key IN (
      SELECT key FROM ${s}.keys WHERE created_at < now() - $1 * interval '1 millisecond' ORDER BY created_at LIMIT $2
    )`,
  /**
   * Depth and dead letters counted up to $1 rows (a bounded index scan, never a full
   * COUNT(*)), the oldest job from the created_at index.
   */
  stats: `
    SELECT (SELECT count(*) FROM (SELECT 1 FROM ${s}.jobs LIMIT $1) t)::int AS depth,
           (SELECT count(*) FROM (SELECT 1 FROM ${s}.dead_letters LIMIT $1) d)::int AS dead,
           (SELECT extract(epoch FROM now() - min(created_at)) * 1000 FROM ${s}.jobs)::float8 AS oldest_ms`,
});
