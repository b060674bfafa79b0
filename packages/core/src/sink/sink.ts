import type { Socket } from 'node:net';

/** Where a transfer writes the client response: through ServerResponse or onto the raw socket. */
export interface Sink {
  /** Whether the connection outlives this response (keep-alive through ServerResponse); socket mode closes it. */
  readonly keepsConnection: boolean;
  /** Whether the response waits behind another on its connection (HTTP/1.1 pipelining): its writes are only buffered. */
  readonly queued: boolean;
  /** Bytes written and not yet handed to the OS. */
  readonly pending: number;
  /**
   * Writes a `103 Early Hints` with these `Link` values (validated: earlyHintLinks), before
   * the head and only then; skipped for an HTTP/1.0 client, which cannot read a 1xx, and
   * for a response waiting behind another. Hints are advisory: one not sent is no error.
   */
  earlyHints(links: string[]): void;
  /** Writes the status line and headers. `hasBody` is false for HEAD, 204 and 304. */
  head(status: number, headers: Record<string, string | string[]>, contentLength: number | null, hasBody: boolean): void;
  /** Writes body bytes; false asks the caller to wait for a 'drain'. */
  write(chunk: Uint8Array): boolean;
  /** Calls `listener` on every 'drain' until `offDrain`: one listener per transfer, not one per pause. */
  onDrain(listener: () => void): void;
  offDrain(listener: () => void): void;
  /** Ends the response cleanly; `done` runs once everything is handed to the OS. */
  end(done: () => void): void;
  /** Ends the connection without a clean end, so a truncated body never looks complete. */
  abort(): void;
}

/**
 * Ends a connection with a TCP reset: a close-delimited body cut by a clean close (FIN)
 * would look complete. False when this socket cannot be reset (TLS, already gone); the
 * caller then destroys it.
 */
export function resetConnection(socket: Socket | null): boolean {
  if (!socket || socket.destroyed) return false;
  try {
    socket.resetAndDestroy();
    return true;
  } catch {
    return false;
  }
}
