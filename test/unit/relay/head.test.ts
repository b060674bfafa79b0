import http from 'node:http';
import { ProxyError } from '../../../packages/core/src/errors';
import { declaredLength, draftHead, finalHead, hookFailed, HookTimeout, runHook } from '../../../packages/core/src/relay/head';
import type { SourceHead } from '../../../packages/core/src/relay/source';
import type { ResponseHead } from '../../../packages/core/src/types';
import { incoming } from '../helpers';

function source(fields: Partial<SourceHead> = {}): SourceHead {
  return { status: 200, headers: {}, length: 10, hasBody: true, headOnly: false, rateLimit: undefined, ...fields };
}

function exchange(method = 'GET') {
  const req = incoming({}, { method });
  return { req, res: new http.ServerResponse(req) };
}

describe('declaredLength', () => {
  it("is the source's length for a request sent as it was", () => {
    expect(declaredLength(source({ length: 10 }), exchange().req)).toBe(10);
    expect(declaredLength(source({ length: null }), exchange().req)).toBeNull();
  });

  it('is 0 for a HEAD sent on behalf of a GET: the client gets an empty body', () => {
    expect(declaredLength(source({ length: 10, headOnly: true }), exchange('GET').req)).toBe(0);
    expect(declaredLength(source({ length: null, headOnly: true }), exchange('GET').req)).toBe(0);
  });

  it("is the source's length for the client's own HEAD", () => {
    expect(declaredLength(source({ length: 10, headOnly: true }), exchange('HEAD').req)).toBe(10);
  });

  it("is the source's length for a bodiless status", () => {
    expect(declaredLength(source({ status: 304, length: 10, headOnly: true }), exchange('GET').req)).toBe(10);
    expect(declaredLength(source({ status: 204, length: null, headOnly: true }), exchange('GET').req)).toBeNull();
  });
});

describe('draftHead', () => {
  it("is the source's status and headers", () => {
    const { req, res } = exchange();
    expect(draftHead(source({ status: 201, headers: { 'content-type': 'text/plain' } }), req, res, undefined)).toEqual({
      status: 201,
      headers: { 'content-type': 'text/plain' },
    });
  });

  it("applies an offload's kept headers, merging Vary", () => {
    const { req, res } = exchange();
    const head = draftHead(source({ headers: { vary: 'Accept', 'cache-control': 'public' } }), req, res, { vary: 'Cookie', 'cache-control': 'private' });
    expect(head.headers).toEqual({ vary: 'Accept, Cookie', 'cache-control': 'private' });
  });

  it('frames an empty body for a HEAD sent on behalf of a GET', () => {
    const { req, res } = exchange('GET');
    expect(draftHead(source({ headOnly: true, headers: { 'content-length': '10' } }), req, res, undefined).headers).toEqual({ 'content-length': '0' });
  });

  it("leaves the length of the client's own HEAD, and of a bodiless status, alone", () => {
    const head = exchange('HEAD');
    expect(draftHead(source({ headOnly: true, headers: { 'content-length': '10' } }), head.req, head.res, undefined).headers).toEqual({
      'content-length': '10',
    });
    const get = exchange('GET');
    expect(draftHead(source({ status: 304, headOnly: true, headers: {} }), get.req, get.res, undefined).headers).toEqual({});
  });

  it('puts the headers the app set before the hand-off over the source, and removes them from the response', () => {
    const { req, res } = exchange();
    res.setHeader('Access-Control-Allow-Origin', '*');
    res.setHeader('Cache-Control', 'no-store');
    res.setHeader('X-Count', 3);
    const head = draftHead(source({ headers: { 'cache-control': 'max-age=60', etag: '"1"' } }), req, res, undefined);
    expect(head.headers).toEqual({ 'cache-control': 'no-store', etag: '"1"', 'access-control-allow-origin': '*', 'x-count': '3' });
    expect(res.getHeaderNames()).toEqual([]);
  });

  it("drops the app's framing fields: the proxy frames the proxied body itself", () => {
    const { req, res } = exchange();
    res.setHeader('Content-Length', 3);
    res.setHeader('Transfer-Encoding', 'chunked');
    res.setHeader('Keep-Alive', 'timeout=5');
    res.setHeader('Connection', 'keep-alive');
    res.setHeader('Upgrade', 'h2c');
    res.setHeader('X-Kept', 'yes');
    const head = draftHead(source({ headers: { 'content-length': '10' } }), req, res, undefined);
    expect(head.headers).toEqual({ 'content-length': '10', 'x-kept': 'yes' });
    expect(res.getHeaderNames()).toEqual([]);
  });

  it('honours Connection: close by leaving it on the response for Node, and nowhere in the head', () => {
    const { req, res } = exchange();
    res.setHeader('Connection', 'Keep-Alive, Close');
    const head = draftHead(source({ headers: {} }), req, res, undefined);
    expect(head.headers).toEqual({});
    expect(res.getHeaders()).toEqual({ connection: 'close' });
  });
});

