import type http from 'node:http';
import { ProxyError, declaredTooLarge, dropRequestHeaders, hasDotSegment, type HandoffProxy, type OffloadRules, type ProxyHandle } from '@handoff/core';
import { isMultipartForm, receiveUpload, removeStoredFiles, type FileInfo, type ReceivedUpload, type UploadTarget } from '@handoff/uploads';
import { SignJWT } from 'jose';
import { Agent } from 'undici';
import type { SidecarConfig } from '../config/keys';
import type { BackendTarget } from '../forward';
import { authorize } from './authorize';
import { FIELDS_HEADER, clientFields, fieldsClaim, fileFields, isReservedHeader, isSignedFieldName, multipartForm, urlEncoded } from './fields';
import { matchRoute } from './routes';

/** What the sidecar does with a refused upload (logs it, counts it, answers it). */
export type Refuse = (req: http.IncomingMessage, res: http.ServerResponse, err: ProxyError) => void;

/** Removes every `Handoff-Upload-*` header a client sent (`Handoff_Upload_*` too): only the sidecar sets them (RELIABILITY L47). */
export function stripUploadHeaders(req: http.IncomingMessage): void {
  dropRequestHeaders(req, isReservedHeader);
}

/**
 * Fields describing the client's body, which the rewritten request no longer carries: its
 * digests, range, disposition and coding would be checked (or trusted) against the signed fields.
 */
const ORIGINAL_BODY_FIELDS = new Set(['content-md5', 'digest', 'content-digest', 'repr-digest', 'content-range', 'content-disposition', 'content-encoding']);

/**
 * The sidecar's upload routes, Workhorse-style: authorize with the backend, stream the body
 * to where it says (a temp directory, a presigned PUT, S3 multipart), then forward the
 * request with the body replaced by the stored files' fields, signed (`Handoff-Upload-Fields`).
 * Local files are removed once the backend has answered: it moves what it keeps.
 */
export class UploadRoutes {
  readonly #key: Uint8Array;
  readonly #dispatcher = new Agent({ keepAliveTimeout: 10_000 });

  constructor(
    private readonly config: SidecarConfig,
    private readonly proxy: HandoffProxy,
    private readonly offload: OffloadRules,
  ) {
    if (config.uploads.routes.length > 0 && config.uploads.secret === '') {
      throw new ProxyError('HANDOFF_INVALID_OPTIONS', 'uploads.secret is required when uploads.routes is set: the backend checks the sidecar\'s JWTs with it', { option: 'uploads.secret' });
    }
    this.#key = new TextEncoder().encode(config.uploads.secret);
  }

  /** Whether `req` is an upload. */
  matches(req: http.IncomingMessage): boolean {
    return matchRoute(this.config.uploads.routes, req.method, (req.url ?? '').split('?')[0]!) !== undefined;
  }

