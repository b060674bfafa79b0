// RELIABILITY K45, the upload side: small request bodies are read whole before the transfer
// asks for a slot (nginx's proxy_request_buffering), and an upload slower than
// minDataRate.request is refused with 408 (Kestrel's MinRequestBodyDataRate).
import http from 'node:http';
import type { ProxyCallOptions } from '@handoff/core';
import { request } from '../helpers/client';
import { dribble } from '../faults/clients';
import { upstream, type Running } from '../helpers/servers';
import { until } from '../helpers/wait';
import { passThrough, type EngineGateway } from '../helpers/engine-gateway';

interface Seen {
  url: string;
  headers: http.IncomingHttpHeaders;
  body: string;
  /** Whether the request body arrived whole (false: the proxy aborted it). */
  complete: boolean;
}

describe('request bodies before and after admission', () => {
  let origin: Running;
  let proxy: EngineGateway;
  const seen: Seen[] = [];

  beforeAll(async () => {
    origin = await upstream((req, res) => {
      const entry: Seen = { url: req.url!, headers: req.headers, body: '', complete: false };
      seen.push(entry);
      req.setEncoding('latin1');
      req.on('data', (chunk: string) => (entry.body += chunk));
      req.on('end', () => {
        entry.complete = true;
        if (req.url === '/redirect') return void res.writeHead(307, { location: '/target' }).end();
        res.end(`got ${entry.body.length}`);
      });
    });
  });

  afterEach(async () => {
    await proxy?.close();
    seen.length = 0;
  });

  afterAll(() => origin.close());

  const upload = (length: number) => `POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: ${length}\r\nConnection: close\r\n\r\n`;

  it('a trickling upload holds no slot: with concurrency 1, other requests are answered meanwhile', async () => {
    proxy = await passThrough(origin.url, { concurrency: 1, maxQueue: 0, minDataRate: false }, { method: 'POST', body: 'request' });
    const trickle = dribble(proxy.port, upload(40), Array.from({ length: 8 }, () => 'xxxxx'), 100);
    await until(() => proxy.handles.length === 1, 'upload started');
    // maxQueue 0: were the slot taken, this request would be refused with 503 at once.
    const ping = await request(proxy.url, { path: '/ping', method: 'POST', body: 'p' });
    expect([ping.status, ping.body.toString()]).toEqual([200, 'got 1']);
    expect(proxy.proxy.stats.inFlight).toBe(0);
    const reply = await trickle;
    expect(reply.text).toMatch(/^HTTP\/1\.1 200 [\s\S]*got 40$/);
    // The upstream got the upload once it had arrived, in one piece, framed by its length.
    expect(seen.find((s) => s.url === '/upload')).toMatchObject({ body: 'x'.repeat(40), complete: true });
    expect(seen.find((s) => s.url === '/upload')!.headers['content-length']).toBe('40');
  });

  it('an upload slower than minDataRate.request is refused with 408 before it reaches the upstream', async () => {
    proxy = await passThrough(origin.url, { minDataRate: { request: 1000, grace: 200 } }, { method: 'POST', body: 'request' });
    // 5 bytes every 100 ms: 50 B/s against a minimum of 1000 B/s after 200 ms.
    const reply = await dribble(proxy.port, upload(4000), Array.from({ length: 100 }, () => 'xxxxx'), 100);
    expect(reply.text).toMatch(/^HTTP\/1\.1 408 /);
    const outcome = await proxy.handles[0]!.done;
    expect(outcome.error!.code).toBe('HANDOFF_REQUEST_TOO_SLOW');
    expect(outcome.error!.message).toMatch(/too slowly \(\d+ bytes in \d+ ms of waiting; minDataRate\.request: 1000 bytes\/s after 200 ms\)/);
    expect(seen).toEqual([]);
  });

  it('a streamed upload (past requestBuffer) slower than the minimum is refused with 408 and the upstream request aborted', async () => {
    proxy = await passThrough(origin.url, { minDataRate: { request: 1000, grace: 200 } }, { method: 'POST', body: 'request', requestBuffer: 0 });
    const reply = await dribble(proxy.port, upload(4000), Array.from({ length: 100 }, () => 'xxxxx'), 100);
    expect(reply.text).toMatch(/^HTTP\/1\.1 408 /);
    expect((await proxy.handles[0]!.done).error!.code).toBe('HANDOFF_REQUEST_TOO_SLOW');
    await until(() => seen.length === 1, 'upstream saw the streamed start');
    expect(seen[0]!.complete).toBe(false);
  });

  it('an upload the upstream reads slowly is not the client being slow: only waiting for the client counts', async () => {
    const slowReader = await upstream((req, res) => {
      // Reads nothing for 2 s: the proxy's upload stream is held up by the upstream, not the client.
      // Counted against the client, 8 MiB in over 2 s would be below the 5 MB/s minimum.
      req.pause();
      setTimeout(() => {
        let length = 0;
        req.on('data', (chunk: Buffer) => (length += chunk.length));
        req.on('end', () => res.end(`got ${length}`));
        req.resume();
      }, 2000);
    });
    try {
      proxy = await passThrough(slowReader.url, { minDataRate: { request: 5_000_000, grace: 100 } }, { method: 'POST', body: 'request', requestBuffer: 0 });
      const body = Buffer.alloc(8 * 1024 * 1024, 'u');
      const reply = await request(proxy.url, { method: 'POST', path: '/big', body });
      expect([reply.status, reply.body.toString()]).toEqual([200, `got ${body.length}`]);
    } finally {
      await slowReader.close();
    }
  });

  it('a buffered body can be sent again: a 307 is followed with it', async () => {
    proxy = await passThrough(origin.url, {}, { method: 'POST', body: 'request', followRedirects: 1 });
    const reply = await request(proxy.url, { method: 'POST', path: '/redirect', body: 'payload' });
    expect([reply.status, reply.body.toString()]).toEqual([200, 'got 7']);
    expect(seen.map((s) => [s.url, s.body])).toEqual([
      ['/redirect', 'payload'],
      ['/target', 'payload'],
    ]);
  });

  it('a chunked upload is buffered whole and sent with its length, never the client’s chunk syntax', async () => {
    proxy = await passThrough(origin.url, {}, { method: 'POST', body: 'request' });
    const reply = await dribble(
      proxy.port,
      'POST /chunked HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n',
      ['5\r\nhello\r\n', '6\r\n world\r\n', '0\r\n\r\n'],
      20,
    );
    expect(reply.text).toMatch(/got 11$/);
    expect(seen[0]).toMatchObject({ body: 'hello world', complete: true });
    expect(seen[0]!.headers['content-length']).toBe('11');
    expect(seen[0]!.headers['transfer-encoding']).toBeUndefined();
  });

  it('a body growing past requestBuffer streams the rest after admission, whole and in order', async () => {
    proxy = await passThrough(origin.url, {}, { method: 'POST', body: 'request', requestBuffer: 16 });
    const pieces = ['0123456789', 'abcdefghij', 'KLMNOPQRST', '0\r\n\r\n'].map((p, i, all) => (i === all.length - 1 ? p : `a\r\n${p}\r\n`));
    const reply = await dribble(proxy.port, 'POST /grow HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n', pieces, 30);
    expect(reply.text).toMatch(/got 30$/);
    expect(seen[0]).toMatchObject({ body: '0123456789abcdefghijKLMNOPQRST', complete: true });
  });

  it.each<[string, ProxyCallOptions, string, string]>([
    ['past maxBodySize while buffering', { maxBodySize: 20 }, 'HTTP/1.1 413 ', 'HANDOFF_REQUEST_TOO_LARGE'],
    ['silent for bodyTimeout while buffering', { bodyTimeout: 150 }, 'HTTP/1.1 408 ', 'HANDOFF_REQUEST_TIMEOUT'],
  ])('an upload %s is answered before anything reaches the upstream', async (_what, options, status, code) => {
    proxy = await passThrough(origin.url, {}, { method: 'POST', body: 'request', ...options });
    // Chunked: no declared length to refuse it by; 12 bytes, then silence.
    const reply = await dribble(proxy.port, 'POST /u HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n', ['c\r\n0123456789ab\r\n', 'c\r\n0123456789ab\r\n'], 10);
    expect(reply.text.startsWith(status)).toBe(true);
    expect((await proxy.handles[0]!.done).error!.code).toBe(code);
    expect(seen).toEqual([]);
  });

  it('past requestBufferTotal, a body streams and takes its slot as it comes', async () => {
    proxy = await passThrough(origin.url, { requestBufferTotal: 50, minDataRate: false }, { method: 'POST', body: 'request' });
    // The first upload reserves 40 of the 50 bytes while it trickles; the second does not fit, and streams.
    const first = dribble(proxy.port, upload(40), Array.from({ length: 8 }, () => 'xxxxx'), 60);
    await until(() => proxy.handles.length === 1, 'first upload buffering');
    const second = dribble(proxy.port, upload(40), Array.from({ length: 8 }, () => 'yyyyy'), 60);
    await until(() => proxy.proxy.stats.inFlight === 1, 'the second upload streaming with its slot');
    expect((await first).text).toMatch(/got 40$/);
    expect((await second).text).toMatch(/got 40$/);
    await until(() => proxy.proxy.stats.inFlight === 0, 'both done');
  });
});
