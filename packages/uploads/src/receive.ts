import type { IncomingMessage } from 'node:http';
import { ProxyError, declaredTooLarge } from '@handoff/core';
import { resolveLimits } from './options';
import { receiveMultipart } from './multipart';
import { UploadSession } from './session';
import { defaultDispatcher } from './stores/storage-request';
import type { ReceiveOptions, ReceivedUpload } from './types';

/** `PUT /uploads/a`, without the query (it may carry tokens). */
export function describeRequest(req: IncomingMessage): string {
  const url = req.url ?? '';
  const mark = url.indexOf('?');
  return `${req.method} ${mark === -1 ? url : `${url.slice(0, mark)}?…`}`;
}

/** Whether the body is a multipart/form-data form (its files are stored, its fields kept). */
export function isMultipartForm(req: IncomingMessage): boolean {
  return /^multipart\/form-data\s*(;|$)/i.test(req.headers['content-type'] ?? '');
}

/** The filename of a Content-Disposition header (`attachment; filename="a.txt"`), if any. */
export function dispositionName(header: string | undefined): string | undefined {
  const match = header ? /filename\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^;\s]+))/i.exec(header) : null;
  if (!match) return undefined;
  return match[1] !== undefined ? match[1].replace(/\\(.)/g, '$1') : match[2];
}

/**
 * A raw body's name: its Content-Disposition filename, else the last segment of the request's
 * path (decoded), reduced to a base name as busboy does a form's filenames, else `upload`.
 */
export function rawName(req: IncomingMessage): string {
  const given = dispositionName(req.headers['content-disposition'] as string | undefined);
  if (given) return baseName(given) || 'upload';
  const path = (req.url ?? '').split('?')[0]!;
  const segment = path.slice(path.lastIndexOf('/') + 1);
  try {
    return baseName(decodeURIComponent(segment)) || 'upload';
  } catch {
    return baseName(segment) || 'upload';
  }
}

/** What follows the last `/` or `\`; empty for `.` and `..` (busboy's rule for filenames, `preservePath: false`). */
export function baseName(name: string): string {
  const base = name.slice(Math.max(name.lastIndexOf('/'), name.lastIndexOf('\\')) + 1);
  return base === '.' || base === '..' ? '' : base;
}

/** The Content-Length a raw body declared, when its framing is that length (not chunked). */
function declaredSize(req: IncomingMessage): number | undefined {
  const length = req.headers['content-length'];
  if (length === undefined || req.headers['transfer-encoding'] !== undefined) return undefined;
  return Number(length);
}

/**
 * Streams a request's body to storage: a raw body as one file, or the file parts of a
 * multipart/form-data form, with their non-file fields. Resolves once every file is
 * stored (renamed, PUT, completed) and the body consumed; rejects with a ProxyError after
 * removing whatever was stored (temp files, PUT objects, open multipart uploads):
 * 413 `HANDOFF_REQUEST_TOO_LARGE` (declared — before a byte is read — or streamed),
 * 408 `HANDOFF_REQUEST_TIMEOUT`/`HANDOFF_REQUEST_TOO_SLOW`, 400 `HANDOFF_REQUEST_BODY`,
 * 499 `HANDOFF_CLIENT_ABORTED`, 502 `HANDOFF_STORAGE_ERROR`, 503 `HANDOFF_STORAGE_UNAVAILABLE`.
 */
export async function receiveUpload(req: IncomingMessage, options: ReceiveOptions): Promise<ReceivedUpload> {
  const limits = resolveLimits(options);
  const store = options.store;
  if (store == null || (typeof store !== 'object' && typeof store !== 'function')) {
    throw new ProxyError('HANDOFF_INVALID_OPTIONS', 'store must be a target ({ tempPath } or { remote }) or a function (file) => target', { option: 'store' });
  }
  const what = describeRequest(req);
  if (req.readableDidRead || req.readableEnded) {
    throw new ProxyError('HANDOFF_INVALID_OPTIONS', `The upload's body was already read by another middleware (a body parser before this route?): ${what}`);
  }
  if (declaredTooLarge(req, limits.maxSize)) {
    throw new ProxyError('HANDOFF_REQUEST_TOO_LARGE', `Upload declares ${req.headers['content-length']} bytes, over maxSize (${limits.maxSize} bytes): ${what}`);
  }
  const session = new UploadSession(req, limits, store, options.dispatcher ?? defaultDispatcher(), what);
  const onAbort = () => session.body.fail(new ProxyError('HANDOFF_ABORTED', `Upload abandoned (signal): ${what}`));
  options.signal?.addEventListener('abort', onAbort, { once: true });
  try {
    if (options.signal?.aborted) onAbort();
    let fields: ReceivedUpload['fields'] = Object.create(null) as ReceivedUpload['fields'];
    if (isMultipartForm(req)) {
      fields = await receiveMultipart(session);
    } else {
      const name = options.name ?? rawName(req);
      const contentType = req.headers['content-type'] ?? 'application/octet-stream';
      await session.storeFile({ field: undefined, name, contentType, size: declaredSize(req) }, 0, session.chunks());
    }
    session.body.stop();
    return { files: session.files, fields };
  } catch (err) {
    throw await session.abandon(err);
  } finally {
    options.signal?.removeEventListener('abort', onAbort);
  }
}
