// RELIABILITY J42: a response waiting behind a slower one on the same connection cannot make
// progress, so its body idle clock (bodyTimeout) starts only when it becomes the connection's
// current response. Before, it ran from the start, cut the waiting response, and with it the
// connection and the slow response the client was reading.
import http from 'node:http';
import { createProxy, type ProxyHandle } from '@handoff/core';
import { rawRequest } from '../helpers/client';
import { listen, upstream, type Running } from '../helpers/servers';

const BIG = Buffer.alloc(1024 * 1024, 'b');

describe('a pipelined response queued behind a slow one (response mode)', () => {
  let origin: Running;
  let gateway: Running;
  const proxy = createProxy({ bodyTimeout: 1_000 });
  const handles: ProxyHandle[] = [];

  beforeAll(async () => {
    origin = await upstream((req, res) => {
      // Larger than what the queued response buffers: it must wait paused, in the middle of its body.
      if (req.url !== '/slow') return void res.writeHead(200, { 'content-length': BIG.length }).end(BIG);
      // 10 chunks 150 ms apart: the client reads each at once, so the slow one's idle clock keeps
      // being reset (a loaded machine has 850 ms of slack), while the queued one waits 1.5 s, past bodyTimeout.
      res.writeHead(200, { 'content-length': '10' });
      let sent = 0;
      const timer = setInterval(() => {
        res.write('s');
        if (++sent === 10) {
          clearInterval(timer);
          res.end();
        }
      }, 150);
    });
    gateway = await listen(http.createServer((req, res) => handles.push(proxy.fetch(req, res, `${origin.url}${req.url}`))));
  });

  afterAll(async () => {
    await proxy.close({ timeout: 0 });
    await gateway.close();
    await origin.close();
  });

  it('is answered in full after the slow one, which is not cut either', async () => {
    const reply = await rawRequest(gateway.port, 'GET /slow HTTP/1.1\r\nHost: x\r\n\r\nGET /fast HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
    const [first, second] = reply.text.split(/(?=HTTP\/1\.1 )/);
    expect(first).toMatch(/^HTTP\/1\.1 200 [\s\S]*\r\n\r\nssssssssss$/);
    expect(second!.startsWith('HTTP/1.1 200 ')).toBe(true);
    expect(second!.slice(second!.indexOf('\r\n\r\n') + 4)).toBe(BIG.toString('latin1'));
    expect(reply.cleanEnd).toBe(true);
    const outcomes = await Promise.all(handles.map((h) => h.done));
    expect(outcomes.map((o) => o.error?.code)).toEqual([undefined, undefined]);
  });
});
