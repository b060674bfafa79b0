import { Worker } from 'node:worker_threads';
import { ProxyError } from '@handoff/core';

/**
 * MD5 on a worker thread, shared by every upload of the process: it runs at about half
 * SHA-256's speed (SHA-NI), and on the thread that parses and stores the upload it was
 * the bound (docs/uploads.md, "Bench"). Each chunk is copied to the worker; the worker
 * acknowledges it once hashed, and `update` asks the caller to wait while more than
 * `MAX_IN_FLIGHT` bytes are not, so a worker that falls behind slows the upload instead
 * of queueing it in memory.
 */
const SOURCE = `
const { parentPort } = require('node:worker_threads');
const { createHash } = require('node:crypto');
const hashes = new Map();
parentPort.on('message', (m) => {
  if (m.chunk) {
    let hash = hashes.get(m.id);
    if (!hash) hashes.set(m.id, (hash = createHash('md5')));
    hash.update(m.chunk);
    parentPort.postMessage({ ack: m.chunk.length });
  } else if (m.end) {
    const hash = hashes.get(m.id) ?? createHash('md5');
    hashes.delete(m.id);
    parentPort.postMessage({ id: m.id, md5: hash.digest('hex') });
  } else if (m.drop) {
    hashes.delete(m.id);
  }
});
`;

export const MAX_IN_FLIGHT = 8 * 1024 * 1024;

interface Pending<T> {
  resolve(value: T): void;
  reject(err: Error): void;
}

/** One worker thread; a new one is started when the last has failed. */
class Md5Thread {
  readonly worker: Worker;
  failure: Error | undefined;
  readonly #pending = new Map<number, Pending<string>>();
  #waiters: Array<Pending<void>> = [];
  #inFlight = 0;
  #open = 0;

  constructor(private readonly onGone: (thread: Md5Thread) => void) {
    this.worker = new Worker(SOURCE, { eval: true });
    this.worker.unref();
    this.worker.on('message', (m: { ack?: number; id?: number; md5?: string }) => {
      if (m.ack !== undefined) return this.#acked(m.ack);
      const pending = this.#pending.get(m.id!);
      this.#pending.delete(m.id!);
      pending?.resolve(m.md5!);
    });
    this.worker.on('error', (err) => this.#fail(err));
    this.worker.on('exit', (code) => this.#fail(new Error(`the hash worker exited with code ${code}`)));
  }

  opened(): void {
    if (this.#open++ === 0) this.worker.ref();
  }

  closed(): void {
    if (--this.#open === 0) this.worker.unref();
  }

  update(id: number, chunk: Buffer): Promise<void> | undefined {
    this.#inFlight += chunk.length;
    this.worker.postMessage({ id, chunk });
    if (this.#inFlight <= MAX_IN_FLIGHT) return undefined;
    return new Promise<void>((resolve, reject) => this.#waiters.push({ resolve, reject }));
  }

  finish(id: number): Promise<string> {
    return new Promise<string>((resolve, reject) => {
      this.#pending.set(id, { resolve, reject });
      this.worker.postMessage({ id, end: true });
    });
  }

  drop(id: number): void {
    this.worker.postMessage({ id, drop: true });
  }

  get inFlight(): number {
    return this.#inFlight;
  }

  #acked(bytes: number): void {
    this.#inFlight -= bytes;
    if (this.#inFlight > MAX_IN_FLIGHT / 2) return;
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const w of waiters) w.resolve();
  }

  #fail(cause: Error): void {
    if (this.failure) return;
    this.failure = new ProxyError('HANDOFF_STORAGE_ERROR', `Upload digest failed (${cause.message})`, { cause });
    for (const p of this.#pending.values()) p.reject(this.failure);
    for (const w of this.#waiters) w.reject(this.failure);
    this.#pending.clear();
    this.#waiters = [];
    this.onGone(this);
  }
}

let current: Md5Thread | undefined;
let nextId = 0;

function thread(): Md5Thread {
  current ??= new Md5Thread((gone) => {
    if (current === gone) current = undefined;
  });
  return current;
}

/** The MD5 of one file, hashed on the shared worker thread. */
export class Md5Job {
  readonly #id = nextId++;
  readonly #thread = thread();
  #done = false;

  constructor() {
    this.#thread.opened();
  }

  /** Hashes `chunk` (a copy of it); a promise when the caller should wait for the worker to catch up. */
  update(chunk: Buffer): Promise<void> | undefined {
    if (this.#done) throw new Error('Md5Job.update() after digest() or discard()');
    if (this.#thread.failure) return Promise.reject(this.#thread.failure);
    return this.#thread.update(this.#id, chunk);
  }

  /** The hex digest, once every chunk given is hashed. */
  async digest(): Promise<string> {
    try {
      if (this.#thread.failure) throw this.#thread.failure;
      return await this.#thread.finish(this.#id);
    } finally {
      // Only now: the worker keeps the process alive until it has answered.
      this.#close();
    }
  }

  /** Forgets the file (its upload failed); nothing more may be given. */
  discard(): void {
    if (this.#done) return;
    this.#close();
    if (!this.#thread.failure) this.#thread.drop(this.#id);
  }

  #close(): void {
    if (this.#done) return;
    this.#done = true;
    this.#thread.closed();
  }
}

/** For tests: the worker thread in use, if one is. */
export function md5Thread(): { worker: Worker; inFlight: number } | undefined {
  return current;
}