  /** Handles an upload; resolves with the forwarded request's handle, or undefined when it was refused. */
  async handle(req: http.IncomingMessage, res: http.ServerResponse, target: BackendTarget, refuse: Refuse): Promise<ProxyHandle | undefined> {
    let upload: ReceivedUpload | undefined;
    try {
      const [path, search] = splitTarget(target.path);
      // The authorize URL is parsed (WHATWG), so `/uploads/../admin` would authorize at
      // `/admin/authorize` while the route matched, and the request is forwarded, raw: refused.
      if (hasDotSegment((req.url ?? '').split('?')[0]!)) {
        throw new ProxyError('HANDOFF_BAD_REQUEST_TARGET', `Upload path has a dot segment ('.' or '..', raw or percent-encoded), which upload routes do not take: ${req.method} ${path}`);
      }
      const query = new URLSearchParams(search.slice(1));
      for (const name of query.keys()) {
        if (isSignedFieldName(name)) throw new ProxyError('HANDOFF_REQUEST_BODY', `Upload query names a field only the sidecar may set (${JSON.stringify(name)}): ${req.method} ${target.path.split('?')[0]}`);
      }
      const answer = await authorize({
        req,
        origin: target.origin,
        path: `${path}${this.config.uploads.authorizeSuffix}${search}`,
        key: this.#key,
        dispatcher: this.#dispatcher,
        headersTimeout: this.config.headersTimeout,
        bodyTimeout: this.config.bodyTimeout,
      });
      if (!('target' in answer)) return void relay(req, res, answer);
      if (declaredTooLarge(req, answer.maxSize)) {
        throw new ProxyError('HANDOFF_REQUEST_TOO_LARGE', `Upload declares ${req.headers['content-length']} bytes, over the authorized maxSize (${answer.maxSize}): ${req.method} ${path}`);
      }
      upload = await receiveUpload(req, {
        maxSize: answer.maxSize,
        bodyTimeout: this.config.bodyTimeout,
        partConcurrency: this.config.uploads.partConcurrency,
        storageTimeout: this.config.uploads.storageTimeout,
        tempDir: this.config.uploads.tempDir,
        store: fileTarget(answer.target, req, `${req.method} ${path}`),
        dispatcher: this.#dispatcher,
      });
    } catch (err) {
      refuse(req, res, err instanceof ProxyError ? err : new ProxyError('HANDOFF_UPSTREAM_ERROR', String(err), { cause: err }));
      return undefined;
    }
    const stored = upload;
    dropRequestHeaders(req, (name) => ORIGINAL_BODY_FIELDS.has(name));
    const signed = stored.files.flatMap(fileFields);
    const form = stored.files.some((f) => f.field !== undefined) ? multipartForm([...clientFields(stored), ...signed]) : urlEncoded(signed);
    const jwt = await new SignJWT({ fields: fieldsClaim(signed), method: req.method, path: req.url }).setProtectedHeader({ alg: 'HS256' }).setIssuer('handoff').setIssuedAt().setExpirationTime('5m').sign(this.#key);
    const handle = this.proxy.fetch(req, res, target.origin, {
      method: req.method,
      path: target.path,
      forwardHeaders: 'all',
      headers: { 'content-type': form.contentType, [FIELDS_HEADER]: jwt },
      body: form.body,
      offload: this.offload,
    });
    void handle.done.then(() => removeStoredFiles(stored.files));
    return handle;
  }

  close(): Promise<void> {
    return this.#dispatcher.close();
  }
}

function splitTarget(path: string): [string, string] {
  const mark = path.indexOf('?');
  return mark === -1 ? [path, ''] : [path.slice(0, mark), path.slice(mark)];
}

/**
 * The authorize answer's target for every file: a temp directory holds any number, a remote
 * object one. A form's file part without a name (`name=""`) is refused rather than signed under
 * a name the sidecar would invent: RFC 7578 §4.2 requires the form's field name, a browser never
 * sends a file without one, and the backend could not tell which of its inputs the file is for.
 */
function fileTarget(target: UploadTarget, req: http.IncomingMessage, what: string): (file: FileInfo) => UploadTarget {
  const form = isMultipartForm(req);
  let files = 0;
  return (file) => {
    if (form && !file.field) {
      throw new ProxyError('HANDOFF_REQUEST_BODY', `Upload form has a file part without a field name (name=""), which the sidecar cannot sign: ${what}`);
    }
    if (++files > 1 && (target as { remote?: unknown }).remote !== undefined) {
      throw new ProxyError('HANDOFF_REQUEST_BODY', `Upload holds more than one file, and its authorize answer gives one remote object: ${what}`);
    }
    return target;
  };
}

/** Relays the backend's refusal of an upload (401, 403, 413, …) to the client, closing a connection whose body was not read. */
function relay(req: http.IncomingMessage, res: http.ServerResponse, answer: { status: number; headers: Record<string, string | string[]>; body: Buffer }): void {
  const headers: Record<string, string | string[]> = { ...answer.headers, 'content-length': String(answer.body.length) };
  if (req.httpVersionMajor === 1 && !req.complete) headers.connection = 'close';
  res.writeHead(answer.status, headers);
  res.end(req.method === 'HEAD' ? undefined : answer.body);
}
