// RELIABILITY J43: an upstream's `103 Early Hints` (RFC 8297) is relayed, its Link values
// only, while the final head has not gone out; every other 1xx is dropped. HTTP/1.0
// clients never get one (RFC 9110 §15.2), and a cache HIT never replays one.
import fs from 'node:fs';
import http from 'node:http';
import http2 from 'node:http2';
import net from 'node:net';
import path from 'node:path';
import { createProxy, type ProxyHandle } from '@handoff/core';
import { scriptedUpstream } from '../faults/scripted-upstream';
import { ADAPTER_MODES, gatewayFor } from '../helpers/adapters';
import { engineGateway, type EngineGateway } from '../helpers/engine-gateway';
import { MODES } from '../helpers/modes';
import { listen, type Running } from '../helpers/servers';
import { until } from '../helpers/wait';

const HINTS = 'HTTP/1.1 103 Early Hints\r\nLink: </style.css>; rel=preload; as=style\r\n\r\n';
const OK = 'HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nfine';

interface Informational {
  status: number;
  rawHeaders: string[];
}

interface HintedReply {
  interim: Informational[];
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/** A GET over HTTP/1.1 that records every 1xx the client sees ('information') before the final response. */
function hinted(url: string, headers: http.OutgoingHttpHeaders = {}): Promise<HintedReply> {
  return new Promise((resolve, reject) => {
    const interim: Informational[] = [];
    const req = http.get(url, { agent: false, headers }, (res) => {
      let body = '';
      res.setEncoding('latin1');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ interim, status: res.statusCode!, headers: res.headers, body }));
      res.on('error', reject);
    });
    req.on('information', (info) => interim.push({ status: info.statusCode, rawHeaders: info.rawHeaders }));
    req.on('error', reject);
  });
}

/** Sends raw request bytes; resolves with everything the server wrote until it closed. */
function raw(port: number, bytes: string): Promise<string> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    let text = '';
    socket.on('data', (chunk) => (text += chunk.toString('latin1')));
    socket.on('error', () => {});
    socket.on('close', () => resolve(text));
    socket.write(bytes);
  });
}

interface AnsweringUpstream extends Running {
  /** Request heads received, in order, over every connection. */
  requests: string[];
}

/** A raw TCP upstream answering each request head (GETs, no bodies) with the exact bytes `answer` gives, keeping connections open. */
async function answeringUpstream(answer: (head: string, index: number) => string | Promise<string>): Promise<AnsweringUpstream> {
  const requests: string[] = [];
  const running = await listen(
    net.createServer((socket) => {
      let buffered = '';
      socket.on('error', () => {});
      socket.on('data', (chunk) => {
        buffered += chunk.toString('latin1');
        for (let end = buffered.indexOf('\r\n\r\n'); end !== -1; end = buffered.indexOf('\r\n\r\n')) {
          const head = buffered.slice(0, end);
          buffered = buffered.slice(end + 4);
          void Promise.resolve(answer(head, requests.push(head) - 1)).then((bytes) => socket.write(bytes));
        }
      });
    }),
  );
  return { ...running, requests };
}

describe.each(ADAPTER_MODES)('103 Early Hints from the upstream (%s, %s mode)', (adapter, mode) => {
  let origin: AnsweringUpstream;
  let gw: EngineGateway;

  afterEach(async () => {
    await gw.close();
    await origin.close();
  });

  async function through(answer: string) {
    origin = await answeringUpstream(() => answer);
    gw = await gatewayFor(adapter)(({ fetch, url }) => fetch(`${origin.url}${url}`, { mode }));
  }

  it('reach an HTTP/1.1 client with their Link values, before the final response', async () => {
    await through(HINTS + OK);
    const reply = await hinted(`${gw.url}/page`);
    expect(reply.interim).toEqual([{ status: 103, rawHeaders: [expect.stringMatching(/^link$/i), '</style.css>; rel=preload; as=style'] }]);
    expect([reply.status, reply.body]).toEqual([200, 'fine']);
    expect(reply.headers.link).toBeUndefined();
    expect((await gw.handles[0]!.done).error).toBeUndefined();
    expect(origin.requests).toHaveLength(1);
  });

  it('never reach an HTTP/1.0 client, which gets the final response alone', async () => {
    await through(HINTS + OK);
    const text = await raw(gw.port, 'GET /page HTTP/1.0\r\nHost: x\r\n\r\n');
    expect(text).toMatch(/^HTTP\/1\.[01] 200 OK\r\n/);
    expect(text).not.toContain('103');
    expect(text.endsWith('\r\n\r\nfine')).toBe(true);
  });
});

