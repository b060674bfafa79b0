import type http from 'node:http';
import { createProxy, type ProxyCallOptions, type ProxyOptions } from '@handoff/core';
import { request } from './helpers/client';
import { ADAPTER_NAMES, gatewayFor } from './helpers/adapters';
import type { EngineGateway } from './helpers/engine-gateway';
import { upstream, type Running } from './helpers/servers';

describe.each(ADAPTER_NAMES)('headers sent to the upstream (%s)', (adapter) => {
  const engineGateway = gatewayFor(adapter);
  let origin: Running;
  let gw: EngineGateway | undefined;
  let seen: http.IncomingHttpHeaders;

  beforeEach(async () => {
    origin = await upstream((req, res) => {
      seen = req.headers;
      res.end('ok');
    });
  });

  afterEach(async () => {
    await gw?.close();
    await origin.close();
  });

  async function send(headers: http.OutgoingHttpHeaders, call: ProxyCallOptions = {}, options?: ProxyOptions) {
    gw = await engineGateway(({ fetch }) => fetch(`${origin.url}/x`, call), options);
    const reply = await request(gw.url, { headers });
    expect(reply.status).toBe(200);
    return seen;
  }

  it('forwards only content negotiation, conditional and range headers by default', async () => {
    const got = await send({
      accept: 'application/json',
      'accept-encoding': 'gzip',
      'accept-language': 'fr',
      range: 'bytes=0-1',
      'if-none-match': '"abc"',
      'if-modified-since': 'Sat, 21 Nov 2026 00:00:00 GMT',
      cookie: 'session=1',
      authorization: 'Bearer user-token',
      'user-agent': 'curl/8',
      'x-custom': 'nope',
    });
    expect(got.accept).toBe('application/json');
    expect(got['accept-encoding']).toBe('gzip');
    expect(got['accept-language']).toBe('fr');
    expect(got.range).toBe('bytes=0-1');
    expect(got['if-none-match']).toBe('"abc"');
    expect(got['if-modified-since']).toBe('Sat, 21 Nov 2026 00:00:00 GMT');
    expect(got.cookie).toBeUndefined();
    expect(got.authorization).toBeUndefined();
    expect(got['user-agent']).toBeUndefined();
    expect(got['x-custom']).toBeUndefined();
    expect(got.host).toBe(`127.0.0.1:${origin.port}`);
  });

  it('forwards cookie and authorization only when the call passes them', async () => {
    const got = await send(
      { cookie: 'session=1', authorization: 'Bearer user-token' },
      { headers: { authorization: 'Bearer service-token' }, forwardHeaders: ['cookie'] },
    );
    expect(got.authorization).toBe('Bearer service-token');
    expect(got.cookie).toBe('session=1');
  });

  it('refuses cookie or authorization in the defaults for every call', () => {
    expect(() => createProxy({ forwardHeaders: ['Cookie'] })).toThrow(/may not forward cookie for every call/);
  });

  it('widens the forwarded set with forwardHeaders, in defaults and per call', async () => {
    const got = await send({ 'x-request-id': 'r1', 'x-tenant': 't1', 'x-other': 'o' }, { forwardHeaders: ['X-Tenant'] }, {
      forwardHeaders: ['x-request-id'],
    });
    expect(got['x-request-id']).toBe('r1');
    expect(got['x-tenant']).toBe('t1');
    expect(got['x-other']).toBeUndefined();
  });

  it('never forwards hop-by-hop headers or those the client names in Connection', async () => {
    const got = await send(
      { connection: 'keep-alive, x-tenant', 'x-tenant': 't1', te: 'trailers', 'proxy-authorization': 'Basic x', upgrade: 'h2c' },
      { forwardHeaders: ['x-tenant', 'te', 'proxy-authorization', 'upgrade'] },
    );
    expect(got['x-tenant']).toBeUndefined();
    expect(got.te).toBeUndefined();
    expect(got['proxy-authorization']).toBeUndefined();
    expect(got.upgrade).toBeUndefined();
  });

  it('sets X-Forwarded-For/-Proto/-Host, replacing whatever the client sent', async () => {
    const got = await send(
      { 'x-forwarded-for': '6.6.6.6', 'x-forwarded-proto': 'https', 'x-forwarded-host': 'evil', connection: 'x-forwarded-for' },
      { forwardHeaders: ['x-forwarded-for'] },
    );
    expect(got['x-forwarded-for']).toBe('127.0.0.1');
    expect(got['x-forwarded-proto']).toBe('http');
    expect(got['x-forwarded-host']).toBe(`127.0.0.1:${gw!.port}`);
  });

  it("appends to a trusted chain with xForwarded: 'append'", async () => {
    const got = await send({ 'x-forwarded-for': '203.0.113.9', 'x-forwarded-proto': 'https', 'x-forwarded-host': 'app.example' }, {}, {
      xForwarded: 'append',
    });
    expect(got['x-forwarded-for']).toBe('203.0.113.9, 127.0.0.1');
    expect(got['x-forwarded-proto']).toBe('https');
    expect(got['x-forwarded-host']).toBe('app.example');
  });

  it('sends no X-Forwarded-* with xForwarded: false', async () => {
    const got = await send({}, {}, { xForwarded: false });
    expect(got['x-forwarded-for']).toBeUndefined();
    expect(got['x-forwarded-proto']).toBeUndefined();
  });

  it('lets the call override forwarded headers', async () => {
    const got = await send({ accept: 'text/html' }, { headers: { accept: 'application/json', 'x-api-key': 'k' } });
    expect(got.accept).toBe('application/json');
    expect(got['x-api-key']).toBe('k');
  });
});
