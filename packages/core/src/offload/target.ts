import type { IncomingMessage } from 'node:http';
import { pathToFileURL } from 'node:url';
import { ProxyError, describeTarget, toProxyError } from '../errors';
import { buildTargetHeaders } from '../headers/request-headers';
import type { ResolvedProxyOptions } from '../options/resolve';
import type { Instruction } from './instruction';
import type { OffloadBody, OffloadStart } from './start';

type Headers = Record<string, string | string[]>;
/** An instruction fetched with a request (Offload-Url, X-Accel-Redirect), not served from a file. */
type FetchInstruction = Exclude<Instruction, { kind: 'sendfile' }>;

/** The URL an instruction leads to (a file: URL for X-Sendfile), for messages. */
export function targetUrl(instruction: Instruction): URL {
  return instruction.kind === 'sendfile' ? pathToFileURL(instruction.path) : instruction.url;
}

/** The target's method: a HEAD client gets the head of what a GET would have fetched (nginx does the same). */
export function targetMethod(instruction: Instruction, clientMethod: string | undefined): string {
  const head = clientMethod === 'HEAD';
  if (instruction.kind !== 'url') return head ? 'HEAD' : 'GET';
  return head && instruction.method === 'GET' ? 'HEAD' : instruction.method;
}

/** The target's request body: the forwarded one, when an Offload-Url asks for it. */
export function targetBody(offload: OffloadStart): OffloadBody | undefined {
  const { instruction } = offload;
  return instruction.kind === 'url' && instruction.forwardBody ? offload.body : undefined;
}

/** The target's request headers: the client's under the header policy, plus an Offload-Url's own and its forwarded body's. */
export function targetHeaders(
  instruction: FetchInstruction,
  offload: OffloadStart,
  req: IncomingMessage,
  options: ResolvedProxyOptions,
): Headers {
  if (instruction.kind === 'accel') return buildTargetHeaders(req, options, {});
  const extra = instruction.forwardBody ? { ...offload.bodyHeaders, ...instruction.headers } : instruction.headers;
  return buildTargetHeaders(req, options, extra);
}

/** Not a real target: the URL of a transfer whose instruction could not be read. */
const NO_TARGET = new URL('about:blank');

/** `GET http://target/path`, for messages about a transfer that starts from an instruction (`method`: the call's). */
export function describeStart(start: OffloadStart | ProxyError, method: string): string {
  if (start instanceof ProxyError) return describeTarget(method, NO_TARGET);
  const { instruction } = start;
  return describeTarget(instruction.kind === 'url' ? instruction.method : method, targetUrl(instruction));
}

/** An instruction error, with the request that carried it named. */
export function instructionError(err: unknown, target: string): ProxyError {
  const error = toProxyError(err, target, false);
  error.message += `: ${target}`;
  return error;
}