describe.each(MODES)('interim responses from the upstream (engine, %s mode)', (mode) => {
  let origin: AnsweringUpstream;
  let gw: EngineGateway;

  afterEach(async () => {
    await gw.close();
    await origin.close();
  });

  async function through(answer: (head: string, index: number) => string | Promise<string>, options = {}, call = {}) {
    origin = await answeringUpstream(answer);
    gw = await engineGateway(({ fetch, url }) => fetch(`${origin.url}${url}`, { mode, ...call }), options);
  }

  it('relay a 103 as it was sent, byte for byte on the wire, with nothing but its Link fields', async () => {
    const hints = 'HTTP/1.1 103 Early Hints\r\nLink: </a.css>; rel=preload\r\nConnection: x-hop\r\nX-Hop: 1\r\nX-Other: 2\r\nLink: </b.js>; rel=preload\r\n\r\n';
    await through(() => hints + OK);
    const text = await raw(gw.port, 'GET /page HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
    const [interim, final] = text.split(/\r\n\r\n(?=HTTP)/);
    expect(interim).toMatch(/^HTTP\/1\.1 103 Early Hints\r\n/);
    expect(interim!.toLowerCase()).not.toMatch(/x-hop|x-other|connection/);
    expect(interim).toMatch(/link: <\/a\.css>; rel=preload(\r\n|, )/i);
    expect(interim).toMatch(/<\/b\.js>; rel=preload$/i);
    expect(final).toMatch(/^HTTP\/1\.1 200 OK\r\n/);
    expect(final!.endsWith('\r\n\r\nfine')).toBe(true);
  });

  it('relay every 103 that comes before the final head, in order', async () => {
    await through(() => `${HINTS}HTTP/1.1 103 Early Hints\r\nLink: </second.js>; rel=preload\r\n\r\n${OK}`);
    const reply = await hinted(`${gw.url}/page`);
    expect(reply.interim.map((info) => [info.status, info.rawHeaders[1]])).toEqual([
      [103, '</style.css>; rel=preload; as=style'],
      [103, '</second.js>; rel=preload'],
    ]);
    expect(reply.body).toBe('fine');
  });

  it.each([
    ['an unsolicited 100 Continue', 'HTTP/1.1 100 Continue\r\n\r\n'],
    ['102 Processing', 'HTTP/1.1 102 Processing\r\n\r\n'],
    ['an unknown 1xx', 'HTTP/1.1 150 Whatever\r\nLink: </a.css>; rel=preload\r\n\r\n'],
    ['a 103 whose only Link value is not one', 'HTTP/1.1 103 Early Hints\r\nLink: garbage\r\n\r\n'],
    ['a 103 without Link', 'HTTP/1.1 103 Early Hints\r\nX-Other: 1\r\n\r\n'],
  ])('drop %s: the client gets the final response alone', async (_what, interim) => {
    await through(() => interim + OK);
    const reply = await hinted(`${gw.url}/page`);
    expect(reply.interim).toEqual([]);
    expect([reply.status, reply.body]).toEqual([200, 'fine']);
    expect((await gw.handles[0]!.done).error).toBeUndefined();
    expect(origin.requests).toHaveLength(1);
  });

  it('relay the 103 after an unsolicited 100, never the 100 (the client sent no Expect)', async () => {
    await through(() => `HTTP/1.1 100 Continue\r\n\r\n${HINTS}${OK}`);
    const reply = await hinted(`${gw.url}/page`);
    expect(reply.interim.map((info) => info.status)).toEqual([103]);
    expect(reply.body).toBe('fine');
  });

  it("send the client one 100 Continue for its Expect (the proxy's own), never the upstream's, then the 103", async () => {
    await through(() => `HTTP/1.1 100 Continue\r\n\r\n${HINTS}${OK}`);
    const text = await new Promise<string>((resolve) => {
      const socket = net.connect(gw.port, '127.0.0.1');
      let received = '';
      let sent = false;
      socket.on('data', (chunk) => {
        received += chunk.toString('latin1');
        if (!sent && received.startsWith('HTTP/1.1 100 ')) {
          sent = true;
          socket.write('body');
        }
      });
      socket.on('error', () => {});
      socket.on('close', () => resolve(received));
      socket.write('POST /upload HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 4\r\nConnection: close\r\n\r\n');
    });
    expect(text.match(/HTTP\/1\.1 1\d\d/g)).toEqual(['HTTP/1.1 100', 'HTTP/1.1 103']);
    expect(text.endsWith('\r\n\r\nfine')).toBe(true);
    expect(origin.requests[0]!.toLowerCase()).not.toContain('expect');
  });

  it('drop the invalid Link values of a 103 and relay the valid ones', async () => {
    await through(() => `HTTP/1.1 103 Early Hints\r\nLink: garbage\r\nLink: </ok.css>; rel=preload, nonsense\r\n\r\n${OK}`);
    const reply = await hinted(`${gw.url}/page`);
    expect(reply.interim).toEqual([{ status: 103, rawHeaders: [expect.stringMatching(/^link$/i), '</ok.css>; rel=preload'] }]);
    expect(reply.body).toBe('fine');
  });

  it('relay the 103s of every redirect hop followed, before the final head', async () => {
    const redirect = 'HTTP/1.1 103 Early Hints\r\nLink: </hop.css>; rel=preload\r\n\r\nHTTP/1.1 302 Found\r\nLocation: /to\r\nContent-Length: 0\r\n\r\n';
    await through((head) => (head.startsWith('GET /from ') ? redirect : HINTS + OK), {}, { followRedirects: 1 });
    const reply = await hinted(`${gw.url}/from`);
    expect(reply.interim.map((info) => info.rawHeaders[1])).toEqual(['</hop.css>; rel=preload', '</style.css>; rel=preload; as=style']);
    expect([reply.status, reply.body]).toEqual([200, 'fine']);
  });

  it.each([
    ['a 103', HINTS, [103]],
    ['an unsolicited 100', 'HTTP/1.1 100 Continue\r\n\r\n', []],
  ])('never resend a request reset after %s: the upstream had read it, so the client gets a 502', async (_what, interim, relayed) => {
    const scripted = await scriptedUpstream([{ request: true }, { send: interim }, { wait: 20 }, { reset: true }]);
    origin = { ...scripted, requests: scripted.requests };
    gw = await engineGateway(({ fetch, url }) => fetch(`${origin.url}${url}`, { mode }));
    const reply = await hinted(`${gw.url}/page`);
    expect(reply.interim.map((info) => info.status)).toEqual(relayed);
    expect(reply.status).toBe(502);
    expect((await gw.handles[0]!.done).error!.code).toBe('HANDOFF_UPSTREAM_RESET');
    expect(scripted.requests).toHaveLength(1);
  });

  describe('with the cache on', () => {
    it('relay the 103 of a MISS and store the final response normally; the HIT replays no 103', async () => {
      await through(() => `${HINTS}HTTP/1.1 200 OK\r\nCache-Control: max-age=60\r\nContent-Length: 6\r\n\r\ncached`, { cache: true });
      const miss = await hinted(`${gw.url}/c`);
      expect(miss.interim.map((info) => info.status)).toEqual([103]);
      expect([miss.status, miss.body, miss.headers['x-cache']]).toEqual([200, 'cached', 'MISS']);
      const hit = await hinted(`${gw.url}/c`);
      expect(hit.interim).toEqual([]);
      expect([hit.status, hit.body, hit.headers['x-cache']]).toEqual([200, 'cached', 'HIT']);
      expect(hit.headers.link).toBeUndefined();
      expect(origin.requests).toHaveLength(1);
    });

    it('revalidate an entry answered 103 then 304: the 103 is relayed and the stored body served', async () => {
      await through(
        (_head, index) =>
          index === 0
            ? 'HTTP/1.1 200 OK\r\nCache-Control: no-cache\r\nETag: "v1"\r\nContent-Length: 6\r\n\r\nstored'
            : `${HINTS}HTTP/1.1 304 Not Modified\r\nCache-Control: no-cache\r\nETag: "v1"\r\n\r\n`,
        { cache: true },
      );
      const first = await hinted(`${gw.url}/r`);
      expect([first.status, first.body]).toEqual([200, 'stored']);
      for (let i = 0; i < 2; i++) {
        const revalidated = await hinted(`${gw.url}/r`);
        expect(revalidated.interim.map((info) => info.status)).toEqual([103]);
        expect([revalidated.status, revalidated.body]).toEqual([200, 'stored']);
      }
      expect(origin.requests).toHaveLength(3);
      expect(origin.requests[1]!.toLowerCase()).toContain('if-none-match: "v1"');
      for (const handle of gw.handles) expect((await handle.done).error).toBeUndefined();
    });
  });
});

describe('103 Early Hints on a pipelined HTTP/1.1 connection (response mode)', () => {
  let origin: AnsweringUpstream;
  let gw: EngineGateway;

  afterEach(async () => {
    await gw.close();
    await origin.close();
  });

  it('are not sent for a response queued behind another (Node would write them after its final response)', async () => {
    let releaseSlow!: () => void;
    const slow = new Promise<void>((resolve) => (releaseSlow = resolve));
    origin = await answeringUpstream(async (head) => {
      if (!head.startsWith('GET /slow ')) return HINTS + OK;
      await slow;
      return 'HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nslow';
    });
    gw = await engineGateway(({ fetch, url }) => fetch(`${origin.url}${url}`));
    const text = raw(gw.port, 'GET /slow HTTP/1.1\r\nHost: x\r\n\r\nGET /hinted HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
    // The hinted response is over upstream (its slot is back) while it waits behind the slow one.
    await until(() => origin.requests.length === 2 && gw.proxy.stats.inFlight === 1, 'the hinted response read from upstream');
    releaseSlow();
    expect((await text).match(/HTTP\/1\.1 \d+/g)).toEqual(['HTTP/1.1 200', 'HTTP/1.1 200']);
    expect(await text).toMatch(/^HTTP\/1\.1 200 OK\r\n[^]*\r\n\r\nslowHTTP\/1\.1 200 OK\r\n[^]*\r\n\r\nfine$/);
  });
});

describe('103 Early Hints to an HTTP/2 client', () => {
  const TLS = path.join(__dirname, '../fixtures/tls');
  let origin: AnsweringUpstream;
  let server: Running;
  let client: http2.ClientHttp2Session;
  const proxy = createProxy();
  const handles: ProxyHandle[] = [];

  beforeAll(async () => {
    origin = await answeringUpstream(() => HINTS + OK);
    const tls = { key: fs.readFileSync(path.join(TLS, 'server-key.pem')), cert: fs.readFileSync(path.join(TLS, 'server.pem')), allowHTTP1: true };
    server = await listen(
      http2.createSecureServer(tls, (req, res) => {
        handles.push(proxy.fetch(req as unknown as http.IncomingMessage, res as unknown as http.ServerResponse, `${origin.url}${req.url}`));
      }),
    );
    client = http2.connect(`https://127.0.0.1:${server.port}`, { ca: fs.readFileSync(path.join(TLS, 'ca.pem')) });
  });

  afterAll(async () => {
    client.close();
    await proxy.close({ timeout: 0 });
    await server.close();
    await origin.close();
  });

  it('arrive as a 103 HEADERS frame with the Link values, then the final response', async () => {
    const stream = client.request({ ':path': '/page' });
    const interim: http2.IncomingHttpHeaders[] = [];
    stream.on('headers', (headers) => interim.push(headers));
    const [final, body] = await Promise.all([
      new Promise<http2.IncomingHttpHeaders>((resolve) => stream.once('response', resolve)),
      new Promise<string>((resolve) => {
        let text = '';
        stream.setEncoding('latin1');
        stream.on('data', (chunk: string) => (text += chunk));
        stream.on('end', () => resolve(text));
      }),
    ]);
    expect(interim).toEqual([expect.objectContaining({ ':status': 103, link: '</style.css>; rel=preload; as=style' })]);
    expect([final[':status'], final.link, body]).toEqual([200, undefined, 'fine']);
    expect((await handles[0]!.done).error).toBeUndefined();
  });
});
