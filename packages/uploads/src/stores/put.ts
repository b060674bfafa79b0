import fs from 'node:fs';
import { once } from 'node:events';
import { PassThrough } from 'node:stream';
import { ProxyError } from '@handoff/core';
import type { ResolvedTarget } from '../options';
import { TempFile, removeFile } from './local';
import { describeStorage, etagMd5, storageRequest, type StorageAnswer } from './storage-request';
import type { FileWriter, StoredAt, WriterContext } from './writer';

type PutTarget = Extract<ResolvedTarget, { kind: 'put' }>;

/**
 * One presigned PUT. A file of known length streams straight into the request; one of
 * unknown length is buffered to a temp file first, since S3 takes no chunked PUT. The
 * object exists only once the PUT has succeeded; its ETag is checked against the MD5.
 */
export class PresignedPut implements FileWriter {
  readonly #ac = new AbortController();
  #error: ProxyError | undefined;
  #body: PassThrough | undefined;
  #answer: Promise<StorageAnswer | undefined> | undefined;
  #temp: TempFile | undefined;

  constructor(
    private readonly target: PutTarget,
    private readonly ctx: WriterContext,
  ) {
    if (ctx.size === undefined) {
      this.#temp = new TempFile(ctx.limits.tempDir);
    } else {
      const body = new PassThrough({ highWaterMark: 64 * 1024 });
      this.#body = body;
      this.#answer = this.#put(body, ctx.size);
    }
  }

  #put(body: PassThrough | fs.ReadStream, size: number): Promise<StorageAnswer | undefined> {
    const headers = { ...this.target.headers, 'content-length': String(size) };
    const sent = { bytes: 0 };
    return storageRequest({
      method: 'PUT',
      url: this.target.url,
      headers,
      body: counted(body, sent),
      signal: this.#ac.signal,
      timeout: this.ctx.limits.storageTimeout,
      dispatcher: this.ctx.dispatcher,
    })
      .then((answer) => {
        // Storage answering before it had the whole body stored a part of it, whatever it says.
        if (sent.bytes < size) throw answeredEarly('PUT', this.target.url, sent.bytes, size);
        return answer;
      })
      .catch((err: unknown) => {
        this.#error ??= err as ProxyError;
        body.destroy();
        return undefined;
      });
  }

  write(chunk: Buffer): Promise<void> | undefined {
    if (this.#error) throw this.#error;
    if (this.#temp) return this.#temp.write(chunk);
    if (this.#body!.write(chunk)) return undefined;
    return this.#drained();
  }

  async #drained(): Promise<void> {
    await Promise.race([once(this.#body!, 'drain').catch(() => undefined), this.#answer]);
    if (this.#error) throw this.#error;
  }

  async finish(file: { size: number; md5: string }): Promise<StoredAt> {
    if (this.#temp) {
      await this.#temp.close();
      this.#answer = this.#put(fs.createReadStream(this.#temp.tempPath) as never, file.size);
    } else {
      this.#body!.end();
    }
    const answer = await this.#answer;
    if (!answer) throw this.#error!;
    const etag = etagMd5(answer.headers.etag);
    if (etag !== undefined && etag !== file.md5) {
      throw new ProxyError('HANDOFF_STORAGE_ERROR', `Storage ETag ${etag} does not match the upload's MD5 ${file.md5}: ${describeStorage('PUT', this.target.url)}`);
    }
    if (this.#temp) await removeFile(this.#temp.tempPath);
    return { remoteUrl: this.target.getUrl ?? withoutQuery(this.target.url), remoteId: this.target.id };
  }

  async abort(): Promise<void> {
    this.#ac.abort(new ProxyError('HANDOFF_ABORTED', 'Upload abandoned'));
    this.#body?.destroy();
    await this.#answer;
    if (this.#temp) await this.#temp.abort();
    // A PUT cut after storage had the whole body may still have stored it: delete it either way.
    if (this.#answer) await removeObject(this.target.deleteUrl, this.ctx);
  }
}

/** The chunks of `source`, counting in `sent` those undici has taken to send. */
export async function* counted(source: AsyncIterable<Buffer>, sent: { bytes: number }): AsyncGenerator<Buffer> {
  for await (const chunk of source) {
    sent.bytes += chunk.length;
    yield chunk;
  }
}

/** A storage answer that came before its request's body was all sent: the object (or part) holds only some of it. */
export function answeredEarly(method: string, url: string, sent: number, size: number): ProxyError {
  return new ProxyError('HANDOFF_STORAGE_ERROR', `Storage answered after ${sent} of ${size} bytes were sent: ${describeStorage(method, url)}`);
}

/** Deletes an object stored whole, through its presigned DeleteObject URL if there is one; never rejects. */
export async function removeObject(deleteUrl: string | undefined, ctx: WriterContext): Promise<void> {
  if (!deleteUrl) return;
  await storageRequest({ method: 'DELETE', url: deleteUrl, timeout: ctx.limits.storageTimeout, dispatcher: ctx.dispatcher }).catch(() => undefined);
}

export function withoutQuery(url: string): string {
  const parsed = new URL(url);
  parsed.search = '';
  return parsed.href;
}
