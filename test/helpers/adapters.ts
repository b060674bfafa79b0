import http from 'node:http';
import express from 'express';
import Fastify from 'fastify';
import Koa from 'koa';
import type { HandoffProxy, ProxyCallOptions, ProxyHandle, ProxyMode, ProxyOptions } from '@handoff/core';
import { handoff as expressHandoff } from '@handoff/express';
import { handoff as fastifyHandoff, passThroughBodies } from '@handoff/fastify';
import { handoff as koaHandoff } from '@handoff/koa';
import { engineGateway, targetOf, type EngineGateway, type GatewayCall } from './engine-gateway';
import { MODES } from './modes';
import { listen, upstream, type Running } from './servers';

/**
 * One request as a route sees it, whichever framework serves it: the raw pair, the target
 * split as Koa splits it, and `fetch` going through the framework's adapter
 * (`ctx.proxyFetch`, `res.proxyFetch`, `reply.proxyFetch`; the core's `proxy.fetch` for 'engine').
 */
export interface AdapterCall extends Omit<GatewayCall, 'fetch'> {
  fetch(url: string | URL, options?: ProxyCallOptions): Promise<ProxyHandle>;
}
export type AdapterRoute = (call: AdapterCall) => unknown;
export type AdapterGateway = (route: AdapterRoute, options?: ProxyOptions) => Promise<EngineGateway>;

export type AdapterName = 'engine' | 'koa' | 'express' | 'fastify';
export const ADAPTER_NAMES: AdapterName[] = ['engine', 'koa', 'express', 'fastify'];
/** Every adapter with every mode: suites that hold for both run `describe.each(ADAPTER_MODES)`. */
export const ADAPTER_MODES: [AdapterName, ProxyMode][] = ADAPTER_NAMES.flatMap((name) => MODES.map((mode): [AdapterName, ProxyMode] => [name, mode]));

/** A server for `route` through the named adapter, with the EngineGateway's handles and errors. */
export function gatewayFor(name: AdapterName): AdapterGateway {
  return GATEWAYS[name];
}

const GATEWAYS: Record<AdapterName, AdapterGateway> = {
  engine: (route, options) => engineGateway((call) => route({ ...call, fetch: async (url, o) => call.fetch(url, o) }), options),
  koa: koaGateway,
  express: expressGateway,
  fastify: fastifyGateway,
};

/** Records handles in call order and their outcome errors, as engineGateway does. */
function recorder(errors: Error[], handles: ProxyHandle[], recordErrors: boolean) {
  return async (started: Promise<ProxyHandle>): Promise<ProxyHandle> => {
    const index = handles.push(undefined as unknown as ProxyHandle) - 1;
    const handle = await started;
    handles[index] = handle;
    if (recordErrors) void handle.done.then((outcome) => outcome.error && errors.push(outcome.error));
    return handle;
  };
}

function callOf(req: http.IncomingMessage, res: http.ServerResponse, proxy: HandoffProxy, fetch: AdapterCall['fetch'], handles: ProxyHandle[]): AdapterCall {
  return {
    req,
    res,
    ...targetOf(req),
    proxy,
    fetch,
    offload: (source, options) => {
      const handle = proxy.offload(req, res, source, options);
      handles.push(handle);
      return handle;
    },
  };
}

/** Answers a thrown error as Koa does: its status, and its message only when exposed. */
function errorAnswer(err: Error & { status?: number; expose?: boolean }): { status: number; text: string } {
  const status = typeof err.status === 'number' && http.STATUS_CODES[err.status] ? err.status : 500;
  return { status, text: err.expose ? err.message : http.STATUS_CODES[status]! };
}

async function koaGateway(route: AdapterRoute, options?: ProxyOptions): Promise<EngineGateway> {
  const app = new Koa();
  const errors: Error[] = [];
  const handles: ProxyHandle[] = [];
  app.silent = true;
  // The adapter emits every transfer failure as an app error: those are recorded here.
  app.on('error', (err: Error) => errors.push(err));
  const middleware = koaHandoff(options);
  const record = recorder(errors, handles, false);
  app.use(middleware);
  app.use(async (ctx) => {
    await route(callOf(ctx.req, ctx.res, middleware.proxy, (url, o) => record(ctx.proxyFetch(url, o)), handles));
  });
  const running = await listen(http.createServer(app.callback()));
  return { ...running, proxy: middleware.proxy, handles, errors, close: closer(() => middleware.close({ timeout: 0 }), running.close) };
}

