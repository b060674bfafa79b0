// Found by independent testing of the adapters: what an app does around a hand-off that
// used to corrupt the framing, hang, or blame the upstream. Through every adapter and mode:
// - framing fields set on the response itself (before the hand-off, or by onHeaders on
//   `res` instead of on the head) reached the client unchecked, or gave a 502 that named
//   the upstream; now they are dropped, and `Connection: close` is honoured;
// - an async onHeaders that never settled held the client and the slot for ever; it now
//   counts against headersTimeout;
// - a second proxyFetch for one response raced the first; it is refused;
// - an HTTP/1.0 client, whose body ends where the connection does, saw a cut body end with
//   a clean close; the connection is now reset.
import http from 'node:http';
import net from 'node:net';
import { rawRequest, request } from '../helpers/client';
import { ADAPTER_MODES, gatewayFor } from '../helpers/adapters';
import type { EngineGateway } from '../helpers/engine-gateway';
import { upstream, type Running } from '../helpers/servers';
import { until } from '../helpers/wait';
import { scriptedUpstream, type ScriptedUpstream } from '../faults/scripted-upstream';

const BODY = '0123456789';

describe.each(ADAPTER_MODES)('what the app does around a hand-off (%s, %s mode)', (adapter, mode) => {
  const gatewayOf = gatewayFor(adapter);
  let origin: Running;
  let gw: EngineGateway | undefined;
  let upstreamRequests: number;

  beforeEach(async () => {
    upstreamRequests = 0;
    origin = await upstream((req, res) => {
      upstreamRequests++;
      if (req.url === '/chunked') {
        // Two writes before the end: chunked framing.
        res.write(BODY.slice(0, 4));
        setTimeout(() => res.end(BODY.slice(4)), 5);
      } else {
        res.setHeader('content-length', BODY.length);
        res.end(BODY);
      }
    });
  });

  afterEach(async () => {
    await gw?.close();
    gw = undefined;
    await origin.close();
  });

  /** Two requests in a row over one keep-alive connection (a new one in socket mode): both must be whole. */
  async function twice(path: string): Promise<Array<{ status: number; headers: http.IncomingHttpHeaders; body: string }>> {
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    try {
      const replies = [];
      for (let i = 0; i < 2; i++) {
        const reply = await request(gw!.url, { path, agent, timeout: 5_000 });
        replies.push({ status: reply.status, headers: reply.headers, body: reply.body.toString() });
      }
      return replies;
    } finally {
      agent.destroy();
    }
  }

  it.each([
    ['content-length', '3', '/chunked'],
    ['transfer-encoding', 'chunked', '/length'],
  ])('a %s an onHeaders sets on the response itself does not frame the body', async (name, value, path) => {
    gw = await gatewayOf(({ fetch, res }) =>
      fetch(`${origin.url}${path}`, {
        mode,
        onHeaders: () => {
          res.setHeader(name, value);
        },
      }),
    );
    const replies = await twice(path);
    for (const reply of replies) {
      expect([reply.status, reply.body]).toEqual([200, BODY]);
      expect(reply.headers['content-length'] === undefined || reply.headers['transfer-encoding'] === undefined).toBe(true);
    }
    const outcomes = await Promise.all(gw.handles.map((handle) => handle.done));
    expect(outcomes.map((outcome) => [outcome.status, outcome.bytes, outcome.error?.code])).toEqual([
      [200, BODY.length, undefined],
      [200, BODY.length, undefined],
    ]);
  });

  it('drops framing fields the app set before the hand-off, and keeps the rest', async () => {
    gw = await gatewayOf(({ fetch, res }) => {
      res.setHeader('content-length', '3');
      res.setHeader('keep-alive', 'timeout=1');
      res.setHeader('x-app', 'kept');
      return fetch(`${origin.url}/chunked`, { mode });
    });
    const replies = await twice('/chunked');
    for (const reply of replies) {
      expect([reply.status, reply.body, reply.headers['x-app']]).toEqual([200, BODY, 'kept']);
      // Node writes its own Keep-Alive on a kept-alive connection (response mode); never the app's.
      expect(reply.headers['keep-alive']).not.toBe('timeout=1');
    }
  });

  it('honours Connection: close set before the hand-off: the whole body, then the connection closes', async () => {
    gw = await gatewayOf(({ fetch, res }) => {
      res.setHeader('connection', 'close');
      return fetch(`${origin.url}/length`, { mode });
    });
    const socket = net.connect(gw.port, '127.0.0.1');
    const received: Buffer[] = [];
    let ended = false;
    socket.on('data', (chunk) => received.push(chunk));
    socket.on('end', () => (ended = true));
    socket.write('GET /length HTTP/1.1\r\nHost: x\r\n\r\n');
    await until(() => ended, 'the gateway to close the connection', { timeout: 5_000 });
    socket.destroy();
    const text = Buffer.concat(received).toString('latin1');
    expect(text).toMatch(/^HTTP\/1\.1 200 /);
    expect(text.toLowerCase()).toContain('\r\nconnection: close\r\n');
    expect(text.endsWith(`\r\n\r\n${BODY}`)).toBe(true);
  });

  it('fails an async onHeaders that does not settle within headersTimeout: 502, and the slot is back', async () => {
    gw = await gatewayOf(({ fetch }) => fetch(`${origin.url}/length`, { mode, headersTimeout: 300, onHeaders: () => new Promise<void>(() => {}) }), {
      concurrency: 1,
    });
    const reply = await request(gw.url, { path: '/length', timeout: 5_000 });
    expect(reply.status).toBe(502);
    const outcome = await gw.handles[0]!.done;
    expect(outcome.error).toMatchObject({ code: 'HANDOFF_HOOK_FAILED', status: 502 });
    expect(outcome.error!.message).toMatch(/^onHeaders did not settle within 300 ms \(headersTimeout\): GET http:/);
    await until(() => gw!.proxy.stats.inFlight === 0, 'the slot released');
    // The one slot serves the next request.
    expect((await request(gw.url, { path: '/length', timeout: 5_000 })).status).toBe(502);
  });

  it('refuses a second hand-off of the same response, and the first goes on untouched', async () => {
    const refusals: unknown[] = [];
    gw = await gatewayOf(async ({ fetch }) => {
      const first = await fetch(`${origin.url}/length`, { mode });
      await fetch(`${origin.url}/length`, { mode }).catch((err: unknown) => refusals.push(err));
      return first;
    });
    const reply = await request(gw.url, { path: '/length', timeout: 5_000 });
    expect([reply.status, reply.body.toString()]).toEqual([200, BODY]);
    expect(refusals).toHaveLength(1);
    expect(refusals[0]).toMatchObject({
      code: 'HANDOFF_INVALID_OPTIONS',
      message: 'The response was already handed off (proxyFetch, offload or proxyLater ran for it); a response is handed off once',
    });
    expect(upstreamRequests).toBe(1);
  });
});

