import os from 'node:os';
import type { Context, Middleware } from 'koa';
import { ProxyError, hasRequestBody, isProxyError } from '@handoff/core';
import {
  localStore,
  receiveUpload,
  removeStoredFiles,
  resolveLimits,
  type ReceiveOptions,
  type UploadLimits,
  type UploadStore,
  type UploadedFile,
} from '@handoff/uploads';

/** What `ctx.upload` holds once the body is stored: the (first) file, every file, and the form's other fields. */
export interface Upload extends UploadedFile {
  files: UploadedFile[];
  fields: Record<string, string | string[]>;
}

/** What `authorize(ctx)` answers for an upload it allows: its limits, and optionally where it goes. */
export interface UploadGrant extends Partial<UploadLimits> {
  /** Where the files go instead of the middleware's `store`. */
  store?: UploadStore;
  /** The file's name for a raw body (default: the Content-Disposition filename, else the last path segment). */
  name?: string;
}

export interface AcceptUploadOptions extends Partial<UploadLimits> {
  /**
   * Runs before a byte of the body is read (so before `100 Continue`): returns this upload's
   * limits (`maxSize` here or in the options) and optionally its store, or throws to refuse
   * it (`ctx.throw(401)`, 403, 413: Koa answers as for any error).
   */
  authorize: (ctx: Context) => UploadGrant | Promise<UploadGrant>;
  /** Where files go unless authorize says otherwise (default: a local directory, the OS temp dir). */
  store?: UploadStore;
  /** An undici Dispatcher for storage requests. */
  dispatcher?: ReceiveOptions['dispatcher'];
}

/** Every key a grant may hold: a misspelled one (`maxsize`) is refused rather than ignored. */
const GRANT_KEYS: Record<keyof UploadGrant, true> = {
  maxSize: true,
  bodyTimeout: true,
  minDataRate: true,
  maxFiles: true,
  maxFields: true,
  maxFieldSize: true,
  partConcurrency: true,
  storageTimeout: true,
  tempDir: true,
  store: true,
  name: true,
};

declare module 'koa' {
  interface DefaultContext {
    /** Set by acceptUpload() once the request body is stored: the files and the form's other fields. */
    upload?: Upload;
  }
}

/**
 * Route middleware that stores the request body before the handler runs:
 * `router.put('/uploads/:name', requireAuth, acceptUpload({ authorize }), handler)`.
 * A raw body is one file; a multipart/form-data form's file parts are stored and its other
 * fields kept. The handler runs with `ctx.upload` and the body consumed; if it throws, the
 * files a local store wrote are removed. A failed upload never reaches the handler: it is
 * thrown as a ProxyError (413, 408, 400, 499, 502, 503) after everything stored was removed,
 * with `connection: close` when the rest of the body was not read.
 */
export function acceptUpload(options: AcceptUploadOptions): Middleware {
  if (typeof options !== 'object' || options === null || typeof options.authorize !== 'function') {
    throw new ProxyError('HANDOFF_INVALID_OPTIONS', 'acceptUpload() needs { authorize: (ctx) => ({ maxSize, store? }) }', { option: 'authorize' });
  }
  const { authorize, dispatcher } = options;
  const store = options.store ?? localStore(os.tmpdir());
  const base = resolveLimits({ ...options, maxSize: options.maxSize ?? 0 });

  return async function acceptUploadMiddleware(ctx: Context, next: () => Promise<unknown>) {
    let received;
    try {
      const grant = await authorize(ctx);
      if (typeof grant !== 'object' || grant === null) {
        throw new ProxyError('HANDOFF_INVALID_OPTIONS', 'authorize must return { maxSize?, store?, … } or throw to refuse the upload', { option: 'authorize' });
      }
      const unknown = Object.keys(grant).find((key) => !Object.hasOwn(GRANT_KEYS, key));
      if (unknown !== undefined) {
        throw new ProxyError('HANDOFF_INVALID_OPTIONS', `authorize returned an unknown key: ${unknown} (allowed: ${Object.keys(GRANT_KEYS).join(', ')})`, { option: unknown });
      }
      const maxSize = grant.maxSize ?? options.maxSize;
      if (maxSize == null) throw new ProxyError('HANDOFF_INVALID_OPTIONS', 'maxSize is required: in acceptUpload() options or in what authorize returns', { option: 'maxSize' });
      const limits = resolveLimits({ ...grant, maxSize }, base);
      received = await receiveUpload(ctx.req, { ...limits, store: grant.store ?? store, name: grant.name, dispatcher });
    } catch (err) {
      // A refusal by authorize (ctx.throw(403)) too: it is answered before the body is read.
      throw answerable(ctx, err);
    }
    const [first] = received.files;
    ctx.upload = { ...first!, files: received.files, fields: received.fields };
    try {
      await next();
    } catch (err) {
      await removeStoredFiles(received.files);
      throw err;
    }
  };
}

/**
 * The error as Koa should answer it: a 503 says when to come back, and a body left unread
 * closes the connection (Node would otherwise read and discard the rest of it, unbounded).
 * Headers the error already carries (`ctx.throw(401, { headers })`) are kept.
 */
function answerable(ctx: Context, err: unknown): unknown {
  if (typeof err !== 'object' || err === null) return err;
  const headers: Record<string, string> = { ...(err as { headers?: Record<string, string> }).headers };
  if (isProxyError(err) && err.status === 503) headers['retry-after'] = '1';
  if (ctx.req.httpVersionMajor === 1 && hasRequestBody(ctx.req) && !ctx.req.complete) headers.connection = 'close';
  return Object.assign(err, { headers });
}
