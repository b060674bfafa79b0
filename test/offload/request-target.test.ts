import http from 'node:http';
import { createProxy } from '@handoff/core';
import { rawRequest, request } from '../helpers/client';
import { engineGateway, type EngineGateway } from '../helpers/engine-gateway';
import { recordingUpstream, type RecordingUpstream } from '../helpers/recording-upstream';

/** `path`: the client's request target passed on byte for byte (RELIABILITY D25), as the sidecar needs. */
describe('proxy.fetch(..., { path }): the request target sent as is', () => {
  let backend: RecordingUpstream;
  let gw: EngineGateway;

  beforeEach(async () => {
    backend = await recordingUpstream((seen, res) => {
      if (seen.url === '/go/here') {
        res.writeHead(302, { location: 'next?x=1' });
        return res.end();
      }
      res.end(seen.url);
    });
    gw = await engineGateway(({ res, url, fetch }) => {
      try {
        return fetch(backend.url, { path: url, followRedirects: 1 });
      } catch (err) {
        res.statusCode = 599;
        res.end((err as Error).message);
      }
    });
  });

  afterEach(async () => {
    await gw.close();
    await backend.close();
  });

  it.each(['/a/%2e%2e/b', "/p{x}?q='a'", '/a%2Fb?x=%20y', '/a/../b'])('sends %s unchanged', async (target) => {
    const reply = await rawRequest(gw.port, `GET ${target} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`);
    expect(reply.text).toMatch(/^HTTP\/1\.1 200/);
    expect(backend.requests[0]!.url).toBe(target);
  });

  it('names the raw target in messages', async () => {
    await backend.close();
    const reply = await rawRequest(gw.port, 'GET /a/%2e%2e/b HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
    expect(reply.text).toMatch(/^HTTP\/1\.1 502/);
    expect((await gw.handles[0]!.done).error!.message).toContain(`GET ${backend.url}/a/%2e%2e/b`);
  });

  it('resolves a relative redirect against the raw target and sends the next hop as parsed', async () => {
    const reply = await request(gw.url, { path: '/go/here' });
    expect(reply.body.toString()).toBe('/go/next?x=1');
  });

  it('refuses a target that is not origin-form', async () => {
    for (const path of ['*', 'http://x/', '/a#frag', '/a b']) {
      const proxyOnly = createProxy();
      const res = new http.ServerResponse(new http.IncomingMessage(null as never));
      expect(() => proxyOnly.fetch(res.req, res, backend.url, { path })).toThrow('path must be an origin-form request target');
      await proxyOnly.close();
    }
  });
});
