import { buildRequestHeaders, buildTargetHeaders, stripInstructionHeaders } from '../../../packages/core/src/headers/request-headers';
import { resolveCallOptions, resolveProxyOptions } from '../../../packages/core/src/options/resolve';
import type { ProxyCallOptions, ProxyOptions } from '../../../packages/core/src/types';
import { incoming } from '../helpers';

const CLIENT = { remoteAddress: '::ffff:203.0.113.7' };

/** The upstream headers for a client request under these proxy and call options. */
function upstreamHeaders(headers: Record<string, string>, call: ProxyCallOptions = {}, proxyOptions: ProxyOptions = {}) {
  const proxy = resolveProxyOptions(proxyOptions);
  return buildRequestHeaders(incoming(headers, CLIENT), resolveCallOptions(call, proxy), proxy);
}

/** The same, without the X-Forwarded-* fields the proxy adds. */
function forwarded(headers: Record<string, string>, call: ProxyCallOptions = {}, proxyOptions: ProxyOptions = {}) {
  return upstreamHeaders(headers, call, { xForwarded: false, ...proxyOptions });
}

const NEGOTIATION = {
  accept: 'text/html',
  'accept-encoding': 'gzip',
  'accept-language': 'en',
  range: 'bytes=0-9',
  'if-none-match': '"v1"',
  'if-modified-since': 'Tue, 01 Jul 2025 00:00:00 GMT',
  'if-range': '"v1"',
};

