// RELIABILITY.md group E, case 28: redirects are off by default; when followed, every
// hop is re-checked against `allow` and credentials stay behind when the origin changes.
import type http from 'node:http';
import { Agent, buildConnector } from 'undici';
import type { ProxyCallOptions, ProxyOptions } from '@handoff/core';
import { request } from '../helpers/client';
import { engineGateway, type EngineGateway } from '../helpers/engine-gateway';
import { recordingUpstream, type RecordingUpstream, type SeenRequest } from '../helpers/recording-upstream';
import { until } from '../helpers/wait';

type Routes = Record<string, (seen: SeenRequest, res: http.ServerResponse) => void>;

/** An upstream answering by path; any other path is a 404 the test would notice. */
function byPath(routes: Routes) {
  return (seen: SeenRequest, res: http.ServerResponse) => {
    const handler = routes[seen.url];
    if (handler) handler(seen, res);
    else res.writeHead(404).end('no such path');
  };
}

function redirect(status: number, location: string) {
  return (_seen: SeenRequest, res: http.ServerResponse) => res.writeHead(status, { location }).end('moved');
}

function body(text: string) {
  return (_seen: SeenRequest, res: http.ServerResponse) => res.end(text);
}

let gw: EngineGateway | undefined;
let a: RecordingUpstream | undefined;
let b: RecordingUpstream | undefined;
let agent: Agent | undefined;

afterEach(async () => {
  await gw?.close();
  await a?.close();
  await b?.close();
  await agent?.close();
  gw = a = b = agent = undefined;
});

/** A gateway proxying every request path to origin `a`. */
async function through(options: ProxyOptions = {}, call: ProxyCallOptions = {}) {
  gw = await engineGateway(({ fetch, path, method }) => fetch(`${a!.url}${path}`, { method, ...call }), options);
  return gw.handles;
}

const paths = (upstream: RecordingUpstream) => upstream.requests.map((r) => `${r.method} ${r.url}`);

describe('redirects by default', () => {
  it('relays a 302 as is (status and Location) without following it', async () => {
    b = await recordingUpstream(body('landing'));
    a = await recordingUpstream(byPath({ '/start': redirect(302, `${b.url}/landing`) }));
    const handles = await through();
    const reply = await request(gw!.url, { path: '/start' });
    expect(reply.status).toBe(302);
    expect(reply.headers.location).toBe(`${b.url}/landing`);
    expect(reply.body.toString()).toBe('moved');
    expect((await handles[0]!.done).error).toBeUndefined();
    expect(b.connections).toBe(0);
  });
});

