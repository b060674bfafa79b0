import { STATUS_CODES, type IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import { isFieldValue } from '../http/syntax';
import { resetConnection, type Sink } from './sink';

const CRLF = '\r\n';
const LAST_CHUNK = '0\r\n\r\n';

/**
 * Full takeover of the client connection, like rack.hijack: the head and body are
 * written straight to the socket and the connection is closed afterwards.
 * The head must have been validated (checkResponseHead) before it reaches here:
 * Node's own header checks do not run on this path.
 */
export class SocketSink implements Sink {
  readonly keepsConnection = false;
  /** Socket mode is admitted only once its response owns the connection (transfer 'waiting'). */
  readonly queued = false;
  private readonly socket: Socket;
  private readonly http11: boolean;
  private chunked = false;
  /** An HTTP/1.0 client's body without a length ends where the connection does: a cut must be a reset. */
  private closeDelimited = false;
  private headWritten = false;

  get pending(): number {
    return this.socket.writableLength;
  }

  constructor(req: IncomingMessage) {
    this.socket = req.socket;
    this.http11 = req.httpVersionMajor === 1 && req.httpVersionMinor >= 1;
  }

  earlyHints(links: string[]): void {
    // Nothing unchecked reaches the raw socket: a value with CR, LF or NUL could forge a head.
    if (!this.http11 || this.headWritten || this.socket.destroyed || !links.every(isFieldValue)) return;
    let head = `HTTP/1.1 103 Early Hints${CRLF}`;
    for (const link of links) head += `link: ${link}${CRLF}`;
    this.socket.write(head + CRLF, 'latin1');
  }

  head(status: number, headers: Record<string, string | string[]>, contentLength: number | null, hasBody: boolean): void {
    this.headWritten = true;
    let head = `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Unknown'}${CRLF}`;
    for (const name in headers) {
      const value = headers[name]!;
      if (typeof value === 'string') head += `${name}: ${value}${CRLF}`;
      else for (const v of value) head += `${name}: ${v}${CRLF}`;
    }
    // A close-delimited body hides truncation; HTTP/1.0 clients leave no other choice.
    this.chunked = hasBody && contentLength === null && this.http11;
    this.closeDelimited = hasBody && contentLength === null && !this.http11;
    if (this.chunked) head += `transfer-encoding: chunked${CRLF}`;
    head += `connection: close${CRLF}${CRLF}`;
    // Corked until the next tick, so body bytes parsed in the same tick go out in one write.
    this.socket.cork();
    this.socket.write(head, 'latin1');
    process.nextTick(uncork, this.socket);
  }

  write(chunk: Uint8Array): boolean {
    const socket = this.socket;
    if (!this.chunked) return socket.write(chunk);
    socket.cork();
    socket.write(chunk.byteLength.toString(16) + CRLF, 'latin1');
    socket.write(chunk);
    const ok = socket.write(CRLF, 'latin1');
    socket.uncork();
    return ok;
  }

  onDrain(listener: () => void): void {
    this.socket.on('drain', listener);
  }

  offDrain(listener: () => void): void {
    this.socket.off('drain', listener);
  }

  end(done: () => void): void {
    if (this.chunked) this.socket.end(LAST_CHUNK, 'latin1', done);
    else this.socket.end(done);
  }

  abort(): void {
    if (!this.closeDelimited || !resetConnection(this.socket)) this.socket.destroy();
  }
}

function uncork(socket: Socket): void {
  socket.uncork();
}
