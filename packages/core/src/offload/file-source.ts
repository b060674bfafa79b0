import type { ReadStream } from 'node:fs';
import { realpath } from 'node:fs/promises';
import type { IncomingMessage } from 'node:http';
import path from 'node:path';
import { Writable } from 'node:stream';
// pillarjs's `send` (express's file sender): Range, If-Range, conditional requests,
// content type, ETag/Last-Modified and root confinement, rather than our own copy of them.
import send from 'send';
import { ProxyError } from '../errors';
import { isBodilessStatus } from '../http/fields';
import type { ResponseSource, SourceListener } from '../relay/source';
import type { SendfileRoot } from './rules';

/** Statuses `send` reports as errors that are ordinary answers to a conditional or range request. */
const ANSWERS = new Set([412, 416]);

/**
 * An X-Sendfile instruction served through `send`, as a response source. `send` writes
 * into a small ServerResponse-shaped Writable (status, headers, body with backpressure)
 * rather than the real response, so the head goes through the transfer's header policy,
 * hooks, throttle, idle timer and sink like any upstream response.
 */
export class FileSource extends Writable implements ResponseSource {
  statusCode = 200;
  readonly headersSent = false;
  #headers = new Map<string, string | string[]>();
  #started = false;
  #stream: ReadStream | undefined;
  #paused = false;
  /** What `send` waits on while paused: the next step after a head or a chunk. */
  #pending: (() => void) | undefined;
  #done = false;

  constructor(
    private readonly listener: SourceListener,
    private readonly req: IncomingMessage,
    private readonly file: string,
    private readonly root: SendfileRoot,
  ) {
    super();
    // send pipes into us and listens to our errors; ours are reported through the listener.
    this.on('error', () => {});
  }

  describe(): string {
    return `${this.req.method === 'HEAD' ? 'HEAD' : 'GET'} file://${this.file}`;
  }

  /** Resolves symlinks, checks the file stays inside its root, then hands it to `send`. */
  start(): void {
    realpath(this.file).then(
      (real) => this.#send(real),
      (err: NodeJS.ErrnoException) => this.#fail(fileError(err, this.file)),
    );
  }

  pause(): void {
    this.#paused = true;
  }

  resume(): void {
    this.#paused = false;
    const pending = this.#pending;
    this.#pending = undefined;
    pending?.();
  }

  /** Stops reading and closes the file; nothing more reaches the listener. */
  abort(): void {
    this.#done = true;
    this.#pending = undefined;
    this.#stream?.destroy();
    this.destroy();
  }

