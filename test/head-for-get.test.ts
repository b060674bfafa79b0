import http from 'node:http';
import type { ProxyCallOptions } from '@handoff/core';
import { rawRequest, request } from './helpers/client';
import { engineGateway, type EngineGateway } from './helpers/engine-gateway';
import { MODES } from './helpers/modes';
import { upstream, type Running } from './helpers/servers';
import { within } from './helpers/wait';

/** A framing bug leaves the client waiting for bytes that never come: fail well before the test timeout. */
const CLIENT_TIMEOUT = 2_000;

/**
 * A handler proxying with `method: 'HEAD'` for a client that sent GET: the upstream's
 * head describes a body nobody sends, so the client must get that head with an empty,
 * properly framed body rather than a length promising bytes that never come.
 */
describe.each(MODES)('a HEAD sent upstream for a GET client (%s mode)', (mode) => {
  let origin: Running;
  let gw: EngineGateway;
  let methods: string[];

  beforeEach(async () => {
    methods = [];
    origin = await upstream((req, res) => {
      methods.push(req.method!);
      const framing = req.url === '/chunked' ? { 'transfer-encoding': 'chunked' } : { 'content-length': '5' };
      res.writeHead(200, { 'content-type': 'text/plain', 'x-upstream': 'yes', ...framing });
      res.end(req.method === 'HEAD' ? undefined : 'hello');
    });
  });

  afterEach(async () => {
    await gw.close();
    await origin.close();
  });

  async function headRoute(options: ProxyCallOptions = {}) {
    gw = await engineGateway(({ fetch, path }) => fetch(`${origin.url}${path}`, { mode, method: 'HEAD', bodyTimeout: 0, ...options }));
    return gw.handles;
  }

  it.each([
    ['a content-length', '/length'],
    ['transfer-encoding: chunked', '/chunked'],
  ])('answers with the head and an empty body when the upstream HEAD answers with %s', async (_what, path) => {
    const handles = await headRoute();
    const reply = await request(gw.url, { path, timeout: CLIENT_TIMEOUT });
    expect(reply.status).toBe(200);
    expect(reply.headers['x-upstream']).toBe('yes');
    expect(reply.headers['content-length']).toBe('0');
    expect(reply.body.length).toBe(0);
    expect(methods).toEqual(['HEAD']);
    const outcome = await within(CLIENT_TIMEOUT, handles[0]!.done, 'the transfer');
    expect(outcome).toMatchObject({ status: 200, bytes: 0 });
    expect(outcome.error).toBeUndefined();
    await within(CLIENT_TIMEOUT, gw.proxy.close(), 'proxy.close()');
  });

  it('frames the empty body on the wire: content-length: 0, then a clean end', async () => {
    await headRoute();
    const { text, cleanEnd } = await within(CLIENT_TIMEOUT, rawRequest(gw.port, 'GET /length HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'), 'the raw reply');
    expect(cleanEnd).toBe(true);
    const [head, body] = text.split('\r\n\r\n');
    const lines = head!.split('\r\n');
    expect(lines[0]).toBe('HTTP/1.1 200 OK');
    expect(lines).toContain('content-length: 0');
    expect(lines).not.toContain('content-length: 5');
    expect(body).toBe('');
  });

  it('frames the empty body chunked when onHeaders removes the length, never close-delimited', async () => {
    await headRoute({ onHeaders: (head) => void delete head.headers['content-length'] });
    const { text, cleanEnd } = await within(CLIENT_TIMEOUT, rawRequest(gw.port, 'GET /length HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'), 'the raw reply');
    expect(cleanEnd).toBe(true);
    const [head, ...rest] = text.split('\r\n\r\n');
    expect(head!.toLowerCase().split('\r\n')).toContain('transfer-encoding: chunked');
    expect(rest.join('\r\n\r\n')).toBe('0\r\n\r\n');
  });

  it('completes when onHeaders is async (undici ends a HEAD response without waiting for it)', async () => {
    const handles = await headRoute({
      onHeaders: async (head) => {
        await new Promise((resolve) => setImmediate(resolve));
        head.headers['x-hook'] = 'ran';
      },
    });
    const reply = await request(gw.url, { path: '/length', timeout: CLIENT_TIMEOUT });
    expect(reply.status).toBe(200);
    expect(reply.headers['x-hook']).toBe('ran');
    expect(reply.body.length).toBe(0);
    const outcome = await within(CLIENT_TIMEOUT, handles[0]!.done, 'the transfer');
    expect(outcome.error).toBeUndefined();
    await within(CLIENT_TIMEOUT, gw.proxy.close(), 'proxy.close()');
  });

  it('completes for a HEAD client when onHeaders is async', async () => {
    gw = await engineGateway(({ fetch }) =>
      fetch(`${origin.url}/length`, {
        mode,
        method: 'HEAD',
        bodyTimeout: 0,
        onHeaders: () => new Promise<void>((resolve) => setImmediate(resolve)),
      }),
    );
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    try {
      const reply = await request(gw.url, { method: 'HEAD', agent, timeout: CLIENT_TIMEOUT });
      expect(reply.status).toBe(200);
      // A HEAD client is told the length of the GET it stands for.
      expect(reply.headers['content-length']).toBe('5');
      const outcome = await within(CLIENT_TIMEOUT, gw.handles[0]!.done, 'the transfer');
      expect(outcome.error).toBeUndefined();
    } finally {
      agent.destroy();
    }
  });
});

