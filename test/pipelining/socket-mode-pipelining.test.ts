// RELIABILITY J41: a client pipelines requests on one connection. A socket-mode transfer
// writes on the connection itself, so it may only do so as the connection's current
// response: no response may ever carry another request's bytes.
import http from 'node:http';
import { createProxy, type ProxyCallOptions, type ProxyHandle } from '@handoff/core';
import { rawRequest } from '../helpers/client';
import { listen, upstream, type Running } from '../helpers/servers';

interface Parsed {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/** Parses HTTP/1.1 responses one after another; returns them and whatever bytes are left over. */
function parseResponses(text: string): { responses: Parsed[]; rest: string } {
  const responses: Parsed[] = [];
  let rest = text;
  for (;;) {
    const end = rest.indexOf('\r\n\r\n');
    if (end === -1) break;
    const [statusLine, ...lines] = rest.slice(0, end).split('\r\n');
    const headers: Record<string, string> = {};
    for (const line of lines) {
      const at = line.indexOf(':');
      headers[line.slice(0, at).toLowerCase()] = line.slice(at + 1).trim();
    }
    let body = '';
    let after = rest.slice(end + 4);
    if (headers['content-length'] !== undefined) {
      const length = Number(headers['content-length']);
      if (after.length < length) break;
      body = after.slice(0, length);
      after = after.slice(length);
    } else if (headers['transfer-encoding'] === 'chunked') {
      let complete = false;
      for (;;) {
        const line = after.indexOf('\r\n');
        if (line === -1) break;
        const size = parseInt(after.slice(0, line), 16);
        if (Number.isNaN(size) || after.length < line + 2 + size + 2) break;
        if (size === 0) {
          after = after.slice(line + 4);
          complete = true;
          break;
        }
        body += after.slice(line + 2, line + 2 + size);
        after = after.slice(line + 2 + size + 2);
      }
      if (!complete) break;
    }
    responses.push({ status: Number(statusLine!.split(' ')[1]), headers, body });
    rest = after;
  }
  return { responses, rest };
}

describe('pipelined requests and socket mode (RELIABILITY J41)', () => {
  let origin: Running;
  let gateway: Running | undefined;
  const proxy = createProxy();
  const upstreamPaths: string[] = [];
  const handles = new Map<string, ProxyHandle>();

  beforeAll(async () => {
    origin = await upstream((req, res) => {
      upstreamPaths.push(req.url!);
      if (req.url!.startsWith('/slow-length')) {
        res.writeHead(200, { 'content-length': '8' });
        res.write('slow-');
        setTimeout(() => res.end('end'), 150);
      } else if (req.url!.startsWith('/slow')) {
        res.writeHead(200, { 'content-type': 'text/plain' });
        res.write('slow-');
        setTimeout(() => res.end('end'), 150);
      } else {
        res.end('fast');
      }
    });
  });

  afterEach(async () => {
    await gateway?.close();
    gateway = undefined;
    upstreamPaths.length = 0;
    handles.clear();
  });

  afterAll(async () => {
    await proxy.close({ timeout: 0 });
    await origin.close();
  });

  /** Every request is proxied to the origin's same path, in the mode its query names (`?socket`). */
  async function start(extra: ProxyCallOptions = {}) {
    gateway = await listen(
      http.createServer((req, res) => {
        const [pathname, query] = req.url!.split('?');
        handles.set(pathname!, proxy.fetch(req, res, `${origin.url}${pathname}`, { ...extra, mode: query === 'socket' ? 'socket' : 'response' }));
      }),
    );
    return gateway;
  }

  const pipelined = (...paths: string[]) => paths.map((p) => `GET ${p} HTTP/1.1\r\nHost: x\r\n\r\n`).join('');

  it.each(['/slow', '/slow-length'])(
    'a socket-mode response (%s) is never interleaved with a pipelined socket-mode request behind it: that one waits, then is dropped with the connection',
    async (slow) => {
      const gw = await start();
      const reply = await rawRequest(gw.port, pipelined(`${slow}?socket`, '/fast?socket'));
      const { responses, rest } = parseResponses(reply.text);
      expect(responses).toHaveLength(1);
      expect(responses[0]).toMatchObject({ status: 200, body: 'slow-end' });
      expect(responses[0]!.headers.connection).toBe('close');
      expect(rest).toBe('');
      expect(reply.text).not.toContain('fast');
      // The request behind it never reached the upstream, and settled as its client's connection closed.
      expect(upstreamPaths).toEqual([slow]);
      expect((await handles.get('/fast')!.done).error!.code).toBe('HANDOFF_CLIENT_ABORTED');
      expect((await handles.get(slow)!.done).error).toBeUndefined();
    },
  );

  it('a socket-mode request pipelined behind a response-mode one waits for it, then answers on the connection, in order', async () => {
    const gw = await start();
    const reply = await rawRequest(gw.port, pipelined('/slow', '/fast?socket'));
    const { responses, rest } = parseResponses(reply.text);
    expect(responses.map((r) => [r.status, r.body])).toEqual([
      [200, 'slow-end'],
      [200, 'fast'],
    ]);
    expect(responses[1]!.headers.connection).toBe('close');
    expect(rest).toBe('');
    expect((await handles.get('/fast')!.done).error).toBeUndefined();
  });

  it('a response-mode request pipelined behind a socket-mode one never writes into it', async () => {
    const gw = await start();
    const reply = await rawRequest(gw.port, pipelined('/slow-length?socket', '/fast'));
    const { responses, rest } = parseResponses(reply.text);
    expect(responses).toHaveLength(1);
    expect(responses[0]).toMatchObject({ status: 200, body: 'slow-end' });
    expect(rest).toBe('');
    expect(reply.text).not.toContain('fast');
  });
});