  #send(real: string): void {
    if (this.#done) return;
    if (real !== this.root.real && !real.startsWith(this.root.real + path.sep)) {
      return this.#fail(
        new ProxyError('HANDOFF_OFFLOAD_FORBIDDEN', `X-Sendfile ${this.file} resolves to ${real}, outside its root ${this.root.path}`),
      );
    }
    // send takes a URL path: encode each segment so names with '%' or '?' stay names.
    const relative = real.slice(this.root.real.length).split(path.sep).map(encodeURIComponent).join('/');
    const stream = send(this.req, relative, {
      root: this.root.real,
      dotfiles: 'deny',
      index: false,
      // No invented caching policy: the app's Cache-Control is kept if it set one.
      cacheControl: false,
    });
    stream.on('error', (err: NodeJS.ErrnoException & { status?: number; headers?: Record<string, string> }) => this.#sendError(err));
    stream.on('directory', () => this.#fail(new ProxyError('HANDOFF_OFFLOAD_NOT_FOUND', `X-Sendfile ${this.file} is a directory`)));
    stream.on('stream', (file: ReadStream) => {
      this.#stream = file;
      if (this.#done) file.destroy();
    });
    stream.pipe(this);
  }

  #sendError(err: NodeJS.ErrnoException & { status?: number; headers?: Record<string, string> }): void {
    if (this.#done) return;
    const status = err.status ?? 500;
    if (!this.#started && ANSWERS.has(status)) {
      const headers: Record<string, string> = {};
      for (const [name, value] of Object.entries(err.headers ?? {})) headers[name.toLowerCase()] = value;
      return this.#head(status, headers, 0, () => this.#finish());
    }
    this.#fail(err.code ? fileError(err, this.file) : statusError(status, this.file, err));
  }

  #fail(err: ProxyError): void {
    if (this.#done) return;
    this.abort();
    this.listener.onResponseError(this, err);
  }

  /** Then goes on with `next` at once, or once the listener resumes. */
  #then(next: () => void): void {
    if (this.#done) return;
    if (this.#paused) this.#pending = next;
    else next();
  }

  /** Hands the head over, then goes on with `next`. */
  #head(status: number, headers: Record<string, string | string[]>, length: number | null, next: () => void): void {
    this.#started = true;
    const head = this.req.method === 'HEAD';
    this.listener.onResponseStart(this, {
      status,
      headers,
      length,
      hasBody: !head && !isBodilessStatus(status),
      headOnly: false,
      rateLimit: undefined,
    });
    this.#then(next);
  }

  /** The head `send` has set on this stand-in response. */
  #headFromSend(next: () => void): void {
    const headers: Record<string, string | string[]> = {};
    for (const [name, value] of this.#headers) headers[name] = value;
    const length = headers['content-length'] === undefined ? null : Number(headers['content-length']);
    this.#head(this.statusCode, headers, length, next);
  }

  #data(chunk: Buffer, callback: () => void): void {
    if (this.#done) return callback();
    this.listener.onResponseData(this, chunk);
    this.#then(callback);
  }

  #finish(callback?: () => void): void {
    if (!this.#done) {
      this.#done = true;
      this.listener.onResponseEnd(this);
    }
    callback?.();
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    if (this.#done) return callback();
    if (this.#started) return this.#data(chunk, callback);
    this.#headFromSend(() => this.#data(chunk, callback));
  }

  override _final(callback: (error?: Error | null) => void): void {
    if (this.#done || this.#started) return this.#finish(callback);
    this.#headFromSend(() => this.#finish(callback));
  }

  // The ServerResponse methods `send` uses.

  setHeader(name: string, value: number | string | readonly string[]): this {
    this.#headers.set(name.toLowerCase(), typeof value === 'number' ? String(value) : (value as string | string[]));
    return this;
  }

  getHeader(name: string): string | string[] | undefined {
    return this.#headers.get(name.toLowerCase());
  }

  hasHeader(name: string): boolean {
    return this.#headers.has(name.toLowerCase());
  }

  removeHeader(name: string): void {
    this.#headers.delete(name.toLowerCase());
  }

  getHeaderNames(): string[] {
    return [...this.#headers.keys()];
  }
}

function fileError(err: NodeJS.ErrnoException, file: string): ProxyError {
  switch (err.code) {
    case 'ENOENT':
    case 'ENOTDIR':
    case 'ENAMETOOLONG':
      return new ProxyError('HANDOFF_OFFLOAD_NOT_FOUND', `X-Sendfile ${file} does not exist`, { cause: err });
    case 'EACCES':
    case 'EPERM':
      return new ProxyError('HANDOFF_OFFLOAD_FORBIDDEN', `X-Sendfile ${file} may not be read (${err.code})`, { cause: err });
    case 'EMFILE':
    case 'ENFILE':
      return new ProxyError('HANDOFF_RESOURCES_EXHAUSTED', `Out of file descriptors (${err.code}) for X-Sendfile ${file}`, { cause: err });
    default:
      return new ProxyError('HANDOFF_OFFLOAD_FILE_ERROR', `X-Sendfile ${file} could not be read (${err.code ?? err.message})`, { cause: err });
  }
}

function statusError(status: number, file: string, cause: unknown): ProxyError {
  if (status === 404) return new ProxyError('HANDOFF_OFFLOAD_NOT_FOUND', `X-Sendfile ${file} was not found`, { cause });
  if (status === 403) return new ProxyError('HANDOFF_OFFLOAD_FORBIDDEN', `X-Sendfile ${file} was refused (a dotfile or a path outside its root)`, { cause });
  return new ProxyError('HANDOFF_OFFLOAD_FILE_ERROR', `X-Sendfile ${file} could not be served (status ${status})`, { cause });
}
