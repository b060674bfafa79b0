import type { IncomingMessage } from 'node:http';
import type { Readable } from 'node:stream';
import { ProxyError, describeTarget, type FailureOwner } from '../errors';
import type { ResolvedCall } from '../options/resolve';
import type { Headers, ResponseSource } from '../relay/source';
import { policies, type UpstreamContext } from '../upstream/context';
import { UpstreamExchange, type ExchangeListener } from '../upstream/exchange';
import { DrainedBody, ForwardedBody, type BackendBody } from './backend-body';
import { FileSource } from './file-source';
import { keptHeaders, type Instruction } from './instruction';
import type { OffloadKind } from './rules';
import type { OffloadStart } from './start';
import { targetBody, targetHeaders, targetMethod } from './target';

/** What a transfer keeps of the offload it performs (one per transfer). */
export interface Offload {
  readonly kind: OffloadKind;
  /** ms from the call until the instruction arrived. */
  readonly instructionMs: number;
  /** Headers of the instruction's own response that go on the final one. */
  readonly kept: Headers | undefined;
  /** The rate the instruction's response asked for (X-Accel-Limit-Rate), if it did. */
  readonly rate: number | undefined;
  /** The rest of a backend's response, drained or forwarded, when the instruction came in one. */
  readonly backendBody: BackendBody | undefined;
}


/**
 * A backend's head carried an instruction: the rest of its body is handed to a drain (or,
 * with Offload-Forward-Body, becomes the target's request body), and what the instruction
 * asks for starts from here.
 */
export function fromBackend(
  backend: UpstreamExchange,
  instruction: Instruction,
  headers: Headers,
  length: number | null,
  rate: number | undefined,
  call: ResolvedCall,
  /** Failed when the forwarded body stalls or breaks. */
  owner: FailureOwner,
): { start: OffloadStart; body: BackendBody } {
  const bodyHeaders: Headers = {};
  let stream: Readable | undefined;
  let body: BackendBody;
  if (instruction.kind === 'url' && instruction.forwardBody) {
    const forwarded = new ForwardedBody(backend, {
      idleTimeout: call.bodyTimeout,
      onIdle: () =>
        owner.fail(
          new ProxyError('HANDOFF_BODY_TIMEOUT', `Upstream body being forwarded stalled for ${call.bodyTimeout} ms: ${owner.describe()}`),
        ),
      onError: (err) => owner.fail(err),
    });
    body = forwarded;
    stream = forwarded.stream;
    if (headers['content-type'] !== undefined) bodyHeaders['content-type'] = headers['content-type'];
    if (length !== null) bodyHeaders['content-length'] = String(length);
  } else {
    body = new DrainedBody(backend);
  }
  return { start: { instruction, kept: keptHeaders(headers, call.offload!), rate, body: stream, bodyHeaders }, body };
}

/**
 * The source an instruction leads to: the file of an X-Sendfile, or the request of an
 * Offload-Url or X-Accel-Redirect, checked against the proxy's allow-list (and an
 * Offload-Url's own), with its redirects re-checked against both. Throws a ProxyError
 * when the target may not be reached.
 */
export function targetSource(
  listener: ExchangeListener,
  context: UpstreamContext,
  req: IncomingMessage,
  call: ResolvedCall,
  start: OffloadStart,
): ResponseSource {
  const { instruction } = start;
  const rules = call.offload!;
  if (instruction.kind === 'sendfile') return new FileSource(listener, req, instruction.path, instruction.root);
  const { url } = instruction;
  const method = targetMethod(instruction, req.method);
  context.allow?.check(url, describeTarget(method, url));
  const targetAllow = instruction.kind === 'url' ? rules.allow : undefined;
  return new UpstreamExchange(
    listener,
    {
      url,
      method,
      headers: targetHeaders(instruction, start, req, context.options),
      body: targetBody(start),
      rawPath: undefined,
      dispatcher: instruction.kind === 'url' ? context.dispatcherFor(targetAllow) : context.dispatcher,
      hops: 0,
      redirectedFrom: undefined,
    },
    {
      headersTimeout: call.headersTimeout,
      connectTimeout: context.connectTimer(call),
      followRedirects: rules.followRedirects,
      allow: policies(context.allow, targetAllow),
      instructions: undefined,
      stripInstructions: true,
      cache: undefined,
      conditional: undefined,
    },
  );
}
