// RFC 9111 §5.1: a list-based Age is read as its first member, an invalid one is ignored.
// Mirrors the age-parse group of the HTTP caching test suite (http-tests/cache-tests).
import type http from 'node:http';
import { usableAge } from '../../packages/core/src/cache/age';
import { hits, storeCases, storeRig, type CacheRig } from './helpers';

describe('usableAge', () => {
  it.each([
    ['0', '0'],
    [' 42 ', '42'],
    ['0, 7200', '0'],
    ['7200, 0', '7200'],
    [['0', '7200'], '0'],
    [['7200', '0'], '7200'],
    ['abc', undefined],
    ['-7200', undefined],
    ['7200.0', undefined],
    ['7200;foo=bar', undefined],
    ['', undefined],
    [undefined, undefined],
  ] as const)('reads %j as %j', (value, expected) => {
    expect(usableAge(value as string | string[] | undefined)).toBe(expected);
  });
});

describe.each(storeCases())('Age parsing ($name store)', (store) => {
  let rig: CacheRig;
  /** Age lines and Cache-Control the origin sends, per path. */
  const answers = new Map<string, { age: string[]; cc: string }>();

  function respond(seen: { url: string }, res: http.ServerResponse): void {
    const answer = answers.get(seen.url)!;
    res.setHeader('cache-control', answer.cc);
    res.setHeader('age', answer.age);
    res.end(`body of ${seen.url}`);
  }

  beforeEach(async () => {
    rig = await storeRig(store, respond);
  });

  afterEach(async () => {
    await rig.close();
    await store.cleanup();
  });

  async function secondFromCache(path: string, age: string[], cc = 'max-age=3600'): Promise<boolean> {
    answers.set(path, { age, cc });
    await rig.get(path);
    await store.stored();
    const second = await rig.get(path);
    expect(second.status).toBe(200);
    return hits(rig.origin, path) === 1 && second.headers['x-cache'] === 'HIT';
  }

  it.each([
    ['a non-numeric Age (age-parse-nonnumeric)', ['abc']],
    ['a negative Age (age-parse-negative)', ['-7200']],
    ['a float Age (age-parse-float)', ['7200.0']],
    ['`Age: 0, old` (age-parse-prefix)', ['0, 7200']],
    ['two lines `0`, `old` (age-parse-prefix-twoline)', ['0', '7200']],
    ['`Age: 0, 0` (age-parse-dup-0)', ['0, 0']],
    ['two `Age: 0` lines (age-parse-dup-0-twoline)', ['0', '0']],
  ])('serves from the cache a fresh response with %s', async (_name, age) => {
    expect(await secondFromCache(`/fresh/${encodeURIComponent(age.join('|'))}`, age)).toBe(true);
  });

  it('serves from the cache a response with two `Age: not_old` lines (age-parse-dup-old)', async () => {
    expect(await secondFromCache('/dup-old', ['3600', '3600'], 'max-age=10000')).toBe(true);
  });

  it.each([
    ['`Age: old, 0` (age-parse-suffix)', ['7200, 0']],
    ['two lines `old`, `0` (age-parse-suffix-twoline)', ['7200', '0']],
    ['an Age of 2147483648 (age-parse-large)', ['2147483648']],
    ['an Age past max-age', ['7200']],
  ])('does not serve from the cache a response with %s: it is stale', async (_name, age) => {
    expect(await secondFromCache(`/stale/${encodeURIComponent(age.join('|'))}`, age)).toBe(false);
  });

  it('sends the client the Age it used, or none when the origin’s was invalid', async () => {
    answers.set('/list', { age: ['5, 7200'], cc: 'no-store' });
    answers.set('/junk', { age: ['abc'], cc: 'no-store' });
    expect((await rig.get('/list')).headers.age).toBe('5');
    expect((await rig.get('/junk')).headers.age).toBeUndefined();
  });
});
