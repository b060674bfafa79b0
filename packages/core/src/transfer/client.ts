import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';

/** What a transfer hears about its client. */
export interface ClientOwner {
  /** The client's connection closed (or its response failed) before the transfer settled. */
  clientGone(): void;
  /** The call's signal was aborted. */
  signalAborted(): void;
  /** A response queued behind another on its connection has become the connection's current one. */
  responseCurrent(): void;
}

/**
 * The client side's events for one transfer: the response's close and error, the call's
 * signal, and, for a pipelined HTTP/1.1 request whose response waits behind another on the
 * same connection, the moment it becomes the current one. Node assigns the connection to
 * such a response only then (`res.socket` is null until its 'socket' event), and if the
 * connection closes first, the waiting response emits no 'close': its connection's does.
 */
export class ClientWatch {
  #socket: Socket | undefined;
  // Made only when needed: most calls have no signal, and most responses own their connection.
  #onSignal: (() => void) | undefined;
  #onCurrent: (() => void) | undefined;

  constructor(
    private readonly owner: ClientOwner,
    private readonly req: IncomingMessage,
    private readonly res: ServerResponse,
    private readonly signal: AbortSignal | undefined,
  ) {
    res.once('close', this.#onGone);
    res.on('error', this.#onGone);
    if (signal) {
      this.#onSignal = () => owner.signalAborted();
      signal.addEventListener('abort', this.#onSignal, { once: true });
    }
    if (!this.current) {
      this.#socket = req.socket;
      this.#socket?.once('close', this.#onGone);
      this.#onCurrent = () => {
        this.#unwatchConnection();
        owner.responseCurrent();
      };
      res.once('socket', this.#onCurrent);
    }
  }

  /** Whether the response owns its connection now (always over HTTP/2, whose streams are not queued). */
  get current(): boolean {
    return this.res.socket != null || this.req.httpVersionMajor !== 1;
  }

  get signalAborted(): boolean {
    return this.signal?.aborted === true;
  }

  stop(): void {
    this.res.off('close', this.#onGone);
    this.res.off('error', this.#onGone);
    if (this.#onSignal) this.signal!.removeEventListener('abort', this.#onSignal);
    this.#unwatchConnection();
  }

  #unwatchConnection(): void {
    if (!this.#socket) return;
    this.#socket.off('close', this.#onGone);
    this.res.off('socket', this.#onCurrent!);
    this.#socket = undefined;
  }

  readonly #onGone = (): void => this.owner.clientGone();
}
