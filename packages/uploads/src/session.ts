import type { IncomingMessage } from 'node:http';
import { isProxyError, ProxyError } from '@handoff/core';
import type { Dispatcher } from 'undici';
import { ClientBody } from './client-body';
import { Digest } from './digest';
import { resolveTarget, type ResolvedLimits } from './options';
import { openWriter, releaseTarget } from './stores/open';
import type { FileWriter } from './stores/writer';
import type { FileInfo, UploadStore, UploadedFile } from './types';

/**
 * One upload under way: the client's body, the files opened on the store, and the rule that
 * any failure — a limit, the client leaving, the store — aborts every file (removing what
 * was stored) before it is reported. Nothing is left behind by a failed upload.
 */
export class UploadSession {
  readonly body: ClientBody;
  readonly files: UploadedFile[] = [];
  readonly #writers: FileWriter[] = [];
  /** Writers being opened (a store function may take a while: presigning, CreateMultipartUpload). */
  readonly #opening = new Set<Promise<unknown>>();
  #abandoned = false;

  constructor(
    readonly req: IncomingMessage,
    readonly limits: ResolvedLimits,
    private readonly store: UploadStore,
    private readonly dispatcher: Dispatcher,
    readonly what: string,
  ) {
    this.body = new ClientBody(req, limits, what);
  }

  /** Stores one file read by `read` (which yields its chunks), at position `index` of the files. */
  async storeFile(info: FileInfo, index: number, chunks: AsyncIterable<Buffer>): Promise<void> {
    const opening = this.#open(info);
    this.#opening.add(opening);
    void opening.then(
      () => this.#opening.delete(opening),
      () => this.#opening.delete(opening),
    );
    const writer = await this.body.guard(opening);
    const file = await this.#write(writer, chunks);
    const at = await this.body.guard(writer.finish(file));
    this.files[index] = { field: info.field, name: info.name, size: file.size, sha256: file.sha256, md5: file.md5, contentType: info.contentType, ...at };
  }

  /** Writes the chunks, hashing them on the way; their size and digests once all are written. */
  async #write(writer: FileWriter, chunks: AsyncIterable<Buffer>): Promise<{ size: number; sha256: string; md5: string }> {
    const digest = new Digest();
    try {
      for await (const chunk of chunks) {
        const hashing = digest.update(chunk);
        const writing = writer.write(chunk);
        // Both at once: a failure of either is handled as soon as it happens.
        if (hashing || writing) await this.body.guard(Promise.all([writing, hashing]));
      }
      return await this.body.guard(digest.digest());
    } finally {
      digest.discard();
    }
  }

  async #open(info: FileInfo): Promise<FileWriter> {
    const given = typeof this.store === 'function' ? await this.store(info) : this.store;
    const target = resolveTarget(given, 'store target');
    const ctx = { limits: this.limits, dispatcher: this.dispatcher, what: this.what, size: info.size };
    // The upload failed while the store was asked: nothing may be written, and what the store
    // made for this file (an S3 multipart upload) is released rather than left open.
    if (this.#abandoned) {
      await releaseTarget(target, ctx);
      throw this.body.failure ?? new ProxyError('HANDOFF_ABORTED', `Upload abandoned: ${this.what}`);
    }
    const writer = openWriter(target, ctx);
    this.#writers.push(writer);
    return writer;
  }

  /** The client's chunks, until the body ends. */
  async *chunks(): AsyncGenerator<Buffer> {
    for (;;) {
      const chunk = await this.body.next();
      if (chunk === null) return;
      yield chunk;
    }
  }

  /**
   * Fails the upload with `err`: every file is aborted, including one whose writer was still
   * being opened (its store answer is awaited, then released), and the error is what the caller throws.
   */
  async abandon(err: unknown): Promise<ProxyError> {
    this.#abandoned = true;
    const error = isProxyError(err)
      ? err
      : new ProxyError('HANDOFF_STORAGE_ERROR', `Upload failed (${(err as Error)?.message ?? String(err)}): ${this.what}`, { cause: err });
    this.body.fail(error);
    this.body.stop();
    await settledWithin([...this.#opening], this.limits.storageTimeout);
    await Promise.all(this.#writers.map((w) => w.abort()));
    return error;
  }
}

/**
 * Waits for the writers being opened, at most `ms` (0: as long as it takes): a store function
 * that never answers must not hold the failure's answer back. One that answers later still
 * finds the session abandoned and releases what it made (#open).
 */
async function settledWithin(opening: Promise<unknown>[], ms: number): Promise<void> {
  if (opening.length === 0) return;
  const all = Promise.allSettled(opening);
  if (ms === 0) return void (await all);
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([all, new Promise((resolve) => (timer = setTimeout(resolve, ms)))]);
  clearTimeout(timer);
}