async function expressGateway(route: AdapterRoute, options?: ProxyOptions): Promise<EngineGateway> {
  const app = express();
  const errors: Error[] = [];
  const handles: ProxyHandle[] = [];
  const middleware = expressHandoff(options);
  const record = recorder(errors, handles, true);
  app.use(middleware);
  app.use(async (req, res) => {
    const before = handles.length;
    await route(callOf(req, res, middleware.proxy, (url, o) => record(res.proxyFetch(url, o)), handles));
    if (handles.length === before && !res.headersSent) res.status(404).type('text/plain').send('Not Found');
  });
  app.use((err: Error, _req: express.Request, res: express.Response, next: express.NextFunction) => {
    errors.push(err);
    if (res.headersSent) return next(err);
    const { status, text } = errorAnswer(err);
    res.status(status).type('text/plain').send(text);
  });
  const running = await listen(http.createServer(app));
  return { ...running, proxy: middleware.proxy, handles, errors, close: closer(() => middleware.close({ timeout: 0 }), running.close) };
}

async function fastifyGateway(route: AdapterRoute, options?: ProxyOptions): Promise<EngineGateway> {
  const app = Fastify({ logger: false });
  const errors: Error[] = [];
  const handles: ProxyHandle[] = [];
  const record = recorder(errors, handles, true);
  await app.register(fastifyHandoff, { ...options, closeTimeout: 0 });
  // The suite streams bodies of any content type with body: 'request'.
  passThroughBodies(app);
  app.setErrorHandler((err: Error, _request, reply) => {
    errors.push(err);
    const { status, text } = errorAnswer(err);
    return reply.code(status).type('text/plain; charset=utf-8').send(text);
  });
  app.all('/*', async (request, reply) => {
    const before = handles.length;
    const call = callOf(request.raw, reply.raw, app.handoff, (url, o) => record(reply.proxyFetch(url, o)), handles);
    const result = await route(call);
    if (handles.length === before && !reply.sent) return reply.code(404).type('text/plain; charset=utf-8').send('Not Found');
    return result;
  });
  await app.ready();
  const running = await listen(app.server);
  return { ...running, proxy: app.handoff, handles, errors, close: closer(() => app.handoff.close({ timeout: 0 }), async () => {
    await running.close();
    await app.close();
  }) };
}

/** What the origin of an adapter's own suite holds for the test that runs. */
export interface AdapterSuite {
  readonly origin: Running;
  /** Responses to `/hold`, left open after a first chunk; destroyed after the test. */
  readonly held: http.ServerResponse[];
  /** Every request the origin received. */
  readonly seen: http.IncomingMessage[];
  /** Run after the test, newest first, before the origin closes. */
  readonly closers: (() => Promise<void>)[];
}

/**
 * Starts an origin before each test of the calling suite, closed after it: it records every
 * request, answers text/plain, holds `/hold` open after a first chunk and lets `answer` end the rest.
 */
export function adapterSuite(answer: http.RequestListener): AdapterSuite {
  const suite = { origin: undefined as unknown as Running, held: [] as http.ServerResponse[], seen: [] as http.IncomingMessage[], closers: [] as (() => Promise<void>)[] };
  beforeEach(async () => {
    suite.held.length = 0;
    suite.seen.length = 0;
    suite.origin = await upstream((req, res) => {
      suite.seen.push(req);
      res.setHeader('content-type', 'text/plain');
      if (req.url === '/hold') {
        res.write('first ');
        return suite.held.push(res);
      }
      answer(req, res);
    });
  });
  afterEach(async () => {
    for (const res of suite.held) res.destroy();
    for (const close of suite.closers.splice(0).reverse()) await close();
    await suite.origin.close();
  });
  return suite;
}

function closer(first: () => Promise<unknown>, then: () => Promise<void>): () => Promise<void> {
  return async () => {
    await first();
    await then();
  };
}
