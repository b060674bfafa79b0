// Only a failing store is reported as one (`HANDOFF_CACHE_STORE` through cache.onError).
// An upstream that breaks the response while it is being stored — a status that is not a
// final one, an unknown transfer coding, a body shorter than its length, a client that
// leaves mid-body — used to be reported as "Cache store write failed … proxying uncached
// until it recovers", and turned the store to failing (no coalescing) until the next write.
import { request } from '../helpers/client';
import { response, scriptedUpstream, type ScriptedUpstream, type Step } from '../faults/scripted-upstream';
import { engineGateway, type EngineGateway } from '../helpers/engine-gateway';
import type { ProxyError } from '@handoff/core';
import { storeRows } from './helpers';

const CACHEABLE = 'Cache-Control: max-age=60';

describe.each(storeRows())('store failures are only the store’s (%s store)', (_name, store) => {
  let origin: ScriptedUpstream;
  let gw: EngineGateway;
  let storeErrors: ProxyError[];

  async function start(first: Step[]): Promise<void> {
    // The first connection misbehaves; every later one answers a storable 200.
    origin = await scriptedUpstream((n) => (n === 0 ? first : [{ request: true }, { send: response('200 OK', [CACHEABLE], 'good') }, { hang: true }]));
    storeErrors = [];
    gw = await engineGateway((call) => call.fetch(origin.url + call.url), { cache: { ...store.cache(), onError: (err) => storeErrors.push(err) } });
    await gw.proxy.ready();
  }

  afterEach(async () => {
    await gw.close();
    await origin.close();
    await store.cleanup();
  });

  /** Nothing half-written was stored, nothing was reported, and the store is not taken for failing. */
  async function expectNothingStoredNorReported(): Promise<void> {
    await gw.handles[0]!.done;
    const next = await request(gw.url, { path: '/x' });
    expect([next.status, next.body.toString(), next.headers['x-cache']]).toEqual([200, 'good', 'MISS']);
    expect(storeErrors).toEqual([]);
    expect(gw.proxy.stats.cache!.storeOutages).toBe(0);
  }

  it.each([
    ['a status that is not a final one', [{ request: true }, { send: response('999 Not Generated', [CACHEABLE], 'odd') }, { hang: true }]],
    ['an unknown transfer coding', [{ request: true }, { send: `HTTP/1.1 200 OK\r\n${CACHEABLE}\r\nTransfer-Encoding: bogus\r\n\r\nraw` }, { end: true }]],
  ] as Array<[string, Step[]]>)('%s: 502, nothing stored, no store error', async (_what, first) => {
    await start(first);
    const reply = await request(gw.url, { path: '/x' });
    expect(reply.status).toBe(502);
    await expectNothingStoredNorReported();
  });

  it('a body shorter than its Content-Length: the client sees the cut, nothing stored, no store error', async () => {
    await start([{ request: true }, { send: `HTTP/1.1 200 OK\r\n${CACHEABLE}\r\nContent-Length: 100\r\n\r\nshort` }, { end: true }]);
    await expect(request(gw.url, { path: '/x' })).rejects.toThrow();
    await expectNothingStoredNorReported();
  });

  it('a client leaving mid-body: nothing stored, no store error', async () => {
    await start([{ request: true }, { send: `HTTP/1.1 200 OK\r\n${CACHEABLE}\r\nContent-Length: 100\r\n\r\npart` }, { hang: true }]);
    const { default: http } = await import('node:http');
    await new Promise<void>((resolve) => {
      const req = http.get(`${gw.url}/x`, { agent: false }, (res) => res.once('data', () => (req.destroy(), resolve())));
      req.on('error', () => {});
    });
    expect((await gw.handles[0]!.done).error?.code).toBe('HANDOFF_CLIENT_ABORTED');
    await expectNothingStoredNorReported();
  });
});
