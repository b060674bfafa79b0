/**
 * - `admitting`: on the way to a slot (transfer/admission.ts: the body read ahead, the
 *   connection's turn in socket mode, the gate's queue);
 * - `awaitingHead`: holds a slot, the source is asked, no head yet (only the source retries, and only here);
 * - `headHook`: a head arrived and an async `onHeaders` runs; the source is paused;
 * - `headHookDone`: the same, but the source has ended meanwhile (a bodiless response) and gave its slot back;
 * - `streaming`: the head is out (or about to be) and the body flows;
 * - `ending`: the source ended and gave its slot back; the sink is finishing;
 * - `overflowing`: the gate was full and the call may overflow: the proxy's queue stores the request and answers the client;
 * - `failing`: failed, the error answer is being written;
 * - `settled`: everything released, `done` resolved.
 */
export type State =
  | 'admitting'
  | 'awaitingHead'
  | 'headHook'
  | 'headHookDone'
  | 'streaming'
  | 'ending'
  | 'overflowing'
  | 'failing'
  | 'settled';

/**
 * States that hold a slot of the gate: leaving one releases it, exactly once. The gate
 * bounds upstream transfers, so the slot goes as soon as the source has ended, not when
 * a slow client has read the rest from the proxy's buffers.
 */
export const HOLDS_SLOT: ReadonlySet<State> = new Set(['awaitingHead', 'headHook', 'streaming']);
