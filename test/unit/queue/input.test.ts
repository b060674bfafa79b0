// What the queue takes from its caller, checked where it enters: createQueue()'s options, an
// enqueue() request, and the ids of the dead-letter calls.
import { ProxyError } from '@handoff/core';
import { createQueue, type QueueOptions } from '@handoff/queue';
import { deadLetterIds, deadLetterLimit } from '../../../packages/queue/src/dead-letter-input';
import { checkEnqueue } from '../../../packages/queue/src/enqueue-input';

function refusal(run: () => unknown): ProxyError {
  try {
    run();
  } catch (err) {
    expect(err).toBeInstanceOf(ProxyError);
    return err as ProxyError;
  }
  throw new Error('expected a refusal');
}

describe('createQueue() options', () => {
  it('takes accepted: null as the default answer, as it takes every other null', () => {
    expect(createQueue({ accepted: null } as unknown as QueueOptions).options).toMatchObject({ acceptedStatus: 202 });
  });

  it('refuses an unknown key, naming it (a typo must not pass as a default)', () => {
    const err = refusal(() => createQueue({ maxAttempt: 3 } as unknown as QueueOptions));
    expect(err).toMatchObject({ code: 'HANDOFF_INVALID_OPTIONS', option: 'maxAttempt', message: 'Unknown queue option: maxAttempt' });
    expect(refusal(() => createQueue({ perTarget: { concurency: 3 } } as unknown as QueueOptions))).toMatchObject({ option: 'perTarget.concurency' });
    expect(refusal(() => createQueue({ accepted: { stauts: 201 } } as unknown as QueueOptions))).toMatchObject({ option: 'accepted.stauts' });
  });

  it('sends 204 and 205 without a body, and refuses a body function with them', () => {
    expect(createQueue({ accepted: { status: 204 } }).options.acceptedBody).toBeUndefined();
    const err = refusal(() => createQueue({ accepted: { status: 205, body: () => 'ok' } }));
    expect(err).toMatchObject({ code: 'HANDOFF_INVALID_OPTIONS', option: 'accepted.body' });
    expect(err.message).toMatch(/205 is sent without a body/);
  });
});

describe('enqueue() requests', () => {
  const check = (input: object, max = 1024) => checkEnqueue(input as Parameters<typeof checkEnqueue>[0], max);

  it('refuses an Idempotency-Key the HTTP path would refuse: empty, too long, NUL, spaces, non-ASCII', () => {
    for (const key of ['', 'x'.repeat(256), 'a\u0000b', 'a b', 'clé']) {
      const err = refusal(() => check({ url: 'http://h/x', idempotencyKey: key }));
      expect(err).toMatchObject({ code: 'HANDOFF_INVALID_OPTIONS', option: 'idempotencyKey' });
      expect(err.message).toMatch(/1 to 255 visible ASCII characters/);
    }
    expect(check({ url: 'http://h/x', idempotencyKey: 'k'.repeat(255) }).key).toBe('k'.repeat(255));
  });

  it('refuses targets other than http(s), methods that are no token, and CONNECT', () => {
    expect(refusal(() => check({ url: 'file:///etc/passwd' }))).toMatchObject({ option: 'url' });
    expect(refusal(() => check({ url: 'ftp://h/x' }))).toMatchObject({ option: 'url' });
    expect(refusal(() => check({ url: 'not a url' }))).toMatchObject({ option: 'url' });
    expect(refusal(() => check({ url: 'http://u:p@h/x' }))).toMatchObject({ option: 'url' });
    expect(refusal(() => check({ url: 'http://h/x', method: 'BAD METHOD' }))).toMatchObject({ option: 'method' });
    expect(refusal(() => check({ url: 'http://h/x', method: 'connect' }))).toMatchObject({ option: 'method' });
    expect(check({ url: 'http://h/x?q=1', method: 'put' }).request).toMatchObject({ method: 'PUT', origin: 'http://h', path: '/x?q=1' });
  });

  it('refuses a Content-Length that does not match the body, drops one that does, and drops hop-by-hop fields', () => {
    expect(refusal(() => check({ url: 'http://h/x', body: 'hello', headers: { 'Content-Length': '3' } }))).toMatchObject({ option: 'headers' });
    const { request } = check({ url: 'http://h/x', body: 'hello', headers: { 'Content-Length': '5', Connection: 'close, x-hop', 'X-Hop': '1', 'Transfer-Encoding': 'chunked', Expect: '100-continue', 'X-Kept': 'y' } });
    expect(request.headers).toEqual({ 'x-kept': 'y' });
    expect(refusal(() => check({ url: 'http://h/x', headers: { 'x-bad': 'a\r\nb' } }))).toMatchObject({ option: 'headers' });
  });

  it('takes an Idempotency-Key header (any case) as the key, and never stores it as a header', () => {
    const checked = check({ url: 'http://h/x', headers: { 'IDEMPOTENCY-Key': 'mine' } });
    expect(checked.key).toBe('mine');
    expect(checked.request.headers).toEqual({});
    expect(refusal(() => check({ url: 'http://h/x', idempotencyKey: 'a', headers: { 'idempotency-key': 'b' } }))).toMatchObject({ option: 'idempotencyKey' });
  });

  it('refuses a body over maxBodySize with HANDOFF_REQUEST_TOO_LARGE', () => {
    expect(refusal(() => check({ url: 'http://h/x', body: Buffer.alloc(11) }, 10))).toMatchObject({ code: 'HANDOFF_REQUEST_TOO_LARGE' });
  });
});

describe('dead-letter calls', () => {
  it("takes only 'all' as all: undefined, null, 'ALL' or a string are refused", () => {
    expect(deadLetterIds('all', 'purgeDeadLetters')).toBeNull();
    for (const ids of [undefined, null, 'ALL', 'x', {}]) {
      expect(refusal(() => deadLetterIds(ids, 'purgeDeadLetters'))).toMatchObject({ code: 'HANDOFF_INVALID_OPTIONS', option: 'ids' });
    }
  });

  it('names an id that is not a UUID', () => {
    expect(refusal(() => deadLetterIds(['00000000-0000-0000-0000-000000000000', 'not-a-uuid'], 'retryDeadLetters')).message).toBe('retryDeadLetters(): "not-a-uuid" is not a job id (a UUID)');
  });

  it('refuses a limit that is not an integer from 1 to 100 000', () => {
    expect(deadLetterLimit(undefined)).toBe(100);
    for (const limit of [0, -1, 1.5, 'x', 100_001]) expect(refusal(() => deadLetterLimit(limit))).toMatchObject({ option: 'limit' });
  });
});