describe('a HEAD sent upstream for a GET client, keep-alive (response mode)', () => {
  let origin: Running;
  let gw: EngineGateway;

  beforeEach(async () => {
    origin = await upstream((req, res) => {
      res.writeHead(200, { 'content-length': '5' });
      res.end(req.method === 'HEAD' ? undefined : 'hello');
    });
  });

  afterEach(async () => {
    await gw.close();
    await origin.close();
  });

  it('leaves the client connection usable for the next request', async () => {
    gw = await engineGateway(({ fetch, path }) => fetch(`${origin.url}${path}`, { method: path === '/head' ? 'HEAD' : 'GET' }));
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    const sockets = new Set<unknown>();
    agent.on('free', (socket) => sockets.add(socket));
    try {
      const first = await request(gw.url, { path: '/head', agent, timeout: CLIENT_TIMEOUT });
      expect(first.status).toBe(200);
      expect(first.body.length).toBe(0);
      const second = await request(gw.url, { path: '/get', agent, timeout: CLIENT_TIMEOUT });
      expect(second.body.toString()).toBe('hello');
      expect(sockets.size).toBe(1);
    } finally {
      agent.destroy();
    }
    await within(CLIENT_TIMEOUT, gw.proxy.close(), 'proxy.close()');
  });
});

describe.each(MODES)('onHeaders turning a GET response bodiless (%s mode)', (mode) => {
  let origin: Running;
  let gw: EngineGateway;

  beforeEach(async () => {
    origin = await upstream((_req, res) => {
      res.writeHead(200, { 'content-length': '5', etag: '"v1"' });
      res.end('hello');
    });
  });

  afterEach(async () => {
    await gw.close();
    await origin.close();
  });

  // A client reads no body on 204/304 whatever the length says (RFC 9112 §6.3), so the
  // connection must stay in step for the next request. A 204 carries no content-length
  // (RFC 9110 §8.6); a 304's describes the representation and stays.
  it.each([204, 304])('answers %i with no body, and the client can go on', async (status) => {
    gw = await engineGateway(({ fetch, path }) =>
      fetch(`${origin.url}/`, {
        mode,
        onHeaders: path === '/bodiless' ? (head) => void (head.status = status) : undefined,
      }),
    );
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    try {
      const reply = await request(gw.url, { path: '/bodiless', agent, timeout: CLIENT_TIMEOUT });
      expect(reply.status).toBe(status);
      expect(reply.body.length).toBe(0);
      expect(reply.headers['content-length']).toBe(status === 204 ? undefined : '5');
      const next = await request(gw.url, { path: '/next', agent, timeout: CLIENT_TIMEOUT });
      expect(next.body.toString()).toBe('hello');
      const outcome = await within(CLIENT_TIMEOUT, gw.handles[0]!.done, 'the transfer');
      expect(outcome.error).toBeUndefined();
    } finally {
      agent.destroy();
    }
  });
});
