import http from 'node:http';
import { rawRequest, request } from './helpers/client';
import { ADAPTER_NAMES, gatewayFor } from './helpers/adapters';
import type { EngineGateway } from './helpers/engine-gateway';
import { upstream, type Running } from './helpers/servers';

describe.each(ADAPTER_NAMES)('client connections (%s)', (adapter) => {
  const engineGateway = gatewayFor(adapter);
  let origin: Running;
  let gw: EngineGateway | undefined;

  beforeEach(async () => {
    origin = await upstream((req, res) => res.end(`hello ${req.url}`));
  });

  afterEach(async () => {
    await gw?.close();
    await origin.close();
    gw = undefined;
  });

  it("keeps the client connection alive in 'response' mode", async () => {
    gw = await engineGateway(({ fetch, url }) => fetch(`${origin.url}${url}`));
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    const sockets = new Set<unknown>();
    agent.on('free', (socket) => sockets.add(socket));
    try {
      const one = await request(gw.url, { path: '/1', agent });
      const two = await request(gw.url, { path: '/2', agent });
      expect([one.body.toString(), two.body.toString()]).toEqual(['hello /1', 'hello /2']);
      expect(one.headers.connection).toBe('keep-alive');
      expect(sockets.size).toBe(1);
    } finally {
      agent.destroy();
    }
  });

  it("takes the socket over in 'socket' mode: exact head, Connection: close, then a clean close", async () => {
    gw = await engineGateway(({ fetch, url }) => fetch(`${origin.url}${url}`, { mode: 'socket' }));
    const { text, cleanEnd } = await rawRequest(gw.port, 'GET /raw HTTP/1.1\r\nHost: x\r\n\r\n');
    expect(cleanEnd).toBe(true);
    const [head, body] = text.split('\r\n\r\n');
    const lines = head!.split('\r\n');
    expect(lines[0]).toBe('HTTP/1.1 200 OK');
    expect(lines).toContain('connection: close');
    expect(lines).toContain('content-length: 10');
    expect(body).toBe('hello /raw');
  });

  it("answers an HTTP/1.0 client in 'socket' mode without chunked framing", async () => {
    gw = await engineGateway(({ fetch, url }) => fetch(`${origin.url}${url}`, { mode: 'socket' }));
    const { text } = await rawRequest(gw.port, 'GET /old HTTP/1.0\r\n\r\n');
    expect(text).toContain('content-length: 10');
    expect(text).not.toContain('chunked');
    expect(text.endsWith('hello /old')).toBe(true);
  });
});
