import type http from 'node:http';
import type { ProxyHandle } from '@handoff/koa';
import { openResponse, readBody } from './helpers/client';
import { gateway, type Gateway } from './helpers/koa-gateway';
import { upstream, type Running } from './helpers/servers';
import { until } from './helpers/wait';

describe('handing the response off', () => {
  let origin: Running;
  let proxy: Gateway;
  let held: http.ServerResponse[];

  beforeEach(async () => {
    held = [];
    origin = await upstream((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.write('first ');
      held.push(res);
    });
  });

  afterEach(async () => {
    for (const res of held) res.destroy();
    await proxy.close();
    await origin.close();
  });

  it('resolves proxyFetch and unwinds the middleware chain while the body is still flowing', async () => {
    const events: string[] = [];
    let handle: ProxyHandle | undefined;
    proxy = await gateway(
      async (ctx) => {
        handle = await ctx.proxyFetch(`${origin.url}/r`);
        events.push(`route resumed, done settled: ${handle.outcome !== undefined}`);
      },
      {},
      (app) =>
        app.use(async (ctx, next) => {
          await next();
          events.push(`logger unwound, respond=${String(ctx.respond)}`);
          void ctx.state.handoff!.done.then((o) => events.push(`logged outcome ${o.status} ${o.bytes}`));
        }),
    );
    const { res } = await openResponse(proxy.url);
    const body = readBody(res);
    await until(() => events.length === 2, 'middleware chain unwound');
    expect(events).toEqual(['route resumed, done settled: false', 'logger unwound, respond=false']);

    held[0]!.end('second');
    expect((await body).body.toString()).toBe('first second');
    const outcome = await handle!.done;
    expect(outcome).toMatchObject({ status: 200, bytes: 12 });
    expect(outcome.error).toBeUndefined();
    expect(outcome.durationMs).toBeGreaterThan(0);
    await until(() => events.length === 3, 'outcome logged');
    expect(events[2]).toBe('logged outcome 200 12');
    expect(handle!.outcome).toBe(outcome);
  });

  it('calls onComplete with the outcome, and handle.abort() cuts a transfer visibly', async () => {
    const completed: unknown[] = [];
    let handle: ProxyHandle | undefined;
    proxy = await gateway(async (ctx) => {
      handle = await ctx.proxyFetch(`${origin.url}/r`, { onComplete: (info) => completed.push(info) });
    });
    const { res } = await openResponse(proxy.url);
    const body = readBody(res);
    await until(() => handle !== undefined && held.length === 1, 'transfer running');
    handle!.abort();
    expect((await body).complete).toBe(false);
    const outcome = await handle!.done;
    expect(outcome.error!.code).toBe('HANDOFF_ABORTED');
    expect(completed).toEqual([outcome]);
    expect(proxy.errors).toEqual([outcome.error]);
  });

  it('answers 503 when the call is aborted by its signal before the upstream answered', async () => {
    const controller = new AbortController();
    const silent = await upstream(() => controller.abort());
    try {
      let handle: ProxyHandle | undefined;
      proxy = await gateway(async (ctx) => {
        handle = await ctx.proxyFetch(`${silent.url}/`, { signal: controller.signal });
      });
      const { res } = await openResponse(proxy.url);
      expect(res.statusCode).toBe(503);
      expect(res.headers['retry-after']).toBe('1');
      expect((await handle!.done).error!.code).toBe('HANDOFF_ABORTED');
    } finally {
      await silent.close();
    }
  });

  it('rejects bad arguments before taking the response, so Koa answers them as usual', async () => {
    const failures: string[] = [];
    proxy = await gateway(async (ctx) => {
      try {
        await ctx.proxyFetch('ftp://files.internal/x');
      } catch (err) {
        failures.push((err as Error).message);
        ctx.status = 400;
        ctx.body = 'bad target';
      }
    });
    const { res } = await openResponse(proxy.url);
    expect(res.statusCode).toBe(400);
    expect((await readBody(res)).body.toString()).toBe('bad target');
    expect(failures).toEqual(['Upstream URL must be http: or https:, got ftp:']);
  });
});
