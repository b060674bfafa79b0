// RELIABILITY.md group C: upstream faults (TLS is in tls.test.ts).
import { Agent } from 'undici';
import { openResponse, readBody, request } from '../helpers/client';
import { engineGateway, type EngineGateway } from '../helpers/engine-gateway';
import { MODES } from '../helpers/modes';
import { upstream, type Running } from '../helpers/servers';
import { until } from '../helpers/wait';
import { response, scriptedUpstream, type ScriptedUpstream } from '../faults/scripted-upstream';
import { tcpRelay, type Relay } from '../faults/tcp-relay';

const BODY = Buffer.alloc(256 * 1024, 'x');

describe.each(MODES)('upstream faults (%s mode)', (mode) => {
  let gw: EngineGateway | undefined;
  let origin: Running | ScriptedUpstream | undefined;
  let relay: Relay | undefined;

  afterEach(async () => {
    await gw?.close();
    await relay?.close();
    await origin?.close();
    gw = relay = origin = undefined;
  });

  it('answers 502 when DNS says the name does not exist (NXDOMAIN)', async () => {
    const nxdomain = new Agent({
      connect: {
        lookup: (hostname, _options, callback) =>
          callback(Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: 'ENOTFOUND' }), '', 4),
      },
    });
    gw = await engineGateway(({ fetch }) => fetch('http://no-such-host.test/x', { mode }), { dispatcher: nxdomain });
    expect((await request(gw.url)).status).toBe(502);
    expect((await gw.handles[0]!.done).error!.code).toBe('HANDOFF_UPSTREAM_UNREACHABLE');
    await nxdomain.destroy();
  });

  it('answers 504 within connectTimeout when DNS hangs', async () => {
    const hung = new Agent({ connect: { lookup: () => {} } });
    gw = await engineGateway(({ fetch }) => fetch('http://slow-dns.test/x', { mode, connectTimeout: 100 }), { dispatcher: hung });
    expect((await request(gw.url)).status).toBe(504);
    expect((await gw.handles[0]!.done).error!.code).toBe('HANDOFF_CONNECT_TIMEOUT');
    await hung.destroy();
  });

  describe('a reset on a reused keep-alive connection', () => {
    // Connection 0 answers one request, then resets on the next; later connections answer normally.
    const script = (n: number) =>
      n === 0
        ? [{ request: true as const }, { send: response('200 OK', ['Connection: keep-alive'], 'first') }, { request: true as const }, { reset: true as const }]
        : [{ request: true as const }, { send: response('200 OK', [], 'fresh') }, { hang: true as const }];

    it('is retried once for an idempotent request, invisibly to the client', async () => {
      origin = await scriptedUpstream(script);
      gw = await engineGateway(({ fetch }) => fetch(`${origin!.url}/x`, { mode }));
      expect((await request(gw.url)).body.toString()).toBe('first');
      const second = await request(gw.url);
      expect(second.status).toBe(200);
      expect(second.body.toString()).toBe('fresh');
      expect((origin as ScriptedUpstream).connections).toBe(2);
    });

    it('is not retried for a POST without an Idempotency-Key', async () => {
      origin = await scriptedUpstream(script);
      gw = await engineGateway(({ fetch }) => fetch(`${origin!.url}/x`, { mode, method: 'POST', body: 'data' }));
      await request(gw.url);
      expect((await request(gw.url)).status).toBe(502);
      expect((await gw.handles[1]!.done).error!.code).toBe('HANDOFF_UPSTREAM_RESET');
      expect((origin as ScriptedUpstream).requests).toHaveLength(2);
    });

    it('is retried for a POST that carries an Idempotency-Key', async () => {
      origin = await scriptedUpstream(script);
      gw = await engineGateway(({ fetch }) =>
        fetch(`${origin!.url}/x`, { mode, method: 'POST', body: 'data', headers: { 'idempotency-key': 'k1' } }),
      );
      await request(gw.url);
      expect((await request(gw.url)).body.toString()).toBe('fresh');
    });
  });

  it('retries only once: an upstream that always resets gives 502 after two attempts', async () => {
    origin = await scriptedUpstream([{ request: true }, { reset: true }]);
    gw = await engineGateway(({ fetch }) => fetch(`${origin!.url}/x`, { mode }));
    expect((await request(gw.url)).status).toBe(502);
    expect((origin as ScriptedUpstream).connections).toBe(2);
    await until(() => gw!.proxy.stats.inFlight === 0, 'slot released');
  });

  describe('through a faulty network (TCP relay)', () => {
    beforeEach(async () => {
      origin = await upstream((_req, res) => {
        res.writeHead(200, { 'content-length': BODY.length });
        res.end(BODY);
      });
    });

    it('relays the body intact across latency and writes sliced into tiny pieces', async () => {
      relay = await tcpRelay(origin!.port, { latency: 5, slice: 7 * 1024 });
      gw = await engineGateway(({ fetch }) => fetch(`${relay!.url}/x`, { mode }));
      const reply = await request(gw.url);
      expect(reply.body.equals(BODY)).toBe(true);
    });

    it('cuts the client at bodyTimeout when the network goes silent mid-body', async () => {
      relay = await tcpRelay(origin!.port, { hangAfter: 100_000 });
      gw = await engineGateway(({ fetch }) => fetch(`${relay!.url}/x`, { mode, bodyTimeout: 200 }));
      const { res } = await openResponse(gw.url);
      const { body, complete } = await readBody(res);
      expect(complete).toBe(false);
      expect(body.length).toBeLessThanOrEqual(100_000 - 38);
      expect((await gw.handles[0]!.done).error!.code).toBe('HANDOFF_BODY_TIMEOUT');
      await until(() => relay!.open === 0, 'upstream connection closed');
    });

    it.each([
      ['closed cleanly', { cutAfter: 50_000 }],
      ['reset', { resetAfter: 50_000 }],
    ])('cuts the client when the connection is %s mid-body', async (_what, faults) => {
      relay = await tcpRelay(origin!.port, faults);
      gw = await engineGateway(({ fetch }) => fetch(`${relay!.url}/x`, { mode }));
      const { res } = await openResponse(gw.url);
      const { complete } = await readBody(res);
      expect(complete).toBe(false);
      expect((await gw.handles[0]!.done).error!.code).toBe('HANDOFF_UPSTREAM_TRUNCATED');
      await until(() => gw!.proxy.stats.inFlight === 0 && gw!.proxy.stats.upstreamSockets === 0, 'cleanup');
    });
  });
});
