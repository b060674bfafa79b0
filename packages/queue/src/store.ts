import { ProxyError } from '@handoff/core';
import { Batcher } from './batcher';
import type { Db } from './db';
import { ENQUEUE_PARAMS, RELATIONS, ddl, enqueueSql, presentSql, sql } from './schema';

/** A request to store. */
export interface NewJob {
  id: string;
  key: string;
  /** Tells a repeated key with another request apart (sha-256 of method, target and body). */
  fingerprint: string;
  method: string;
  origin: string;
  path: string;
  headers: Record<string, string | string[]>;
  body: Buffer | undefined;
  maxAttempts: number;
}

/** The job a key names: this one, newly stored, or the one stored first under the key. */
export interface Stored {
  id: string;
  created: boolean;
  fingerprint: string;
}

/** A claimed job, as a worker delivers it; `attempts` (with the owner) fences its outcome. */
export interface Job {
  id: string;
  key: string;
  method: string;
  origin: string;
  path: string;
  headers: Record<string, string | string[]>;
  body: Buffer | undefined;
  attempts: number;
  maxAttempts: number;
  createdAt: Date;
}

export interface DeadLetter {
  id: string;
  key: string;
  method: string;
  url: string;
  attempts: number;
  lastStatus: number | null;
  lastError: string | null;
  createdAt: Date;
  failedAt: Date;
}

export interface QueueDepth {
  /** Jobs waiting or being delivered, counted up to `cap`. */
  depth: number;
  deadLetters: number;
  /** ms since the oldest job still in the queue was stored; 0 when it is empty. */
  oldestAgeMs: number;
  cap: number;
}

interface JobRow {
  id: string;
  idempotency_key: string;
  method: string;
  origin: string;
  path: string;
  headers: Record<string, string | string[]>;
  body: Uint8Array | null;
  attempts: number;
  max_attempts: number;
  created_at: Date;
}

const MAX_BATCH = Math.floor(65_535 / ENQUEUE_PARAMS);
const BATCH_BYTES = 8 * 1024 * 1024;
const STATS_CAP = 100_000;
/** One sweep of expired keys: batches of this many rows, */
const FORGET_BATCH = 1_000;
/** at most this many batches or this many ms, so that it never holds the store for long. */
const FORGET_BATCHES = 20;
const FORGET_BUDGET = 1_000;

/** The queue's tables: every statement the queue runs goes through here. */
export class JobStore {
  readonly #q: ReturnType<typeof sql>;
  readonly #enqueue: Batcher<NewJob, Stored>;
  readonly #complete: Batcher<{ owner: string; id: string; attempts: number }, boolean>;

  constructor(
    readonly db: Db,
    private readonly schema: string,
  ) {
    this.#q = sql(schema);
    this.#enqueue = new Batcher((jobs) => this.#insert(jobs), db.parallel, MAX_BATCH, BATCH_BYTES, (job) => 256 + (job.body?.length ?? 0));
    this.#complete = new Batcher((done) => this.#delete(done), Math.max(1, Math.min(2, db.parallel)), 1000, Infinity, () => 1);
  }

  /** Creates the schema and tables if they are missing. */
  async init(): Promise<void> {
    // CREATE INDEX IF NOT EXISTS takes a SHARE lock on its table even when the index exists,
    // and a worker restarting under load would deadlock with the inserts of running enqueuers.
    const { rows } = await this.db.query<{ n: number }>(presentSql, [this.schema, RELATIONS]);
    if (rows[0]?.n === RELATIONS.length) return;
    await this.db.exec(ddl(this.schema));
  }

  /** Stores a job, committed when this resolves; with a key already taken, the job stored first under it. */
  enqueue(job: NewJob): Promise<Stored> {
    return this.#enqueue.add(job);
  }

  async #insert(jobs: NewJob[]): Promise<Stored[]> {
    const params: unknown[] = [];
    for (const j of jobs) {
      params.push(j.id, j.key, j.fingerprint, j.method, j.origin, j.path, JSON.stringify(j.headers), j.body ?? null, j.maxAttempts);
    }
    const inserted = await retryAborted(() => this.db.query<{ id: string }>(enqueueSql(this.schema, jobs.length), params));
    const created = new Set(inserted.rows.map((r) => r.id));
    const taken = jobs.filter((j) => !created.has(j.id)).map((j) => j.key);
    const existing = new Map<string, { job_id: string; fingerprint: string }>();
    if (taken.length > 0) {
      const rows = await this.db.query<{ key: string; job_id: string; fingerprint: string }>(this.#q.keys, [taken]);
      for (const row of rows.rows) existing.set(row.key, row);
    }
    return jobs.map((j) => {
      if (created.has(j.id)) return { id: j.id, created: true, fingerprint: j.fingerprint };
      const first = existing.get(j.key);
      // Taken by a request whose key has been forgotten since: its job is not this one, and it is not stored.
      if (!first) throw new ProxyError('HANDOFF_STORE_UNAVAILABLE', `Idempotency-Key ${j.key} changed hands while storing; retry`);
      return { id: first.job_id, created: false, fingerprint: first.fingerprint };
    });
  }