describe('followRedirects: 3', () => {
  const FOLLOW = { followRedirects: 3 };

  it('follows a chain of 2 redirects (same origin, then another origin) and relays the final response', async () => {
    b = await recordingUpstream(byPath({ '/three': body('final body') }));
    a = await recordingUpstream(byPath({ '/one': redirect(302, '/two'), '/two': redirect(301, `${b.url}/three`) }));
    const handles = await through(FOLLOW);
    const reply = await request(gw!.url, { path: '/one' });
    expect(reply.status).toBe(200);
    expect(reply.body.toString()).toBe('final body');
    expect(reply.headers.location).toBeUndefined();
    expect(paths(a)).toEqual(['GET /one', 'GET /two']);
    expect(paths(b)).toEqual(['GET /three']);
    const outcome = await handles[0]!.done;
    expect(outcome.error).toBeUndefined();
    expect(outcome.status).toBe(200);
    expect(outcome.bytes).toBe('final body'.length);
  });

  it('ends a followed chain with nothing in flight and no upstream socket open, cutting redirect bodies that never end', async () => {
    // Each redirect announces a body it never finishes: only destroying its connection frees it.
    const unfinished = (location: string) => (_seen: SeenRequest, res: http.ServerResponse) => {
      res.writeHead(302, { location, 'content-length': '1000' });
      res.write('partial');
    };
    b = await recordingUpstream((_seen, res) => res.writeHead(200, { connection: 'close' }).end('final body'));
    a = await recordingUpstream(byPath({ '/one': unfinished('/two'), '/two': unfinished(`${b.url}/three`) }));
    const handles = await through(FOLLOW);
    const reply = await request(gw!.url, { path: '/one' });
    expect(reply.status).toBe(200);
    expect(reply.body.toString()).toBe('final body');
    expect((await handles[0]!.done).error).toBeUndefined();
    const stats = () => gw!.proxy.stats;
    await until(() => stats().inFlight === 0 && stats().upstreamSockets === 0, 'slot and upstream sockets released');
    await until(() => a!.open === 0 && b!.open === 0, 'upstream connections closed');
    expect(stats().queued).toBe(0);
  });

  it('keeps a per-call authorization and cookie on a same-origin hop', async () => {
    a = await recordingUpstream(byPath({ '/a': redirect(302, '/b'), '/b': body('ok') }));
    await through(FOLLOW, { headers: { authorization: 'Bearer secret', cookie: 'session=1' } });
    const reply = await request(gw!.url, { path: '/a' });
    expect(reply.status).toBe(200);
    expect(paths(a)).toEqual(['GET /a', 'GET /b']);
    for (const seen of a.requests) {
      expect(seen.headers.authorization).toBe('Bearer secret');
      expect(seen.headers.cookie).toBe('session=1');
    }
  });

  it('drops authorization and cookie on a cross-origin hop, keeping the other headers', async () => {
    b = await recordingUpstream(byPath({ '/b': body('ok from b') }));
    a = await recordingUpstream(byPath({ '/a': redirect(302, `${b.url}/b`) }));
    await through(FOLLOW, { headers: { authorization: 'Bearer secret', cookie: 'session=1', 'x-trace': 't-1' } });
    const reply = await request(gw!.url, { path: '/a' });
    expect(reply.status).toBe(200);
    expect(reply.body.toString()).toBe('ok from b');
    expect(a.requests[0]!.headers).toMatchObject({ authorization: 'Bearer secret', cookie: 'session=1', 'x-trace': 't-1' });
    expect(b.requests).toHaveLength(1);
    expect(b.requests[0]!.headers.authorization).toBeUndefined();
    expect(b.requests[0]!.headers.cookie).toBeUndefined();
    expect(b.requests[0]!.headers['x-trace']).toBe('t-1');
  });

  it.each([301, 302, 303])('turns a POST with a string body into a GET without body or content-type after a %i', async (status) => {
    a = await recordingUpstream(byPath({ '/form': redirect(status, '/done'), '/done': body('done') }));
    await through(FOLLOW, { method: 'POST', body: 'a=1&b=2', headers: { 'content-type': 'application/x-www-form-urlencoded' } });
    const reply = await request(gw!.url, { method: 'POST', path: '/form' });
    expect(reply.status).toBe(200);
    expect(reply.body.toString()).toBe('done');
    const [form, done] = a.requests;
    expect(form).toMatchObject({ method: 'POST', url: '/form', body: 'a=1&b=2' });
    expect(form!.headers['content-type']).toBe('application/x-www-form-urlencoded');
    expect(done).toMatchObject({ method: 'GET', url: '/done', body: '' });
    expect(done!.headers['content-type']).toBeUndefined();
    expect(done!.headers['content-length']).toBeUndefined();
    expect(done!.headers['transfer-encoding']).toBeUndefined();
  });

  it.each([307, 308])('keeps the POST method, body and content-type after a %i', async (status) => {
    a = await recordingUpstream(byPath({ '/form': redirect(status, '/done'), '/done': body('done') }));
    await through(FOLLOW, { method: 'POST', body: 'a=1&b=2', headers: { 'content-type': 'application/x-www-form-urlencoded' } });
    const reply = await request(gw!.url, { method: 'POST', path: '/form' });
    expect(reply.status).toBe(200);
    expect(reply.body.toString()).toBe('done');
    expect(a.requests).toHaveLength(2);
    for (const seen of a.requests) {
      expect(seen).toMatchObject({ method: 'POST', body: 'a=1&b=2' });
      expect(seen.headers['content-type']).toBe('application/x-www-form-urlencoded');
      expect(seen.headers['content-length']).toBe('7');
    }
  });

  it('answers 502 HANDOFF_REDIRECT_FORBIDDEN for a hop to an origin outside allow, never connecting to it', async () => {
    b = await recordingUpstream(body('should not be reached'));
    a = await recordingUpstream(byPath({ '/a': redirect(302, `${b.url}/b`) }));
    const handles = await through({ ...FOLLOW, allow: [a.url] });
    const reply = await request(gw!.url, { path: '/a' });
    expect(reply.status).toBe(502);
    expect(reply.body.toString()).toBe('502 Bad Gateway\n');
    expect(reply.headers.location).toBeUndefined();
    const { error } = await handles[0]!.done;
    expect(error!.code).toBe('HANDOFF_REDIRECT_FORBIDDEN');
    expect((error!.cause as { code?: string }).code).toBe('HANDOFF_TARGET_FORBIDDEN');
    expect(paths(a)).toEqual(['GET /a']);
    expect(b.connections).toBe(0);
  });

  it('answers 502 HANDOFF_REDIRECT_FORBIDDEN for a hop to the metadata address that the predicate allows, before connecting', async () => {
    // A predicate refuses loopback literals, so the origin is named origin.test here and this
    // connector maps that name to 127.0.0.1; any other host is recorded and failed, never attempted.
    const attempts: string[] = [];
    const loopback = buildConnector({});
    agent = new Agent({
      connect: (options, callback) => {
        if (options.hostname === 'origin.test') return loopback({ ...options, hostname: '127.0.0.1' }, callback);
        attempts.push(options.hostname);
        callback(new Error('test connector: off-box connection refused'), null);
      },
    });
    a = await recordingUpstream(byPath({ '/a': redirect(302, 'http://169.254.169.254/latest/meta-data') }));
    gw = await engineGateway(({ fetch, path }) => fetch(`http://origin.test:${a!.port}${path}`), {
      ...FOLLOW,
      allow: () => true,
      dispatcher: agent,
    });
    const reply = await request(gw.url, { path: '/a' });
    expect(reply.status).toBe(502);
    const { error } = await gw.handles[0]!.done;
    expect(error!.code).toBe('HANDOFF_REDIRECT_FORBIDDEN');
    expect((error!.cause as Error).message).toContain('Upstream address 169.254.169.254 is in a private or reserved range');
    expect(paths(a)).toEqual(['GET /a']);
    expect(attempts).toEqual([]);
  });

  it('relays the last 3xx when the chain is longer than followRedirects', async () => {
    a = await recordingUpstream((seen, res) => {
      const n = Number(seen.url.split('/')[2]);
      res.writeHead(302, { location: `/r/${n + 1}` }).end(`hop ${n}`);
    });
    const handles = await through(FOLLOW);
    const reply = await request(gw!.url, { path: '/r/0' });
    expect(reply.status).toBe(302);
    expect(reply.headers.location).toBe('/r/4');
    expect(reply.body.toString()).toBe('hop 3');
    expect(paths(a)).toEqual(['GET /r/0', 'GET /r/1', 'GET /r/2', 'GET /r/3']);
    expect((await handles[0]!.done).error).toBeUndefined();
  });

  it.each([
    ['an invalid Location', 'http://[bad'],
    ['a non-http Location', 'ftp://x'],
  ])('answers 502 HANDOFF_INVALID_RESPONSE for %s', async (_what, location) => {
    a = await recordingUpstream(byPath({ '/a': redirect(302, location) }));
    const handles = await through(FOLLOW);
    const reply = await request(gw!.url, { path: '/a' });
    expect(reply.status).toBe(502);
    expect(reply.headers.location).toBeUndefined();
    const { error } = await handles[0]!.done;
    expect(error!.code).toBe('HANDOFF_INVALID_RESPONSE');
    expect(paths(a)).toEqual(['GET /a']);
  });

  it("relays, without following, a 307 to a request streamed with body: 'request' (it cannot be replayed)", async () => {
    a = await recordingUpstream(byPath({ '/upload': redirect(307, '/elsewhere'), '/elsewhere': body('should not be reached') }));
    // requestBuffer: 0 streams the body (a small one is otherwise read whole first, and can be replayed).
    const handles = await through(FOLLOW, { body: 'request', requestBuffer: 0 });
    const reply = await request(gw!.url, { method: 'POST', path: '/upload', body: 'streamed payload' });
    expect(reply.status).toBe(307);
    expect(reply.headers.location).toBe('/elsewhere');
    expect(reply.body.toString()).toBe('moved');
    expect(a.requests).toHaveLength(1);
    expect(a.requests[0]).toMatchObject({ method: 'POST', url: '/upload', body: 'streamed payload' });
    expect((await handles[0]!.done).error).toBeUndefined();
  });
});
