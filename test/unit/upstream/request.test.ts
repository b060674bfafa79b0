import { describeRequest, redirected, requestUrl } from '../../../packages/core/src/upstream/request';
import { NO_DISPATCHER, upstreamRequest } from '../helpers';

const HEADERS = {
  accept: 'application/json',
  authorization: 'Bearer secret',
  cookie: 'sid=1',
  'proxy-authorization': 'Basic p',
  'content-type': 'application/json',
  'content-length': '2',
  'content-encoding': 'identity',
  'content-language': 'en',
  'x-trace': 't1',
};

describe('describeRequest', () => {
  it('is the method and the parsed URL', () => {
    expect(describeRequest(upstreamRequest({ url: new URL('http://a.example/x?y=1'), method: 'POST' }))).toBe('POST http://a.example/x?y=1');
  });

  it("uses the call's raw request target after the origin when there is one", () => {
    const request = upstreamRequest({ url: new URL('http://a.example/ignored'), rawPath: '/raw/%2e%2e?q' });
    expect(describeRequest(request)).toBe('GET http://a.example/raw/%2e%2e?q');
  });

  it('never shows credentials in the URL', () => {
    expect(describeRequest(upstreamRequest({ url: new URL('http://u:pw@a.example/') }))).toBe('GET http://a.example/');
  });

  it('names where a redirect came from', () => {
    const request = upstreamRequest({ url: new URL('http://a.example/new'), redirectedFrom: 'GET http://a.example/old' });
    expect(describeRequest(request)).toBe('GET http://a.example/new (redirected from GET http://a.example/old)');
  });
});

describe('requestUrl', () => {
  it('is the URL, or the raw target resolved against its origin', () => {
    const url = new URL('http://a.example/parsed');
    expect(requestUrl(upstreamRequest({ url }))).toBe(url);
    expect(requestUrl(upstreamRequest({ url, rawPath: '/raw?x=1' })).href).toBe('http://a.example/raw?x=1');
  });
});

describe('redirected', () => {
  const first = upstreamRequest({
    url: new URL('http://a.example/old'),
    method: 'POST',
    headers: HEADERS,
    body: '{}',
    rawPath: '/old?raw',
  });

  it('keeps credentials on the same origin', () => {
    const next = redirected(first, { url: new URL('http://a.example/new'), method: 'POST', keepBody: true });
    expect(next.headers).toEqual(HEADERS);
  });

  it('drops authorization, cookie and proxy-authorization across origins, keeping the rest', () => {
    const next = redirected(first, { url: new URL('http://b.example/new'), method: 'POST', keepBody: true });
    expect(next.headers).toEqual({
      accept: 'application/json',
      'content-type': 'application/json',
      'content-length': '2',
      'content-encoding': 'identity',
      'content-language': 'en',
      'x-trace': 't1',
    });
  });

  it('counts a change of scheme or port as another origin', () => {
    expect(redirected(first, { url: new URL('https://a.example/new'), method: 'GET', keepBody: true }).headers).not.toHaveProperty('cookie');
    expect(redirected(first, { url: new URL('http://a.example:8080/new'), method: 'GET', keepBody: true }).headers).not.toHaveProperty(
      'authorization',
    );
  });

  it('drops the body and the fields describing it when the hop drops the body', () => {
    const next = redirected(first, { url: new URL('http://a.example/new'), method: 'GET', keepBody: false });
    expect(next.body).toBeUndefined();
    expect(next.method).toBe('GET');
    expect(next.headers).toEqual({
      accept: 'application/json',
      authorization: 'Bearer secret',
      cookie: 'sid=1',
      'proxy-authorization': 'Basic p',
      'x-trace': 't1',
    });
  });

  it('keeps the body when the hop keeps it', () => {
    expect(redirected(first, { url: new URL('http://a.example/new'), method: 'POST', keepBody: true }).body).toBe('{}');
  });

  it('makes a new request without touching the one it came from', () => {
    const next = redirected(first, { url: new URL('http://b.example/new'), method: 'GET', keepBody: false });
    expect(next).not.toBe(first);
    expect(first.headers).toEqual(HEADERS);
    expect(first.body).toBe('{}');
    expect(first.hops).toBe(0);
    expect(next.dispatcher).toBe(NO_DISPATCHER);
  });

  it('sends the hop as parsed (no raw target), counts hops and chains the descriptions', () => {
    const second = redirected(first, { url: new URL('http://a.example/mid'), method: 'GET', keepBody: false });
    expect(second.rawPath).toBeUndefined();
    expect(second.hops).toBe(1);
    expect(second.redirectedFrom).toBe('POST http://a.example/old?raw');
    const third = redirected(second, { url: new URL('http://c.example/end'), method: 'GET', keepBody: false });
    expect(third.hops).toBe(2);
    expect(describeRequest(third)).toBe(
      'GET http://c.example/end (redirected from GET http://a.example/mid (redirected from POST http://a.example/old?raw))',
    );
  });
});
