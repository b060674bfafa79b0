import { ProxyError } from '@handoff/core';
import type { ResolvedTarget } from '../options';
import { answeredEarly, removeObject, withoutQuery } from './put';
import { describeStorage, storageRequest } from './storage-request';
import type { FileWriter, StoredAt, WriterContext } from './writer';

type MultipartTarget = Extract<ResolvedTarget, { kind: 'multipart' }>;

/**
 * An S3 multipart upload through presigned URLs: the body is copied into parts of exactly
 * `partSize` bytes (the last may be shorter), each held in memory until its UploadPart has
 * succeeded, at most `partConcurrency` in flight; writes wait while they are all busy, and
 * part buffers are reused, so memory stays at (partConcurrency + 1) × partSize. CompleteMultipartUpload at the end;
 * on any failure the parts in flight are cancelled and AbortMultipartUpload is sent, so no
 * orphan parts are left (and, once completion was asked for, the object is deleted if a
 * deleteUrl was given).
 *
 * Why not @aws-sdk/lib-storage's Upload: it needs the SDK and credentials in the proxy,
 * while presigned URLs let the app (or the backend behind the sidecar) keep both.
 */
export class MultipartUpload implements FileWriter {
  readonly #ac = new AbortController();
  /** The part being filled, and how far. */
  #current: Buffer | undefined;
  #filled = 0;
  /** Part buffers whose UploadPart is done, to be filled again. */
  readonly #pool: Buffer[] = [];
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
    return this.#fill(chunk, 0);
  }

  /**
   * Copies `chunk` from `offset` into part buffers, sending each one filled. The client's
   * chunks die young this way (a part holding them for seconds got them promoted, and
   * freed only by a full collection: RSS grew by far more than the parts).
   */
  #fill(chunk: Buffer, offset: number): Promise<void> | undefined {
    const { partSize } = this.target;
    while (offset < chunk.length) {
      this.#current ??= this.#pool.pop() ?? Buffer.allocUnsafeSlow(partSize);
      const n = chunk.copy(this.#current, this.#filled, offset);
      this.#filled += n;
      offset += n;
      if (this.#filled === partSize) {
        if (this.#inFlight.size >= this.ctx.limits.partConcurrency) {
          const rest = offset;
          return this.#slot().then(() => {
            this.#sendCurrent();
            return this.#fill(chunk, rest);
          });
        }
        this.#sendCurrent();
      }
    }
    return undefined;
  }

  /** Resolves once fewer than partConcurrency parts are in flight. */
  async #slot(): Promise<void> {
    while (this.#inFlight.size >= this.ctx.limits.partConcurrency) await Promise.race(this.#inFlight);
    if (this.#error) throw this.#error;
  }

  #sendCurrent(): void {
    const buffer = this.#current ?? Buffer.alloc(0);
    const part = this.#filled === buffer.length ? buffer : buffer.subarray(0, this.#filled);
    this.#current = undefined;
    this.#filled = 0;
    this.#send(part, () => buffer.length === this.target.partSize && this.#pool.push(buffer));
  }

  #send(part: Buffer, release: () => void): void {
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
    const taken = { bytes: 0 };
    const sent: Promise<void> = storageRequest({
      method: 'PUT',
      url,
      headers: { ...this.target.headers, 'content-length': String(part.length) },
      body: slices(part, taken),
      signal: this.#ac.signal,
      timeout: this.ctx.limits.storageTimeout,
      dispatcher: this.ctx.dispatcher,
    })
      .then((answer) => {
        if (taken.bytes < part.length) throw answeredEarly('PUT', url, taken.bytes, part.length);
        const etag = answer.headers.etag;
        if (typeof etag !== 'string' || etag === '') {
          throw new ProxyError('HANDOFF_STORAGE_ERROR', `Storage answered UploadPart ${number} without an ETag: ${describeStorage('PUT', url)}`);
        }
        this.#etags[number - 1] = etag;
      })
      .catch((err: unknown) => {
        this.#error ??= err as ProxyError;
      })
      .finally(() => {
        this.#inFlight.delete(sent);
        release();
      });
    this.#inFlight.add(sent);
  }

  async finish(): Promise<StoredAt> {
    // A file of 0 bytes still needs one part: S3 completes no upload without any.
    if (this.#filled > 0 || this.#parts === 0) {
      await this.#slot();
      this.#sendCurrent();
    }
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
    this.#current = undefined;
    this.#pool.length = 0;
    await Promise.allSettled([...this.#inFlight]);
    if (this.#completing) await removeObject(this.target.deleteUrl, this.ctx);
    await abortMultipart(this.target, this.ctx);
  }
}

/** AbortMultipartUpload (DELETE at the abort URL): storage drops every part; never rejects. */
export async function abortMultipart(target: MultipartTarget, ctx: WriterContext): Promise<void> {
  await storageRequest({ method: 'DELETE', url: target.abortUrl, headers: target.headers, timeout: ctx.limits.storageTimeout, dispatcher: ctx.dispatcher }).catch(() => undefined);
}

/**
 * A part as 64 KiB views, counting in `taken` those undici has taken: it takes the next only
 * once the socket took the last, so storage answering before the count is full answered early
 * (a Buffer body is handed to the socket whole, and an early answer could not be told apart).
 */
function* slices(part: Buffer, taken: { bytes: number }): Generator<Buffer> {
  for (let at = 0; at < part.length; at += SLICE) {
    const slice = part.subarray(at, at + SLICE);
    taken.bytes += slice.length;
    yield slice;
  }
}

const SLICE = 64 * 1024;

/** Text content: quotes stay as they are (S3's ETags carry them, and s3rver does not decode &quot;). */
function escapeXml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}
