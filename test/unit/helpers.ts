import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import type { Dispatcher } from 'undici';
import type { UpstreamRequest } from '../../packages/core/src/upstream/request';

export interface IncomingOptions {
  method?: string;
  /** The peer address the socket reports (`req.socket.remoteAddress`). */
  remoteAddress?: string;
  /** Whether the socket reports itself as TLS (`req.socket.encrypted`). */
  encrypted?: boolean;
}

/**
 * A client request as Node's server hands it over, without a connection: `headers`
 * (lower-case names, as Node parses them) and matching `rawHeaders`.
 */
export function incoming(headers: Record<string, string>, options: IncomingOptions = {}): http.IncomingMessage {
  const socket = new net.Socket();
  if (options.remoteAddress !== undefined) Object.defineProperty(socket, 'remoteAddress', { value: options.remoteAddress });
  if (options.encrypted) Object.defineProperty(socket, 'encrypted', { value: true });
  const req = new http.IncomingMessage(socket);
  req.method = options.method ?? 'GET';
  req.headers = { ...headers };
  req.rawHeaders = Object.entries(headers).flat();
  return req;
}

/** Never dispatched to: the functions under test only carry it along. */
export const NO_DISPATCHER = {} as Dispatcher;

/** An upstream request value with the given fields. */
export function upstreamRequest(fields: Partial<UpstreamRequest> & { url: URL }): UpstreamRequest {
  return {
    method: 'GET',
    headers: {},
    body: undefined,
    rawPath: undefined,
    dispatcher: NO_DISPATCHER,
    hops: 0,
    redirectedFrom: undefined,
    ...fields,
  };
}

/** A fresh directory under the OS temp dir; remove it with `removeDir` when done. */
export function tempDir(): string {
  return fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'handoff-unit-')));
}

export function removeDir(dir: string): void {
  fs.rmSync(dir, { recursive: true, force: true });
}

/** Runs `fn` and returns what it threw (failing the test if it did not throw). */
export function thrown(fn: () => unknown): Error & { code?: string; option?: string } {
  try {
    fn();
  } catch (err) {
    return err as Error & { code?: string; option?: string };
  }
  throw new Error('expected the call to throw');
}
