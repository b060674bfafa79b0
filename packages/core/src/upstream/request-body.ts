import type { IncomingMessage } from 'node:http';

export interface BodyGuard {
  /** ms without a byte from the client before the upload is given up; 0 disables. */
  idleTimeout: number;
  /** Most bytes accepted; 0 for no limit. */
  maxBytes: number;
  onIdle(): void;
  onTooLarge(): void;
}

/**
 * The client's request body as undici's request body, with the two limits a
 * streamed upload needs: an idle timeout against slow-body (slowloris) clients,
 * which undici's headers timeout does not cover while the body is being
 * written, and a size cap. On either, the owner fails the transfer (aborting
 * the upstream request, so nothing partial is left complete upstream) and the
 * stream ends here.
 */
export async function* guardedBody(req: IncomingMessage, guard: BodyGuard): AsyncGenerator<Buffer> {
  let bytes = 0;
  const timer = guard.idleTimeout > 0 ? setTimeout(guard.onIdle, guard.idleTimeout) : undefined;
  try {
    for await (const chunk of req as AsyncIterable<Buffer>) {
      timer?.refresh();
      bytes += chunk.length;
      if (guard.maxBytes > 0 && bytes > guard.maxBytes) {
        guard.onTooLarge();
        return;
      }
      yield chunk;
    }
  } finally {
    clearTimeout(timer);
  }
}
