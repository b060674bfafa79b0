import { ProxyError } from '@handoff/core';
import type { ResolvedTarget } from '../options';
import { removeObject, withoutQuery } from './put';
import { describeStorage, storageRequest } from './storage-request';
import type { FileWriter, StoredAt, WriterContext } from './writer';

type MultipartTarget = Extract<ResolvedTarget, { kind: 'multipart' }>;

/**
 * An S3 multipart upload through presigned URLs: the body is cut into parts of exactly
 * `partSize` bytes (the last may be shorter), each held in memory until its UploadPart has
 * succeeded, at most `partConcurrency` in flight; writes wait while they are all busy, so
 * memory stays under (partConcurrency + 1) × partSize. CompleteMultipartUpload at the end;
 * on any failure the parts in flight are cancelled and AbortMultipartUpload is sent, so no
 * orphan parts are left (and, once completion was asked for, the object is deleted if a
 * deleteUrl was given).
 *
 * Why not @aws-sdk/lib-storage's Upload: it needs the SDK and credentials in the proxy,
 * while presigned URLs let the app (or the backend behind the sidecar) keep both.
 */
export class MultipartUpload implements FileWriter {
  readonly #ac = new AbortController();
  #chunks: Buffer[] = [];
  #bytes = 0;
  #parts = 0;
  readonly #etags: string[] = [];
  readonly #inFlight = new Set<Promise<void>>();
  #error: ProxyError | undefined;
  /** Set once CompleteMultipartUpload was sent: storage may have made the object, even if the answer never came. */
  #completing = false;

  constructor(
    private readonly target: MultipartTarget,
    private readonly ctx: WriterContext,
  ) {}

  write(chunk: Buffer): Promise<void> | undefined {
    if (this.#error) throw this.#error;
    this.#chunks.push(chunk);
    this.#bytes += chunk.length;
    return this.#bytes >= this.target.partSize ? this.#cut() : undefined;
  }

  /** Sends every full part buffered, waiting for a free slot before each. */
  async #cut(): Promise<void> {
    while (this.#bytes >= this.target.partSize) {
      while (this.#inFlight.size >= this.ctx.limits.partConcurrency) await Promise.race(this.#inFlight);
      if (this.#error) throw this.#error;
      this.#send(this.#take(this.target.partSize));
    }
  }

  /** The first `size` bytes buffered, as one buffer (the chunks are released). */
  #take(size: number): Buffer {
    const out = Buffer.allocUnsafe(size);
    let filled = 0;
    while (filled < size) {
      const chunk = this.#chunks[0]!;
      const n = Math.min(chunk.length, size - filled);
      chunk.copy(out, filled, 0, n);
      filled += n;
      if (n === chunk.length) this.#chunks.shift();
      else this.#chunks[0] = chunk.subarray(n);
    }
    this.#bytes -= size;
    return out;
  }

  #send(part: Buffer): void {
    const number = ++this.#parts;
    const url = this.target.partUrls[number - 1];
    if (url === undefined) {
      const limit = this.target.partSize * this.target.partUrls.length;
      this.#error ??= new ProxyError(
        'HANDOFF_REQUEST_TOO_LARGE',
        `Upload exceeds the ${this.target.partUrls.length} parts of ${this.target.partSize} bytes (${limit} bytes) its multipart target allows: ${this.ctx.what}`,
      );
      throw this.#error;
    }
    const sent = storageRequest({
      method: 'PUT',
      url,
      headers: { ...this.target.headers, 'content-length': String(part.length) },
      body: part,
      signal: this.#ac.signal,
      timeout: this.ctx.limits.storageTimeout,
      dispatcher: this.ctx.dispatcher,
    }).then(
      (answer) => {
        const etag = answer.headers.etag;
        if (typeof etag !== 'string' || etag === '') {
          throw new ProxyError('HANDOFF_STORAGE_ERROR', `Storage answered UploadPart ${number} without an ETag: ${describeStorage('PUT', url)}`);
        }
        this.#etags[number - 1] = etag;
      },
    ).catch((err: unknown) => {
      this.#error ??= err as ProxyError;
    }).finally(() => this.#inFlight.delete(sent));
    this.#inFlight.add(sent);
  }

  async finish(): Promise<StoredAt> {
    await this.#cut();
    // A file of 0 bytes still needs one part: S3 completes no upload without any.
    if (this.#bytes > 0 || this.#parts === 0) this.#send(this.#take(this.#bytes));
    while (this.#inFlight.size > 0) await Promise.race(this.#inFlight);
    if (this.#error) throw this.#error;
    this.#completing = true;
    const parts = this.#etags.map((etag, i) => `<Part><PartNumber>${i + 1}</PartNumber><ETag>${escapeXml(etag)}</ETag></Part>`);
    const body = `<CompleteMultipartUpload xmlns="http://s3.amazonaws.com/doc/2006-03-01/">${parts.join('')}</CompleteMultipartUpload>`;
    await storageRequest({
      method: 'POST',
      url: this.target.completeUrl,
      headers: { ...this.target.headers, 'content-type': 'application/xml' },
      body,
      signal: this.#ac.signal,
      timeout: this.ctx.limits.storageTimeout,
      dispatcher: this.ctx.dispatcher,
    });
    return { remoteUrl: this.target.getUrl ?? withoutQuery(this.target.completeUrl), remoteId: this.target.id };
  }

  async abort(): Promise<void> {
    this.#ac.abort(new ProxyError('HANDOFF_ABORTED', 'Upload abandoned'));
    this.#chunks = [];
    await Promise.allSettled([...this.#inFlight]);
    if (this.#completing) await removeObject(this.target.deleteUrl, this.ctx);
    await storageRequest({
      method: 'DELETE',
      url: this.target.abortUrl,
      headers: this.target.headers,
      timeout: this.ctx.limits.storageTimeout,
      dispatcher: this.ctx.dispatcher,
    }).catch(() => undefined);
  }
}

/** Text content: quotes stay as they are (S3's ETags carry them, and s3rver does not decode &quot;). */
function escapeXml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}