describe('buildRequestHeaders', () => {
  describe('by default', () => {
    it('forwards only content negotiation, range and conditional fields', () => {
      const sent = forwarded({
        ...NEGOTIATION,
        cookie: 'sid=1',
        authorization: 'Bearer t',
        'user-agent': 'curl',
        'x-custom': '1',
        'content-type': 'text/plain',
      });
      expect(sent).toEqual(NEGOTIATION);
    });

    it('never forwards a field the client lists in Connection, negotiation fields included', () => {
      expect(forwarded({ connection: 'Accept, close', accept: 'text/html', range: 'bytes=0-1' })).toEqual({ range: 'bytes=0-1' });
    });
  });

  describe('X-Forwarded-*', () => {
    it("sets For from the peer (IPv4-mapped prefix removed), Proto and Host, replacing the client's ('set')", () => {
      const sent = upstreamHeaders({
        host: 'app.example',
        'x-forwarded-for': '6.6.6.6',
        'x-forwarded-proto': 'https',
        'x-forwarded-host': 'evil.example',
      });
      expect(sent).toEqual({ 'x-forwarded-for': '203.0.113.7', 'x-forwarded-proto': 'http', 'x-forwarded-host': 'app.example' });
    });

    it('says https for an encrypted connection', () => {
      const proxy = resolveProxyOptions();
      const req = incoming({ host: 'a' }, { remoteAddress: '198.51.100.1', encrypted: true });
      expect(buildRequestHeaders(req, resolveCallOptions({}, proxy), proxy)['x-forwarded-proto']).toBe('https');
    });

    it('keeps an IPv6 peer address as it is', () => {
      const proxy = resolveProxyOptions();
      const req = incoming({}, { remoteAddress: '2001:db8::1' });
      expect(buildRequestHeaders(req, resolveCallOptions({}, proxy), proxy)['x-forwarded-for']).toBe('2001:db8::1');
    });

    it('takes the host from :authority when there is no Host (HTTP/2)', () => {
      expect(upstreamHeaders({ ':authority': 'h2.example' })['x-forwarded-host']).toBe('h2.example');
    });

    it('sets no X-Forwarded-Host without a host', () => {
      expect(upstreamHeaders({})).not.toHaveProperty('x-forwarded-host');
    });

    it("extends the client's chain with 'append'", () => {
      const sent = upstreamHeaders(
        { host: 'edge.example', 'x-forwarded-for': '192.0.2.1', 'x-forwarded-proto': 'https', 'x-forwarded-host': 'public.example' },
        {},
        { xForwarded: 'append' },
      );
      expect(sent).toEqual({ 'x-forwarded-for': '192.0.2.1, 203.0.113.7', 'x-forwarded-proto': 'https', 'x-forwarded-host': 'public.example' });
    });

    it("with 'append' and no chain, starts one", () => {
      const sent = upstreamHeaders({ host: 'edge.example' }, {}, { xForwarded: 'append' });
      expect(sent).toEqual({ 'x-forwarded-for': '203.0.113.7', 'x-forwarded-proto': 'http', 'x-forwarded-host': 'edge.example' });
    });

    it("with false sends none, and never the client's", () => {
      expect(forwarded({ 'x-forwarded-for': '6.6.6.6', 'x-forwarded-host': 'x', forwarded: 'for=6.6.6.6' }, { forwardHeaders: 'all' })).toEqual({});
    });

    it("cannot be removed by the client's Connection field", () => {
      const sent = upstreamHeaders({ connection: 'x-forwarded-for, x-forwarded-proto', host: 'a' });
      expect(sent['x-forwarded-for']).toBe('203.0.113.7');
      expect(sent['x-forwarded-proto']).toBe('http');
    });
  });

  describe('forwardHeaders as names', () => {
    it('forwards the named fields, in any case, besides the default set', () => {
      const sent = forwarded({ 'x-tenant': 't1', 'x-other': 'o', accept: '*/*' }, { forwardHeaders: ['X-Tenant'] });
      expect(sent).toEqual({ 'x-tenant': 't1', accept: '*/*' });
    });

    it('per call may name cookie and authorization', () => {
      expect(forwarded({ cookie: 'sid=1', authorization: 'Basic x' }, { forwardHeaders: ['cookie', 'authorization'] })).toEqual({
        cookie: 'sid=1',
        authorization: 'Basic x',
      });
    });

    it("adds a call's names to the proxy's", () => {
      const sent = forwarded({ 'x-a': 'a', 'x-b': 'b', 'x-c': 'c' }, { forwardHeaders: ['x-b'] }, { forwardHeaders: ['x-a'] });
      expect(sent).toEqual({ 'x-a': 'a', 'x-b': 'b' });
    });

    it('forwards a named body field even without the body', () => {
      expect(forwarded({ 'content-type': 'application/json' }, { forwardHeaders: ['content-type'] })).toEqual({ 'content-type': 'application/json' });
    });

    it('never forwards hop-by-hop fields, proxy fields or expect, even when named', () => {
      const names = ['connection', 'keep-alive', 'te', 'upgrade', 'proxy-authorization', 'host', 'forwarded', 'x-real-ip', 'expect'];
      const sent = forwarded(
        {
          connection: 'keep-alive',
          'keep-alive': '5',
          te: 'trailers',
          upgrade: 'h2c',
          'proxy-authorization': 'Basic p',
          host: 'h',
          forwarded: 'for=x',
          'x-real-ip': '1',
          expect: '100-continue',
        },
        { forwardHeaders: names },
      );
      expect(sent).toEqual({});
    });
  });

  describe("forwardHeaders: 'all' (per call)", () => {
    const CLIENT_HEADERS = {
      ...NEGOTIATION,
      cookie: 'sid=1',
      authorization: 'Bearer t',
      'user-agent': 'curl',
      'x-custom': '1',
      'x-listed': 'dropped by Connection',
      connection: 'keep-alive, x-listed',
      'keep-alive': 'timeout=5',
      te: 'trailers',
      upgrade: 'websocket',
      'proxy-authorization': 'Basic p',
      host: 'app.example',
      forwarded: 'for=6.6.6.6',
      'x-forwarded-for': '6.6.6.6',
      'x-real-ip': '6.6.6.6',
      expect: '100-continue',
      ':authority': 'app.example',
      ':path': '/x',
      'content-type': 'text/plain',
      'content-length': '5',
      'content-encoding': 'gzip',
      'content-language': 'en',
    };
    const END_TO_END = { ...NEGOTIATION, cookie: 'sid=1', authorization: 'Bearer t', 'user-agent': 'curl', 'x-custom': '1' };

    it('forwards every end-to-end field, credentials included, and none of the body fields without the body', () => {
      expect(forwarded(CLIENT_HEADERS, { forwardHeaders: 'all' })).toEqual(END_TO_END);
    });

    it('forwards the body fields with the body', () => {
      expect(forwarded(CLIENT_HEADERS, { forwardHeaders: 'all', body: 'request' })).toEqual({
        ...END_TO_END,
        'content-type': 'text/plain',
        'content-length': '5',
        'content-encoding': 'gzip',
        'content-language': 'en',
      });
    });

    it('never forwards instruction headers when the call has offload rules', () => {
      const sent = forwarded(
        { 'x-accel-redirect': '/internal/x', 'x-sendfile-type': 'X-Sendfile', 'offload-url': 'http://x/', 'x-kept': '1' },
        { forwardHeaders: 'all', offload: {} },
      );
      expect(sent).toEqual({ 'x-kept': '1' });
    });

    it("never forwards instruction headers with 'all', even without offload rules (a backend may trust them)", () => {
      const sent = forwarded({ 'x-accel-mapping': '/=/etc/', 'x-sendfile-type': 'X-Accel-Redirect', 'offload-url': 'http://x/', 'x-kept': '1' }, { forwardHeaders: 'all' });
      expect(sent).toEqual({ 'x-kept': '1' });
    });

    it('forwards an instruction header a call names, without offload rules (its own choice)', () => {
      const sent = forwarded({ 'x-accel-buffering': 'no' }, { forwardHeaders: ['X-Accel-Buffering'] });
      expect(sent).toEqual({ 'x-accel-buffering': 'no' });
    });
  });

  describe('forwardHeaders as a predicate', () => {
    it('forwards the fields it returns true for, seeing lower-case names', () => {
      const asked: string[] = [];
      const sent = forwarded(
        { 'x-a': 'a', 'x-b': 'b' },
        {
          forwardHeaders: (name) => {
            asked.push(name);
            return name === 'x-a';
          },
        },
      );
      expect(sent).toEqual({ 'x-a': 'a' });
      expect(asked.sort()).toEqual(['x-a', 'x-b']);
    });

    it('forwards only on exactly true, not on a truthy value', () => {
      expect(forwarded({ 'x-a': 'a' }, { forwardHeaders: (() => 1) as unknown as () => boolean })).toEqual({});
    });

    it('per call may forward cookie and authorization', () => {
      expect(forwarded({ cookie: 'c', authorization: 'a' }, { forwardHeaders: () => true })).toEqual({ cookie: 'c', authorization: 'a' });
    });

    it('at the proxy level never forwards cookie or authorization', () => {
      expect(forwarded({ cookie: 'c', authorization: 'a', 'x-a': 'a' }, {}, { forwardHeaders: () => true })).toEqual({ 'x-a': 'a' });
    });

    it("is combined with the proxy's policy", () => {
      const sent = forwarded({ 'x-a': 'a', 'x-b': 'b' }, { forwardHeaders: (name) => name === 'x-b' }, { forwardHeaders: ['x-a'] });
      expect(sent).toEqual({ 'x-a': 'a', 'x-b': 'b' });
    });

    it('is never asked about hop-by-hop fields, proxy fields, expect or pseudo-headers', () => {
      const asked: string[] = [];
      forwarded(
        { connection: 'close', 'proxy-authorization': 'p', host: 'h', 'x-forwarded-for': 'x', expect: '100-continue', ':path': '/', 'x-a': 'a' },
        { forwardHeaders: (name) => asked.push(name) > 0 },
      );
      expect(asked).toEqual(['x-a']);
    });
  });

  describe('the body fields', () => {
    it('go along with body: request', () => {
      expect(forwarded({ 'content-type': 'application/json', 'content-length': '2' }, { body: 'request' })).toEqual({
        'content-type': 'application/json',
        'content-length': '2',
      });
    });

    it("stay behind with the call's own body", () => {
      expect(forwarded({ 'content-type': 'application/json', 'content-length': '2' }, { body: 'own body' })).toEqual({});
    });

    it("lose the client's content-length when the client's body is chunked (undici re-frames it)", () => {
      const sent = forwarded({ 'content-type': 'text/plain', 'content-length': '5', 'transfer-encoding': 'chunked' }, { body: 'request' });
      expect(sent).toEqual({ 'content-type': 'text/plain' });
    });
  });

  describe("the call's own headers", () => {
    it('win over forwarded fields and the X-Forwarded-* the proxy sets', () => {
      const sent = upstreamHeaders(
        { accept: 'text/html', host: 'a' },
        { headers: { Accept: 'application/json', 'X-Forwarded-Proto': 'https', cookie: 'svc=1', 'x-list': ['1', '2'] } },
      );
      expect(sent).toEqual({
        accept: 'application/json',
        'x-forwarded-for': '203.0.113.7',
        'x-forwarded-proto': 'https',
        'x-forwarded-host': 'a',
        cookie: 'svc=1',
        'x-list': ['1', '2'],
      });
    });
  });
});