describe.each(ADAPTER_MODES)('a cut body to an HTTP/1.0 client (%s, %s mode)', (adapter, mode) => {
  let origin: ScriptedUpstream;
  let gw: EngineGateway;

  afterEach(async () => {
    await gw.close();
    await origin.close();
  });

  it('ends with a reset, not the clean close that ends a complete close-delimited body', async () => {
    origin = await scriptedUpstream([
      { request: true },
      { send: 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n7\r\npartial\r\n' },
      { wait: 50 },
      { end: true },
    ]);
    gw = await gatewayFor(adapter)(({ fetch }) => fetch(`${origin.url}/cut`, { mode }));
    const cut = await rawRequest(gw.port, 'GET /cut HTTP/1.0\r\n\r\n');
    expect(cut.cleanEnd).toBe(false);
    expect((await gw.handles[0]!.done).error?.code).toBe('HANDOFF_UPSTREAM_TRUNCATED');
  });

  it('a complete body still ends with a clean close', async () => {
    origin = await scriptedUpstream([{ request: true }, { send: 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n8\r\ncomplete\r\n0\r\n\r\n' }, { hang: true }]);
    gw = await gatewayFor(adapter)(({ fetch }) => fetch(`${origin.url}/whole`, { mode }));
    const whole = await rawRequest(gw.port, 'GET /whole HTTP/1.0\r\n\r\n');
    expect(whole.cleanEnd).toBe(true);
    expect(whole.text).toMatch(/^HTTP\/1\.[01] 200 /);
  });
});