  /** Leases up to `limit` due jobs to `owner` for `lease` ms, skipping `busyOrigins`. */
  async claim(owner: string, lease: number, limit: number, busyOrigins: readonly string[]): Promise<Job[]> {
    const { rows } = await this.db.query<JobRow>(this.#q.claim, [owner, lease, limit, busyOrigins]);
    return rows.map(toJob);
  }

  /** Renews the leases `owner` still holds; returns the ids it still holds. */
  async extend(owner: string, lease: number, jobs: ReadonlyArray<{ id: string; attempts: number }>): Promise<Set<string>> {
    if (jobs.length === 0) return new Set();
    const { rows } = await this.db.query<{ id: string }>(this.#q.extend, [owner, lease, jobs.map((j) => j.id), jobs.map((j) => j.attempts)]);
    return new Set(rows.map((r) => r.id));
  }

  /** Removes a delivered job; false when the lease was lost (fenced: nothing changed). */
  complete(owner: string, id: string, attempts: number): Promise<boolean> {
    return this.#complete.add({ owner, id, attempts });
  }

  async #delete(done: Array<{ owner: string; id: string; attempts: number }>): Promise<boolean[]> {
    const owner = done[0]!.owner;
    const { rows } = await this.db.query<{ id: string }>(this.#q.complete, [owner, done.map((d) => d.id), done.map((d) => d.attempts)]);
    const gone = new Set(rows.map((r) => r.id));
    return done.map((d) => gone.has(d.id));
  }

  /** Schedules the next attempt in `delayMs`; false when fenced. */
  async retry(owner: string, job: Job, delayMs: number, status: number | undefined, error: string | undefined): Promise<boolean> {
    const { rowCount } = await this.db.query(this.#q.retry, [owner, job.id, job.attempts, delayMs, status ?? null, error ?? null]);
    return rowCount === 1;
  }

  /** Gives an unfinished job back at once, its attempt not counted; false when fenced. */
  async release(owner: string, job: Job): Promise<boolean> {
    const { rowCount } = await this.db.query(this.#q.release, [owner, job.id, job.attempts]);
    return rowCount === 1;
  }

  /** Moves the job to the dead letters with its last status or error; false when fenced. */
  async bury(owner: string, job: Job, status: number | undefined, error: string | undefined): Promise<boolean> {
    const { rowCount } = await this.db.query(this.#q.bury, [owner, job.id, job.attempts, status ?? null, error ?? null]);
    return rowCount === 1;
  }

  async deadLetters(limit: number): Promise<DeadLetter[]> {
    const { rows } = await this.db.query<DeadRow>(this.#q.deadLetters, [limit]);
    return rows.map((r) => ({
      id: r.id,
      key: r.idempotency_key,
      method: r.method,
      url: `${r.origin}${r.path}`,
      attempts: r.attempts,
      lastStatus: r.last_status,
      lastError: r.last_error,
      createdAt: r.created_at,
      failedAt: r.failed_at,
    }));
  }

  /** Dead letters back into the queue (`ids` null: all), due now; returns the ids moved. */
  async revive(ids: readonly string[] | null, maxAttempts: number): Promise<string[]> {
    return (await this.db.query<{ id: string }>(this.#q.revive, [ids, maxAttempts])).rows.map((r) => r.id);
  }

  async purge(ids: readonly string[] | null): Promise<string[]> {
    return (await this.db.query<{ id: string }>(this.#q.purge, [ids])).rows.map((r) => r.id);
  }

  /**
   * Forgets expired idempotency keys, batch after batch until none is left or the sweep's
   * bounds are reached; `caughtUp` false when some may be left for the next sweep.
   */
  async forget(windowMs: number): Promise<{ deleted: number; caughtUp: boolean }> {
    const started = Date.now();
    let deleted = 0;
    for (let batch = 0; batch < FORGET_BATCHES && Date.now() - started < FORGET_BUDGET; batch++) {
      const { rowCount } = await this.db.query(this.#q.forget, [windowMs, FORGET_BATCH]);
      deleted += rowCount;
      if (rowCount < FORGET_BATCH) return { deleted, caughtUp: true };
    }
    return { deleted, caughtUp: false };
  }

  async depth(): Promise<QueueDepth> {
    const { rows } = await this.db.query<{ depth: number; dead: number; oldest_ms: number | null }>(this.#q.stats, [STATS_CAP]);
    const row = rows[0]!;
    return { depth: row.depth, deadLetters: row.dead, oldestAgeMs: Math.max(0, Math.round(row.oldest_ms ?? 0)), cap: STATS_CAP };
  }

  close(): Promise<void> {
    return this.db.close();
  }
}

interface DeadRow {
  id: string;
  idempotency_key: string;
  method: string;
  origin: string;
  path: string;
  attempts: number;
  last_status: number | null;
  last_error: string | null;
  created_at: Date;
  failed_at: Date;
}

function toJob(row: JobRow): Job {
  const body = row.body;
  return {
    id: row.id,
    key: row.idempotency_key,
    method: row.method,
    origin: row.origin,
    path: row.path,
    headers: row.headers,
    body: body == null ? undefined : Buffer.isBuffer(body) ? body : Buffer.from(body.buffer, body.byteOffset, body.byteLength),
    attempts: row.attempts,
    maxAttempts: row.max_attempts,
    createdAt: row.created_at,
  };
}

/** SQLSTATEs of a transaction PostgreSQL aborted to break a conflict: nothing was committed, so running it again is safe. */
const ABORTED = new Set(['40P01', '40001']);

/** Runs one statement again (at most twice more) when PostgreSQL aborted it as a deadlock victim or a serialization failure. */
async function retryAborted<T>(run: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await run();
    } catch (err) {
      if (attempt >= 3 || !ABORTED.has((err as { code?: string }).code ?? '')) throw err;
    }
  }
}