describe('runHook', () => {
  const head = (): ResponseHead => ({ status: 200, headers: { 'x-a': '1' } });
  const TARGET = 'GET http://origin/x';

  it('returns the draft itself when the call has no hook', () => {
    const original = head();
    expect(runHook(undefined, original, TARGET, 0)).toBe(original);
  });

  it('returns the same head when a sync hook returns nothing (it may have changed it)', () => {
    const original = head();
    const result = runHook(
      (h) => {
        h.headers['x-b'] = '2';
      },
      original,
      TARGET,
      0,
    );
    expect(result).toBe(original);
    expect(original.headers).toEqual({ 'x-a': '1', 'x-b': '2' });
  });

  it('returns the replacement a sync hook returns, synchronously', () => {
    const replacement = { status: 404, headers: {} };
    expect(runHook(() => replacement, head(), TARGET, 0)).toBe(replacement);
  });

  it('returns a promise of the head when the hook is async', async () => {
    const original = head();
    const result = runHook(async () => undefined, original, TARGET, 1_000);
    expect(result).toBeInstanceOf(Promise);
    await expect(result).resolves.toBe(original);
  });

  it('returns a promise of the replacement an async hook resolves to', async () => {
    const replacement = { status: 410, headers: {} };
    await expect(runHook(async () => replacement, head(), TARGET, 1_000)).resolves.toBe(replacement);
  });

  it('turns what a sync hook throws into HANDOFF_HOOK_FAILED with it as the cause; an async rejection stays a rejection', async () => {
    const boom = new Error('boom');
    const result = runHook(
      () => {
        throw boom;
      },
      head(),
      TARGET,
      0,
    );
    expect(result).toBeInstanceOf(ProxyError);
    expect(result).toMatchObject({ code: 'HANDOFF_HOOK_FAILED', message: `onHeaders failed: ${TARGET}`, cause: boom });
    await expect(runHook(async () => Promise.reject(boom), head(), TARGET, 1_000)).rejects.toBe(boom);
  });

  it('rejects with a HookTimeout once an async hook has not settled within the timeout; hookFailed says so', async () => {
    const pending = runHook(() => new Promise<void>(() => {}), head(), TARGET, 50);
    const err = await (pending as Promise<ResponseHead>).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(HookTimeout);
    expect(hookFailed(err, TARGET)).toMatchObject({
      code: 'HANDOFF_HOOK_FAILED',
      status: 502,
      message: `onHeaders did not settle within 50 ms (headersTimeout): ${TARGET}`,
    });
  });

  it('hookFailed names the request and keeps the cause', () => {
    const cause = new Error('late');
    expect(hookFailed(cause, TARGET)).toMatchObject({ code: 'HANDOFF_HOOK_FAILED', status: 502, cause });
  });
});

describe('finalHead', () => {
  const TARGET = 'GET http://origin/x';
  const final = (head: ResponseHead, length: number | null, method = 'GET', hooked = false) => {
    const { req, res } = exchange(method);
    return finalHead(head, length, req, res, hooked, TARGET);
  };

  it('takes in what an onHeaders set on the response itself, by the preset rules, the head winning', () => {
    const { req, res } = exchange();
    res.setHeader('content-length', '3');
    res.setHeader('transfer-encoding', 'chunked');
    res.setHeader('x-late', 'from res');
    res.setHeader('x-both', 'from res');
    const head = { status: 200, headers: { 'content-length': '10', 'x-both': 'from head' } };
    expect(finalHead(head, 10, req, res, true, TARGET)).toEqual({
      status: 200,
      headers: { 'content-length': '10', 'x-both': 'from head', 'x-late': 'from res' },
      length: 10,
      hasBody: true,
    });
    expect(res.getHeaderNames()).toEqual([]);
  });

  it('frames a valid head with its length and a body', () => {
    expect(final({ status: 200, headers: { 'content-length': '10' } }, 10)).toEqual({
      status: 200,
      headers: { 'content-length': '10' },
      length: 10,
      hasBody: true,
    });
  });

  it('has no length when the head carries no content-length (chunked)', () => {
    expect(final({ status: 200, headers: {} }, 10)).toMatchObject({ length: null, hasBody: true });
  });

  it('says what is wrong with an invalid head, as HANDOFF_INVALID_HEADER naming who produced it', () => {
    expect(final({ status: 200, headers: { 'content-length': '9' } }, 10)).toMatchObject({
      code: 'HANDOFF_INVALID_HEADER',
      message: `Upstream sent an invalid response head (content-length "9" does not match the upstream body; remove it rather than change it): ${TARGET}`,
    });
    expect(final({ status: 99, headers: {} }, null, 'GET', true)).toMatchObject({
      code: 'HANDOFF_INVALID_HEADER',
      message: `onHeaders produced an invalid response head (status 99 is not a final status): ${TARGET}`,
    });
  });

  it('removes content-length from a 204 (RFC 9110 §8.6)', () => {
    const head = final({ status: 204, headers: { 'content-length': '10', 'x-a': '1' } }, 10);
    expect(head).toEqual({ status: 204, headers: { 'x-a': '1' }, length: null, hasBody: false });
  });

  it('has no body for a HEAD or a 304', () => {
    expect(final({ status: 200, headers: { 'content-length': '10' } }, 10, 'HEAD')).toMatchObject({ length: 10, hasBody: false });
    expect(final({ status: 304, headers: {} }, null, 'GET')).toMatchObject({ hasBody: false });
  });
});
