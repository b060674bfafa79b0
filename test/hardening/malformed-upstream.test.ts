// RELIABILITY.md group A: malformed upstream responses.
import { openResponse, readBody, request } from '../helpers/client';
import { engineGateway, type EngineGateway } from '../helpers/engine-gateway';
import { MODES } from '../helpers/modes';
import { until } from '../helpers/wait';
import { response, scriptedUpstream, type ScriptedUpstream, type Step } from '../faults/scripted-upstream';

const OK = response('200 OK', ['X-Ok: 1'], 'fine');

describe.each(MODES)('malformed upstream responses (%s mode)', (mode) => {
  let origin: ScriptedUpstream;
  let gw: EngineGateway;

  afterEach(async () => {
    await gw.close();
    await origin.close();
  });

  async function through(script: Step[] | ((n: number) => Step[]), options = {}) {
    origin = await scriptedUpstream(script);
    gw = await engineGateway(({ fetch, path, method }) => fetch(`${origin.url}${path}`, { mode, method, ...options }));
    return gw.handles;
  }

  it.each([
    ['Transfer-Encoding and Content-Length together', 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n5\r\nhello\r\n0\r\n\r\n'],
    ['differing Content-Length values', 'HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!'],
    ['Content-Length 1Z', 'HTTP/1.1 200 OK\r\nContent-Length: 1Z\r\n\r\nx'],
    ['Content-Length +1', 'HTTP/1.1 200 OK\r\nContent-Length: +1\r\n\r\nx'],
    ['Content-Length 0x10', 'HTTP/1.1 200 OK\r\nContent-Length: 0x10\r\n\r\nxxxxxxxxxxxxxxxx'],
    ['an empty Content-Length', 'HTTP/1.1 200 OK\r\nContent-Length: \r\n\r\nx'],
    ['Transfer-Encoding: chunked, chunked', 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, chunked\r\n\r\n1\r\nx\r\n0\r\n\r\n'],
    ['Transfer-Encoding: gzip alone', 'HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\nxxxx'],
    ['Transfer-Encoding: ,chunked', 'HTTP/1.1 200 OK\r\nTransfer-Encoding: ,chunked\r\n\r\n1\r\nx\r\n0\r\n\r\n'],
    ['a bad chunk size', 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nx\r\n0\r\n\r\n'],
    ['a bare LF in a header line', 'HTTP/1.1 200 OK\nX-A: 1\r\nContent-Length: 1\r\n\r\nx'],
    ['a bare CR in a header value', 'HTTP/1.1 200 OK\r\nX-A: 1\r2\r\nContent-Length: 1\r\n\r\nx'],
    ['an obs-fold header continuation', 'HTTP/1.1 200 OK\r\nX-A: 1\r\n  folded\r\nContent-Length: 1\r\n\r\nx'],
  ])('answers 502 for %s, relaying nothing of it and discarding the connection', async (_what, bytes) => {
    const handles = await through((n) => (n === 0 ? [{ request: true }, { send: bytes }, { hang: true }] : [{ request: true }, { send: OK }, { hang: true }]));
    const reply = await request(gw.url, { path: '/bad' });
    expect(reply.status).toBe(502);
    expect(reply.body.toString()).toBe('502 Bad Gateway\n');
    expect((await handles[0]!.done).error!.code).toMatch(/HANDOFF_INVALID_RESPONSE|HANDOFF_UPSTREAM_RESET/);
    // The poisoned connection is not reused: the next request gets a fresh one and a clean answer.
    const next = await request(gw.url, { path: '/next' });
    expect(next.status).toBe(200);
    expect(next.body.toString()).toBe('fine');
    // Connection 0 never answers a second request, so this reply proves a fresh connection.
    expect(origin.connections).toBeGreaterThanOrEqual(2);
  });

  it.each([
    ['204', 'HTTP/1.1 204 No Content\r\n\r\nSMUGGLED', 'GET'],
    ['304', 'HTTP/1.1 304 Not Modified\r\n\r\nSMUGGLED', 'GET'],
    ['HEAD', 'HTTP/1.1 200 OK\r\nContent-Length: 8\r\n\r\nSMUGGLED', 'HEAD'],
  ])('forwards no body on a %s response that carries one, and does not reuse that connection', async (_what, bytes, method) => {
    await through((n) => (n === 0 ? [{ request: true }, { send: bytes }, { hang: true }] : [{ request: true }, { send: OK }, { hang: true }]));
    const reply = await request(gw.url, { method, path: '/x' });
    expect(reply.body.length).toBe(0);
    const next = await request(gw.url, { path: '/next' });
    expect(next.status).toBe(200);
    expect(next.body.toString()).toBe('fine');
    expect(next.rawHeaders.join()).not.toContain('SMUGGLED');
  });

  it('relays no 1xx field but Link: 103 Early Hints keeps only its Link value, and the final response follows', async () => {
    await through([{ request: true }, { send: 'HTTP/1.1 103 Early Hints\r\nLink: </a.css>\r\nConnection: x-hop\r\nX-Hop: 1\r\n\r\n' }, { send: OK }, { hang: true }]);
    const interim: string[][] = [];
    const reply = await request(gw.url, { onInformation: (info) => interim.push(info.rawHeaders) });
    expect(interim).toEqual([[expect.stringMatching(/^link$/i), '</a.css>']]);
    expect(reply.status).toBe(200);
    expect(reply.headers.link).toBeUndefined();
    expect(reply.headers['x-hop']).toBeUndefined();
    expect(reply.body.toString()).toBe('fine');
  });

  it('refuses a 101 Switching Protocols the request never asked for, as an invalid response, sent once', async () => {
    const handles = await through([{ request: true }, { send: 'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n' }, { hang: true }]);
    const reply = await request(gw.url, { headers: { upgrade: 'websocket', connection: 'upgrade' } });
    expect(reply.status).toBe(502);
    // What happened is an answer nothing asked for, not a reset: it is not retried either.
    expect((await handles[0]!.done).error!.code).toBe('HANDOFF_INVALID_RESPONSE');
    expect(origin.requests).toHaveLength(1);
    expect(origin.requests[0]!.toLowerCase()).not.toContain('upgrade');
  });

  it('answers 502 for a huge header block, within bounded memory', async () => {
    const huge = `HTTP/1.1 200 OK\r\n${Array.from({ length: 2000 }, (_, i) => `X-Filler-${i}: ${'v'.repeat(40)}`).join('\r\n')}\r\nContent-Length: 1\r\n\r\nx`;
    const handles = await through([{ request: true }, { send: huge }, { hang: true }]);
    expect((await request(gw.url)).status).toBe(502);
    expect((await handles[0]!.done).error!.code).toBe('HANDOFF_INVALID_RESPONSE');
  });

  it('answers 504 within headersTimeout for a dribbled header block', async () => {
    const dribbled: Step[] = [{ request: true }];
    for (let i = 0; i < 200; i++) dribbled.push({ send: `X-Slow-${i}: v\r\n` }, { wait: 20 });
    const handles = await through([{ request: true }, { send: 'HTTP/1.1 200 OK\r\n' }, ...dribbled.slice(1)], { headersTimeout: 300 });
    expect((await request(gw.url)).status).toBe(504);
    expect((await handles[0]!.done).error!.code).toBe('HANDOFF_HEADERS_TIMEOUT');
  });

  it('does not relay trailers', async () => {
    await through([
      { request: true },
      { send: 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTrailer: X-Checksum\r\n\r\n4\r\nbody\r\n0\r\nX-Checksum: abc\r\n\r\n' },
      { hang: true },
    ]);
    const { res } = await openResponse(gw.url, { te: 'trailers' });
    const { body, complete } = await readBody(res);
    expect(complete).toBe(true);
    expect(body.toString()).toBe('body');
    expect(res.headers.trailer).toBeUndefined();
    expect(res.trailers).toEqual({});
  });

  it('never relays a framing field sent as a trailer: the response is cut instead', async () => {
    const handles = await through([
      { request: true },
      { send: 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nbody\r\n' },
      { wait: 20 },
      { send: '0\r\nContent-Length: 99\r\n\r\n' },
      { hang: true },
    ]);
    const { res } = await openResponse(gw.url, { te: 'trailers' });
    const { body, complete } = await readBody(res);
    expect(complete).toBe(false);
    expect(body.toString()).toBe('body');
    expect(res.trailers).toEqual({});
    expect((await handles[0]!.done).error!.code).toBe('HANDOFF_INVALID_RESPONSE');
  });

  it('strips hop-by-hop response headers, including every token Connection names, before onHeaders', async () => {
    const seen: string[] = [];
    await through(
      [
        { request: true },
        { send: response('200 OK', ['Connection: keep-alive, X-Internal', 'Connection: x-other', 'X-Internal: secret', 'X-Other: 2', 'Keep-Alive: timeout=5', 'Proxy-Authenticate: Basic', 'X-Kept: yes']) },
        { hang: true },
      ],
      { onHeaders: (res: { headers: Record<string, unknown> }) => void seen.push(...Object.keys(res.headers)) },
    );
    const reply = await request(gw.url);
    for (const name of ['x-internal', 'x-other', 'keep-alive', 'proxy-authenticate']) {
      expect(seen).not.toContain(name);
      expect(reply.headers[name]).toBeUndefined();
    }
    expect(reply.headers['x-kept']).toBe('yes');
  });

  it('relays every received byte and then cuts the client when the upstream dies mid-body', async () => {
    const handles = await through([{ request: true }, { send: 'HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n' }, { send: 'a'.repeat(300) }, { wait: 20 }, { reset: true }]);
    const { res } = await openResponse(gw.url);
    const { body, complete } = await readBody(res);
    expect(complete).toBe(false);
    expect(body.length).toBe(300);
    expect((await handles[0]!.done).error!.code).toBe('HANDOFF_UPSTREAM_TRUNCATED');
    await until(() => gw.proxy.stats.inFlight === 0 && gw.proxy.stats.upstreamSockets === 0, 'cleanup');
  });
});