describe('buildTargetHeaders', () => {
  const proxy = resolveProxyOptions();

  it('sends only negotiation fields and X-Forwarded-*, whatever else the client sent', () => {
    const req = incoming({ ...NEGOTIATION, cookie: 'sid=1', authorization: 'a', 'x-custom': '1', host: 'app.example' }, CLIENT);
    expect(buildTargetHeaders(req, proxy, {})).toEqual({
      ...NEGOTIATION,
      'x-forwarded-for': '203.0.113.7',
      'x-forwarded-proto': 'http',
      'x-forwarded-host': 'app.example',
    });
  });

  it('drops a negotiation field the client lists in Connection', () => {
    const req = incoming({ connection: 'range', range: 'bytes=0-1', accept: '*/*' }, CLIENT);
    expect(buildTargetHeaders(req, resolveProxyOptions({ xForwarded: false }), {})).toEqual({ accept: '*/*' });
  });

  it('puts the extra headers last, so they win', () => {
    const req = incoming({ accept: 'text/html' }, CLIENT);
    const sent = buildTargetHeaders(req, resolveProxyOptions({ xForwarded: false }), { accept: 'image/png', 'x-token': 't' });
    expect(sent).toEqual({ accept: 'image/png', 'x-token': 't' });
  });
});

describe('stripInstructionHeaders', () => {
  it('removes Offload-*, X-Accel-* and X-Sendfile* from the parsed and the raw headers, keeping the rest in order', () => {
    const req = incoming({});
    req.headers = { 'offload-url': 'http://x/', 'x-accel-redirect': '/i/', 'x-sendfile-type': 'X-Sendfile', accept: '*/*', 'x-a': '1' };
    req.rawHeaders = ['Offload-Url', 'http://x/', 'Accept', '*/*', 'X-ACCEL-REDIRECT', '/i/', 'X-A', '1', 'x-sendfile-type', 'X-Sendfile'];
    stripInstructionHeaders(req);
    expect(req.headers).toEqual({ accept: '*/*', 'x-a': '1' });
    expect(req.rawHeaders).toEqual(['Accept', '*/*', 'X-A', '1']);
  });

  it('leaves a request without instruction headers untouched', () => {
    const req = incoming({ accept: '*/*' });
    const raw = req.rawHeaders;
    stripInstructionHeaders(req);
    expect(req.headers).toEqual({ accept: '*/*' });
    expect(req.rawHeaders).toBe(raw);
    expect(raw).toEqual(['accept', '*/*']);
  });
});
