import type { ProxyHandle, ProxyOutcome } from '../types';
import type { Transfer } from './transfer';

/** What `proxy.fetch()` returns: the outcome and an abort, and nothing of the transfer's insides. */
export class TransferHandle implements ProxyHandle {
  readonly #transfer: Transfer;

  constructor(transfer: Transfer) {
    this.#transfer = transfer;
  }

  get done(): Promise<ProxyOutcome> {
    return this.#transfer.done;
  }

  get outcome(): ProxyOutcome | undefined {
    return this.#transfer.outcome;
  }

  abort(reason?: string): void {
    this.#transfer.abort(reason);
  }
}
