import http from 'node:http';
import { ProxyError } from '../../../packages/core/src/errors';
import type { Sink } from '../../../packages/core/src/sink/sink';
import { answerResponse, defaultErrorResponse, errorResponse, writeAnswer, type ErrorResponse } from '../../../packages/core/src/transfer/answer';
import { incoming } from '../helpers';

const URL_TEXT = 'GET http://internal.upstream:9000/secret';

function failure(code: ConstructorParameters<typeof ProxyError>[0]) {
  return new ProxyError(code, `failed: ${URL_TEXT}`);
}

describe('defaultErrorResponse', () => {
  it('is a short text body naming the status, framed and not cacheable', () => {
    const { head, body } = defaultErrorResponse(failure('HANDOFF_UPSTREAM_UNREACHABLE'), 1);
    expect(body.toString()).toBe('502 Bad Gateway\n');
    expect(head).toEqual({
      status: 502,
      headers: { 'content-type': 'text/plain; charset=utf-8', 'content-length': String(body.length), 'cache-control': 'no-store' },
    });
  });

  it('never shows the upstream URL or the message', () => {
    const { head, body } = defaultErrorResponse(failure('HANDOFF_HEADERS_TIMEOUT'), 1);
    expect(body.toString()).toBe('504 Gateway Timeout\n');
    expect(JSON.stringify(head) + body.toString()).not.toContain('internal.upstream');
  });

  it('adds Retry-After to a 503 only', () => {
    expect(defaultErrorResponse(failure('HANDOFF_QUEUE_FULL'), 7).head.headers['retry-after']).toBe('7');
    expect(defaultErrorResponse(failure('HANDOFF_QUEUE_FULL'), 0).head.headers['retry-after']).toBe('0');
    expect(defaultErrorResponse(failure('HANDOFF_UPSTREAM_ERROR'), 7).head.headers).not.toHaveProperty('retry-after');
  });

  it('names a status Node has no reason phrase for as Error', () => {
    expect(defaultErrorResponse(failure('HANDOFF_CLIENT_ABORTED'), 1).body.toString()).toBe('499 Error\n');
  });
});

describe('answerResponse', () => {
  it('frames a string body with its byte length and lower-cases header names', () => {
    expect(answerResponse({ status: 503, headers: { 'Content-Type': 'application/json', 'Retry-After': '30' }, body: '{"é":1}' })).toEqual({
      head: { status: 503, headers: { 'content-type': 'application/json', 'retry-after': '30', 'content-length': '8' } },
      body: Buffer.from('{"é":1}'),
    });
  });

  it('sends only the bytes of a Uint8Array view', () => {
    const whole = Buffer.from('xxHELLOxx');
    const answer = answerResponse({ status: 500, body: whole.subarray(2, 7) });
    expect('body' in answer && answer.body.toString()).toBe('HELLO');
    expect('head' in answer && answer.head.headers['content-length']).toBe('5');
  });

  it('sends an empty body when there is none', () => {
    expect(answerResponse({ status: 502 })).toEqual({ head: { status: 502, headers: { 'content-length': '0' } }, body: Buffer.alloc(0) });
  });

  it("replaces a content-length the answer gave with the body's", () => {
    const answer = answerResponse({ status: 502, headers: { 'Content-Length': '999' }, body: 'abc' });
    expect('head' in answer && answer.head.headers).toEqual({ 'content-length': '3' });
  });

  // RFC 9110 §8.6: a server MUST NOT send Content-Length in a 204 (finalHead removes it from relayed heads).
  it('sends no content-length with a 204 answer (RFC 9110 §8.6)', () => {
    const answer = answerResponse({ status: 204 });
    expect('head' in answer && answer.head.headers).not.toHaveProperty('content-length');
  });

  it('says what is wrong with an answer that cannot be sent', () => {
    expect(answerResponse({ status: 502, body: 5 as never })).toEqual({ problem: 'body must be a string or Uint8Array' });
    expect(answerResponse({ status: 102 })).toEqual({ problem: 'status 102 is not a final status' });
    expect(answerResponse({ status: 502, headers: { 'x-a': 'a\r\nb' } })).toEqual({ problem: 'invalid value for header x-a: "a\\r\\nb"' });
    expect(answerResponse({ status: 502, headers: { Connection: 'close' } })).toEqual({
      problem: 'hop-by-hop header connection cannot be sent; the proxy frames the response itself',
    });
  });
});

