import type { ServerResponse } from 'node:http';
import { constants, type Http2Stream } from 'node:http2';
import { resetConnection, type Sink } from './sink';

/** Writes through ServerResponse: keep-alive and HTTP/2 keep working, Node frames the body. */
export class ResponseSink implements Sink {
  readonly keepsConnection = true;
  private wrote = false;
  /** The body ends only where the connection does (an HTTP/1.0 client, no length): a cut must be a reset. */
  private closeDelimited = false;

  constructor(private readonly res: ServerResponse) {}

  get pending(): number {
    return this.res.writableLength;
  }

  get queued(): boolean {
    // Node assigns a pipelined response its connection only once the ones before it are done.
    return this.res.socket == null;
  }

  earlyHints(links: string[]): void {
    const { res } = this;
    const { httpVersionMajor: major, httpVersionMinor: minor } = res.req;
    // Queued behind a pipelined response, Node would write the 103 after this response's final head.
    if (this.queued || res.headersSent || res.destroyed || major < 1 || (major === 1 && minor < 1)) return;
    try {
      // HTTP/1.1: Node writes the 103 head itself; HTTP/2: a HEADERS frame with :status 103.
      res.writeEarlyHints({ link: links });
    } catch {
      // A value this Node refuses (its check may be stricter than earlyHintLinks'): no hints.
    }
  }

  head(status: number, headers: Record<string, string | string[]>, contentLength: number | null, hasBody: boolean): void {
    const { httpVersionMajor: major, httpVersionMinor: minor } = this.res.req;
    this.closeDelimited = hasBody && contentLength === null && major === 1 && minor === 0;
    this.res.writeHead(status, headers);
    // Node holds the head until the first body write; a slow upstream body must not
    // hold it back. Body bytes parsed in the same tick still share the head's write.
    process.nextTick(flushHead, this);
  }

  write(chunk: Uint8Array): boolean {
    this.wrote = true;
    return this.res.write(chunk);
  }

  onDrain(listener: () => void): void {
    this.res.on('drain', listener);
  }

  offDrain(listener: () => void): void {
    this.res.off('drain', listener);
  }

  end(done: () => void): void {
    this.wrote = true;
    this.res.end(done);
  }

  abort(): void {
    // HTTP/2: a stream destroyed without an error is reset with NO_ERROR after the data,
    // which clients take for a complete response. INTERNAL_ERROR makes the cut visible.
    const stream = (this.res as { stream?: Http2Stream }).stream;
    if (stream) stream.close(constants.NGHTTP2_INTERNAL_ERROR);
    else if (!this.closeDelimited || !resetConnection(this.res.socket)) this.res.destroy();
  }

  flush(): void {
    if (!this.wrote && !this.res.destroyed) this.res.flushHeaders();
  }
}

function flushHead(sink: ResponseSink): void {
  sink.flush();
}
