// RELIABILITY J44: a 304 may carry the Content-Length of the representation it validates
// (RFC 9110 §8.6) and has no body. undici 7 counted that length against the absent body and
// failed the response: a 502 HANDOFF_INVALID_RESPONSE, with or without the cache.
import { request } from '../helpers/client';
import { response, scriptedUpstream, type ScriptedUpstream, type Step } from '../faults/scripted-upstream';
import { MODES } from '../helpers/modes';
import { passThrough, type EngineGateway } from '../helpers/engine-gateway';

const NOT_MODIFIED = 'HTTP/1.1 304 Not Modified\r\nETag: "v1"\r\nContent-Length: 5\r\nCache-Control: no-cache\r\n\r\n';

describe('a 304 Not Modified carrying Content-Length', () => {
  let origin: ScriptedUpstream;
  let proxy: EngineGateway;

  afterEach(async () => {
    await proxy.close();
    await origin.close();
  });

  async function through(script: Step[] | ((n: number) => Step[]), options = {}) {
    origin = await scriptedUpstream(script);
    proxy = await passThrough(origin.url, options);
  }

  it.each(MODES)('is relayed as a 304 without a body (%s mode), and the next request on the connection is answered', async (mode) => {
    origin = await scriptedUpstream((n) => (n === 0 ? [{ request: true }, { send: NOT_MODIFIED }, { hang: true }] : [{ request: true }, { send: response('200 OK', [], 'next') }, { hang: true }]));
    proxy = await passThrough(origin.url, {}, { mode, forwardHeaders: ['if-none-match'] });
    const agentless = await request(proxy.url, { path: '/x', headers: { 'if-none-match': '"v1"' }, timeout: 5_000 });
    expect(agentless.status).toBe(304);
    expect(agentless.body.length).toBe(0);
    expect(agentless.headers.etag).toBe('"v1"');
    expect((await proxy.handles[0]!.done).error).toBeUndefined();
    // The upstream connection that carried it is not reused half-read: the next request is answered on a new one.
    const next = await request(proxy.url, { path: '/next', timeout: 5_000 });
    expect([next.status, next.body.toString()]).toEqual([200, 'next']);
  });

  it('freshens a stored response through the cache: the stored 200 is served, REVALIDATED', async () => {
    await through(
      (n) =>
        n === 0
          ? [{ request: true }, { send: response('200 OK', ['ETag: "v1"', 'Cache-Control: no-cache'], 'hello') }, { request: true }, { send: NOT_MODIFIED }, { hang: true }]
          : [{ request: true }, { send: NOT_MODIFIED }, { hang: true }],
      { cache: true },
    );
    const first = await request(proxy.url, { path: '/r' });
    expect([first.status, first.body.toString(), first.headers['x-cache']]).toEqual([200, 'hello', 'MISS']);
    const second = await request(proxy.url, { path: '/r', timeout: 5_000 });
    expect([second.status, second.body.toString(), second.headers['x-cache']]).toEqual([200, 'hello', 'REVALIDATED']);
    expect(origin.requests[1]).toMatch(/if-none-match: "v1"/i);
    expect((await proxy.handles[1]!.done).error).toBeUndefined();
  });
});