describe('errorResponse', () => {
  it('is the default answer at once without onError', () => {
    const err = failure('HANDOFF_UPSTREAM_ERROR');
    const response = errorResponse(err, undefined, 1) as ErrorResponse;
    expect(response).toEqual(defaultErrorResponse(err, 1));
  });

  it("is a promise of onError's answer when it gives one that can be sent", async () => {
    const response = await errorResponse(failure('HANDOFF_UPSTREAM_ERROR'), () => ({ status: 418, body: 'teapot' }), 1);
    expect(response.head.status).toBe(418);
    expect(response.body.toString()).toBe('teapot');
  });

  it('falls back to the default when onError gives nothing', async () => {
    const err = failure('HANDOFF_UPSTREAM_ERROR');
    await expect(errorResponse(err, async () => undefined, 1)).resolves.toEqual(defaultErrorResponse(err, 1));
    expect(err.message).toBe(`failed: ${URL_TEXT}`);
  });

  it('falls back to the default, saying why in the message, when the answer is invalid or onError throws', async () => {
    const invalid = failure('HANDOFF_UPSTREAM_ERROR');
    await expect(errorResponse(invalid, () => ({ status: 42 }), 1)).resolves.toEqual(defaultErrorResponse(invalid, 1));
    expect(invalid.message).toBe(`failed: ${URL_TEXT} (onError answer ignored: status 42 is not a final status)`);

    const threw = failure('HANDOFF_UPSTREAM_ERROR');
    const response = await errorResponse(
      threw,
      () => {
        throw new Error('hook broke');
      },
      1,
    );
    expect(response.head.status).toBe(502);
    expect(threw.message).toBe(`failed: ${URL_TEXT} (onError threw: hook broke)`);
  });
});

/** A sink that records what it is asked to write. */
class RecordingSink implements Sink {
  readonly keepsConnection: boolean;
  readonly queued = false;
  readonly pending = 0;
  heads: Array<{ status: number; headers: Record<string, string | string[]>; length: number | null; hasBody: boolean }> = [];
  writes: Buffer[] = [];
  ended = 0;

  constructor(keepsConnection = false) {
    this.keepsConnection = keepsConnection;
  }

  earlyHints(): void {}

  head(status: number, headers: Record<string, string | string[]>, length: number | null, hasBody: boolean): void {
    this.heads.push({ status, headers: { ...headers }, length, hasBody });
  }

  write(chunk: Uint8Array): boolean {
    this.writes.push(Buffer.from(chunk));
    return true;
  }

  onDrain(): void {}
  offDrain(): void {}

  end(done: () => void): void {
    this.ended++;
    done();
  }

  abort(): void {}
}

describe('writeAnswer', () => {
  function write(response: ErrorResponse, options: { method?: string; complete?: boolean; keepsConnection?: boolean; preset?: Record<string, string> } = {}) {
    const req = incoming({}, { method: options.method ?? 'GET' });
    req.httpVersionMajor = 1;
    req.complete = options.complete ?? true;
    const res = new http.ServerResponse(req);
    for (const [name, value] of Object.entries(options.preset ?? {})) res.setHeader(name, value);
    const sink = new RecordingSink(options.keepsConnection);
    let done = 0;
    const status = writeAnswer(sink, response, req, res, () => done++);
    return { sink, status, done };
  }

  it('writes the head, the body and the end through the sink, and returns the status', () => {
    const response = defaultErrorResponse(failure('HANDOFF_UPSTREAM_ERROR'), 1);
    const { sink, status, done } = write(response);
    expect(status).toBe(502);
    expect(sink.heads).toEqual([{ status: 502, headers: response.head.headers, length: response.body.length, hasBody: true }]);
    expect(Buffer.concat(sink.writes).toString()).toBe('502 Bad Gateway\n');
    expect(sink.ended).toBe(1);
    expect(done).toBe(1);
  });

  it('writes no body for a HEAD request', () => {
    const { sink } = write(defaultErrorResponse(failure('HANDOFF_UPSTREAM_ERROR'), 1), { method: 'HEAD' });
    expect(sink.heads[0]!.hasBody).toBe(false);
    expect(sink.writes).toEqual([]);
    expect(sink.ended).toBe(1);
  });

  it("adds the app's preset headers only where the answer has none", () => {
    const { sink } = write(defaultErrorResponse(failure('HANDOFF_UPSTREAM_ERROR'), 1), {
      preset: { 'access-control-allow-origin': '*', 'cache-control': 'max-age=60' },
    });
    expect(sink.heads[0]!.headers).toMatchObject({ 'access-control-allow-origin': '*', 'cache-control': 'no-store' });
  });

  it('closes a kept-alive connection while an upload may still be unread', () => {
    const unread = write(defaultErrorResponse(failure('HANDOFF_REQUEST_TOO_LARGE'), 1), { complete: false, keepsConnection: true });
    expect(unread.sink.heads[0]!.headers.connection).toBe('close');
    const read = write(defaultErrorResponse(failure('HANDOFF_REQUEST_TOO_LARGE'), 1), { complete: true, keepsConnection: true });
    expect(read.sink.heads[0]!.headers).not.toHaveProperty('connection');
  });

  // Sink.head's contract: hasBody is false for HEAD, 204 and 304. In socket mode the body
  // bytes of an onError answer { status: 204, body } otherwise follow the 204 head on the wire.
  it.each([204, 304])('writes no body for a %d answer from onError', (status) => {
    const { sink } = write({ head: { status, headers: {} }, body: Buffer.from('oops') });
    expect(sink.heads[0]!.hasBody).toBe(false);
    expect(sink.writes).toEqual([]);
  });
});
