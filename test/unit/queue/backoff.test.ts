import fc from 'fast-check';
import { parseRetryAfter, retryDelay, verdict } from '@handoff/queue';

describe('retry timing', () => {
  it('draws a full-jitter delay from 0 to base·2^(attempt-1), never above the maximum', () => {
    expect(retryDelay(1, 1000, 60_000, undefined, () => 0)).toBe(0);
    expect(retryDelay(1, 1000, 60_000, undefined, () => 0.999)).toBe(999);
    expect(retryDelay(4, 1000, 60_000, undefined, () => 0.5)).toBe(4000);
    expect(retryDelay(30, 1000, 60_000, undefined, () => 0.999)).toBe(59_940);
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 1000 }), fc.integer({ min: 0, max: 10_000 }), fc.double({ min: 0, max: 0.9999, noNaN: true }), (attempt, base, r) => {
        const delay = retryDelay(attempt, base, 60_000, undefined, () => r);
        return delay >= 0 && delay <= 60_000;
      }),
    );
  });

  it('never retries before Retry-After, honoured up to an hour', () => {
    expect(retryDelay(1, 1000, 60_000, 5_000, () => 0)).toBe(5_000);
    expect(retryDelay(1, 1000, 60_000, 2 * 60 * 60 * 1000, () => 0)).toBe(60 * 60 * 1000);
  });

  it('reads Retry-After as delay-seconds or an HTTP-date, and ignores anything else', () => {
    expect(parseRetryAfter('120')).toBe(120_000);
    expect(parseRetryAfter(' 3 ')).toBe(3_000);
    expect(parseRetryAfter(new Date(10_000 + 30_000).toUTCString(), 10_000)).toBe(30_000);
    expect(parseRetryAfter('soon')).toBeUndefined();
    expect(parseRetryAfter('-1')).toBeUndefined();
    expect(parseRetryAfter(undefined)).toBeUndefined();
  });

  it('is done on 2xx, retries 408, 425, 429 and 5xx, and gives up on any other status', () => {
    expect([200, 201, 204, 299].map(verdict)).toEqual(['done', 'done', 'done', 'done']);
    expect([408, 425, 429, 500, 502, 503, 504, 599].map(verdict)).toEqual(Array(8).fill('retry'));
    expect([301, 304, 400, 401, 403, 404, 409, 410, 413, 422].map(verdict)).toEqual(Array(10).fill('dead'));
  });
});

describe('queue options', () => {
  it('are validated once, naming the option and what is allowed', () => {
    const { createQueue } = jest.requireActual<typeof import('@handoff/queue')>('@handoff/queue');
    expect(() => createQueue({ lease: 50 })).toThrow('lease must be an integer from 100 to 2147483647, got 50');
    expect(() => createQueue({ database: 'mysql://x' })).toThrow(/database must be a postgres:\/\/ or postgresql:\/\/ URL/);
    expect(() => createQueue({ schema: 'Bad-Name' })).toThrow(/schema must be a lower-case SQL identifier/);
    expect(() => createQueue({ perTarget: { concurrency: 0 } })).toThrow('perTarget.concurrency must be an integer from 1 to 9007199254740991, got 0');
    expect(() => createQueue({ targets: { 'http://x/path': {} } })).toThrow(/targets must hold bare http\(s\) origins/);
    expect(() => createQueue({ retryBase: 10_000, retryMax: 1_000 })).toThrow('retryMax must be at least retryBase (10000 ms), got 1000');
    try {
      createQueue({ maxAttempts: 0 });
    } catch (err) {
      expect(err).toMatchObject({ code: 'HANDOFF_INVALID_OPTIONS', option: 'maxAttempts' });
    }
  });
});
