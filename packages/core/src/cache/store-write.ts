import { Writable } from 'node:stream';

/** How one write to the store ended. */
export type WriteOutcome = { kind: 'stored' } | { kind: 'discarded' } | { kind: 'failed'; err: Error };

/**
 * The write stream undici's cache handler gets: the store's own stream behind a wrapper
 * that tells the two ways a write can stop apart. undici destroys the stream it was given
 * (with the upstream's error, or the abort of a client that left) whenever the response
 * fails; the store's stream failing by itself is a store failure. Only the latter is
 * reported as one: a discarded write drops the partial body silently (the store's stream
 * is destroyed, so nothing half-written is stored) and emits no 'error', so undici does
 * not delete the URL's other entries for it either.
 */
export class StoreWrite extends Writable {
  readonly #inner: Writable;
  readonly #done: (outcome: WriteOutcome) => void;
  #settled = false;
  #failure: Error | undefined;

  constructor(inner: Writable, done: (outcome: WriteOutcome) => void) {
    // The store's own backpressure, no more (handoff's stores never report any, body-writer.ts).
    super({ highWaterMark: inner.writableHighWaterMark });
    this.#inner = inner;
    this.#done = done;
    inner.on('error', (err) => this.#failed(err));
    inner.once('finish', () => this.#settle({ kind: 'stored' }));
    inner.once('close', () => {
      if (!this.#settled) this.#failed(new Error('the store closed the write before it finished'));
    });
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (err?: Error | null) => void): void {
    if (this.#inner.write(chunk)) return callback();
    this.#inner.once('drain', () => callback());
  }

  override _final(callback: (err?: Error | null) => void): void {
    if (this.#failure) return callback(this.#failure);
    this.#inner.end();
    this.#inner.once('finish', () => callback());
    this.#inner.once('error', (err) => callback(err));
  }

  override _destroy(_err: Error | null, callback: (err?: Error | null) => void): void {
    if (this.#failure) return callback(this.#failure);
    // Destroyed from outside: the response failed or was aborted, the store did nothing wrong.
    this.#settle({ kind: 'discarded' });
    if (!this.#inner.destroyed) this.#inner.destroy();
    callback(null);
  }

  #failed(err: Error): void {
    if (this.#settled) return;
    this.#failure = err;
    this.#settle({ kind: 'failed', err });
    this.destroy(err);
  }

  #settle(outcome: WriteOutcome): void {
    if (this.#settled) return;
    this.#settled = true;
    this.#done(outcome);
  }
}
