import http from 'node:http';
import querystring from 'node:querystring';
import {
  createProxy,
  type HandoffProxy,
  type OffloadRequest,
  type OffloadResponse,
  type ProxyCallOptions,
  type ProxyHandle,
  type ProxyOptions,
} from '@handoff/core';
import { listen, type Running } from './servers';

/** One request as a route sees it: the raw pair, its target split as Koa splits it, and the proxy calls bound to it. */
export interface GatewayCall {
  req: http.IncomingMessage;
  res: http.ServerResponse;
  method: string;
  /** The request target as received. */
  url: string;
  /** The target up to its `?`. */
  path: string;
  /** `?` and the query string, or '' when there is none. */
  search: string;
  /** The query string parsed with node:querystring, as Koa's ctx.query is. */
  query: querystring.ParsedUrlQuery;
  proxy: HandoffProxy;
  /** proxy.fetch(req, res, url, options), with the handle recorded on the gateway. */
  fetch(url: string | URL, options?: ProxyCallOptions): ProxyHandle;
  /** proxy.offload(req, res, source, options), with the handle recorded on the gateway. */
  offload(source: OffloadRequest | OffloadResponse, options: Parameters<HandoffProxy['offload']>[3]): ProxyHandle;
}

export type Route = (call: GatewayCall) => unknown;

/** The request's method and target, the target split as Koa splits it. */
export function targetOf(req: http.IncomingMessage): Pick<GatewayCall, 'method' | 'url' | 'path' | 'search' | 'query'> {
  const url = req.url ?? '/';
  const mark = url.indexOf('?');
  const query = mark === -1 ? '' : url.slice(mark + 1);
  return {
    method: req.method ?? 'GET',
    url,
    path: mark === -1 ? url : url.slice(0, mark),
    search: query ? `?${query}` : '',
    query: querystring.parse(query),
  };
}

export interface EngineGateway extends Running {
  proxy: HandoffProxy;
  /** Handles of every transfer the route started, in order. */
  handles: ProxyHandle[];
  /** What a Koa app would emit: the outcome errors of the transfers and the errors the route threw, in order. */
  errors: Error[];
}

/**
 * createProxy(options) behind a node:http server on 127.0.0.1 port 0, with `route` handling
 * every request. A route that throws before the response started is answered as Koa
 * answers (the error's status, its status text as the body); one that neither proxies
 * nor answers gets Koa's 404.
 */
export async function engineGateway(route: Route, options?: ProxyOptions): Promise<EngineGateway> {
  const proxy = createProxy(options);
  const handles: ProxyHandle[] = [];
  const errors: Error[] = [];
  const record = (handle: ProxyHandle) => {
    handles.push(handle);
    void handle.done.then((outcome) => outcome.error && errors.push(outcome.error));
    return handle;
  };

  const server = http.createServer((req, res) => {
    let handedOff = false;
    const call: GatewayCall = {
      req,
      res,
      ...targetOf(req),
      proxy,
      fetch: (target, callOptions) => {
        const handle = proxy.fetch(req, res, target, callOptions);
        handedOff = true;
        return record(handle);
      },
      offload: (source, offloadOptions) => {
        const handle = proxy.offload(req, res, source, offloadOptions);
        handedOff = true;
        return record(handle);
      },
    };
    Promise.resolve()
      .then(() => route(call))
      .then(
        () => {
          if (!handedOff && !res.headersSent && !res.writableEnded) answer(res, 404, 'Not Found');
        },
        (err: Error & { status?: number; expose?: boolean }) => {
          errors.push(err);
          if (res.headersSent || res.writableEnded || res.socket?.writable === false) return;
          const status = typeof err.status === 'number' && http.STATUS_CODES[err.status] ? err.status : 500;
          for (const name of res.getHeaderNames()) res.removeHeader(name);
          answer(res, status, err.expose ? err.message : http.STATUS_CODES[status]!);
        },
      );
  });
  const running = await listen(server);
  return {
    ...running,
    proxy,
    handles,
    errors,
    close: async () => {
      await proxy.close({ timeout: 0 });
      await running.close();
    },
  };
}

function answer(res: http.ServerResponse, status: number, text: string): void {
  res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

/** An engine gateway that proxies every request to `origin` + its target, with `call`'s options. */
export function passThrough(origin: string, options: ProxyOptions = {}, call: ProxyCallOptions = {}): Promise<EngineGateway> {
  return engineGateway(({ fetch, url }) => fetch(`${origin}${url}`, call), options);
}
