// RELIABILITY J43: an upstream's 100 the request did not ask for is consumed and the final
// response relayed. undici alone destroys the connection on any 100 ("bad response"): that
// was a 502 HANDOFF_UPSTREAM_RESET, and the GET was sent a second time as a "retry".
import { request } from '../helpers/client';
import { response, scriptedUpstream, type ScriptedUpstream, type Step } from '../faults/scripted-upstream';
import { passThrough, type EngineGateway } from '../helpers/engine-gateway';

const OK = response('200 OK', ['X-Ok: 1'], 'fine');

describe('an unsolicited 100 Continue before the final response', () => {
  let origin: ScriptedUpstream;
  let proxy: EngineGateway;

  afterEach(async () => {
    await proxy.close();
    await origin.close();
  });

  async function through(script: Step[], options = {}) {
    origin = await scriptedUpstream(script);
    proxy = await passThrough(origin.url, options);
  }

  it.each([
    ['a 100 Continue', 'HTTP/1.1 100 Continue\r\n\r\n', []],
    ['a 100 with fields', 'HTTP/1.1 100 Continue\r\nX-Interim: 1\r\n\r\n', []],
    ['two 100s', 'HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 100 Continue\r\n\r\n', []],
    // The 103 is relayed (early-hints.test.ts), the 100 before it never is.
    ['a 100 then a 103', 'HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a.css>\r\n\r\n', [103]],
  ])('is consumed: %s, then the 200 is relayed, and the request is sent once', async (_what, interim, relayed) => {
    await through([{ request: true }, { send: interim + OK }, { hang: true }]);
    const statuses: number[] = [];
    const reply = await request(proxy.url, { path: '/x', onInformation: (info) => statuses.push(info.statusCode) });
    expect(statuses).toEqual(relayed);
    expect(reply.status).toBe(200);
    expect(reply.body.toString()).toBe('fine');
    expect(reply.headers['x-interim']).toBeUndefined();
    expect(reply.headers.link).toBeUndefined();
    expect((await proxy.handles[0]!.done).error).toBeUndefined();
    expect(origin.requests).toHaveLength(1);
  });

  it('is consumed when it arrives one byte at a time, across every read', async () => {
    const dribbled: Step[] = [{ request: true }];
    for (const byte of 'HTTP/1.1 100 Continue\r\n\r\n') dribbled.push({ send: byte }, { wait: 2 });
    await through([...dribbled, { send: OK }, { hang: true }]);
    const reply = await request(proxy.url, { path: '/x' });
    expect([reply.status, reply.body.toString()]).toEqual([200, 'fine']);
    expect(origin.requests).toHaveLength(1);
  });

  it('is consumed on a reused keep-alive connection too', async () => {
    await through([{ request: true }, { send: OK }, { request: true }, { send: `HTTP/1.1 100 Continue\r\n\r\n${OK}` }, { hang: true }]);
    expect((await request(proxy.url, { path: '/a' })).body.toString()).toBe('fine');
    const second = await request(proxy.url, { path: '/b' });
    expect([second.status, second.body.toString()]).toEqual([200, 'fine']);
    expect(origin.connections).toBe(1);
    expect(origin.requests).toHaveLength(2);
  });

  it('leaves a final response alone, even when its body reads like a 100', async () => {
    const body = 'HTTP/1.1 100 Continue\r\n\r\n';
    await through([{ request: true }, { send: response('200 OK', [], body) }, { request: true }, { send: response('200 OK', [], body) }, { hang: true }]);
    expect((await request(proxy.url, { path: '/a' })).body.toString()).toBe(body);
    expect((await request(proxy.url, { path: '/b' })).body.toString()).toBe(body);
  });

  it('is consumed through the cache as well', async () => {
    await through([{ request: true }, { send: `HTTP/1.1 100 Continue\r\n\r\n${response('200 OK', ['Cache-Control: max-age=60'], 'cached')}` }, { hang: true }], {
      cache: true,
    });
    expect((await request(proxy.url, { path: '/c' })).body.toString()).toBe('cached');
    const hit = await request(proxy.url, { path: '/c' });
    expect([hit.body.toString(), hit.headers['x-cache']]).toEqual(['cached', 'HIT']);
    expect(origin.requests).toHaveLength(1);
  });
});
