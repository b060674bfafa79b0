import type { ConcurrencyGate } from '../gate/admission';
import type { UpstreamContext } from '../upstream/context';
import type { BufferBudget } from '../upstream/request-buffer';

/** What a transfer needs from the proxy that runs it; `T` is the transfer (transfer.ts), handed back once settled. */
export interface TransferHost<T = unknown> extends UpstreamContext, BufferBudget {
  readonly gate: ConcurrencyGate;
  readonly closing: boolean;
  settled(transfer: T): void;
}
