import { freshHit, StoredSource } from '../../../packages/core/src/cache/fresh-hit';
import type { CacheKey, CacheValue, GetResult } from '../../../packages/core/src/cache/keys';
import { MemoryCacheStore } from '../../../packages/core/src/cache/memory-store';
import type { ResponseSource, SourceHead, SourceListener } from '../../../packages/core/src/relay/source';

const NOW = Date.now();
const KEY: CacheKey = { origin: 'http://origin.test', method: 'GET', path: '/r', headers: { accept: 'text/plain' } };

function value(fields: Partial<CacheValue> = {}): CacheValue {
  return {
    statusCode: 200,
    statusMessage: 'OK',
    headers: { 'content-type': 'text/plain', 'content-length': '5', 'cache-control': 'max-age=60' },
    cacheControlDirectives: { 'max-age': 60 },
    cachedAt: NOW - 10_000,
    staleAt: NOW + 50_000,
    deleteAt: NOW + 50_000,
    ...fields,
  };
}

async function storeWith(v: CacheValue, body = 'hello'): Promise<MemoryCacheStore> {
  const store = new MemoryCacheStore({ maxSize: 1 << 20, maxEntries: 100, maxEntrySize: 1 << 20 });
  const writer = store.createWriteStream(KEY, v);
  await new Promise<void>((resolve, reject) => writer.end(Buffer.from(body), () => resolve()).on('error', reject));
  return store;
}

describe('freshHit', () => {
  it('serves an entry within its freshness lifetime, with its age in seconds', async () => {
    const hit = freshHit(await storeWith(value()), KEY, NOW);
    expect(hit?.age).toBe(10);
    expect(hit?.result.statusCode).toBe(200);
  });

  it.each<[string, Partial<CacheValue>]>([
    ['a stale entry (it must be revalidated, or served stale by undici’s rules)', { staleAt: NOW - 1, deleteAt: NOW + 50_000 }],
    ['an entry past its deleteAt', { staleAt: NOW - 1, deleteAt: NOW - 1 }],
    ['an unqualified no-cache entry (revalidated before every use)', { cacheControlDirectives: { 'no-cache': true } }],
    ['an entry carrying Set-Cookie (never served again by a shared cache)', { headers: { 'set-cookie': 'a=1', 'content-length': '5' } }],
  ])('leaves %s to undici', async (_what, fields) => {
    expect(freshHit(await storeWith(value(fields)), KEY, NOW)).toBeUndefined();
  });

  it('still serves a no-cache naming fields (qualified: only those fields must be revalidated)', async () => {
    expect(freshHit(await storeWith(value({ cacheControlDirectives: { 'no-cache': ['set-cookie'] } })), KEY, NOW)).toBeDefined();
  });

  it.each([
    ['Cache-Control', { 'cache-control': 'max-age=0' }],
    ['Pragma', { pragma: 'no-cache' }],
    ['If-None-Match', { 'if-none-match': '"x"' }],
    ['If-Modified-Since', { 'if-modified-since': new Date(NOW).toUTCString() }],
  ])('leaves a request with %s to undici (its directives decide)', async (_what, extra) => {
    const store = await storeWith(value());
    expect(freshHit(store, { ...KEY, headers: { ...KEY.headers, ...extra } }, NOW)).toBeUndefined();
  });

  it('finds nothing for another path or a variant the entry was not stored for', async () => {
    const store = await storeWith(value({ vary: { accept: 'text/plain' } }));
    expect(freshHit(store, { ...KEY, path: '/other' }, NOW)).toBeUndefined();
    expect(freshHit(store, { ...KEY, headers: { accept: 'application/json' } }, NOW)).toBeUndefined();
    expect(freshHit(store, KEY, NOW)).toBeDefined();
  });

  it('leaves an asynchronous store to undici', () => {
    const asyncStore = { get: () => Promise.resolve(undefined), createWriteStream: () => undefined, delete: () => undefined };
    expect(freshHit(asyncStore as never, KEY, NOW)).toBeUndefined();
  });
});

/** A listener that pauses after each chunk when asked to, like a relay whose client is slow. */
class Recorder implements SourceListener {
  head: SourceHead | undefined;
  chunks: string[] = [];
  ended = false;
  pauseOnData = false;
  onResponseStart(_source: ResponseSource, head: SourceHead): void {
    this.head = head;
  }
  onResponseData(source: ResponseSource, chunk: Buffer): void {
    this.chunks.push(chunk.toString());
    if (this.pauseOnData) source.pause();
  }
  onResponseEnd(): void {
    this.ended = true;
  }
  onResponseError(): void {
    throw new Error('a stored source never fails');
  }
}

describe('StoredSource', () => {
  const stored: GetResult = { ...value(), cacheControlDirectives: { 'max-age': 60 }, body: [Buffer.from('he'), Buffer.from('llo')], vary: undefined, etag: undefined };

  it('gives the stored head with its Age and the marking, then the chunks, then the end', () => {
    const listener = new Recorder();
    const source = new StoredSource(listener, stored, 7, (status, headers) => ((headers['x-cache'] = 'HIT'), status), false, 'GET http://origin.test/r');
    source.start();
    expect(listener.head).toMatchObject({ status: 200, length: 5, hasBody: true, headOnly: false });
    expect(listener.head!.headers).toMatchObject({ age: '7', 'x-cache': 'HIT', 'content-type': 'text/plain' });
    expect([listener.chunks, listener.ended]).toEqual([['he', 'llo'], true]);
    expect(source.describe()).toBe('GET http://origin.test/r');
  });

  it('stops while paused and goes on where it stopped on resume', () => {
    const listener = new Recorder();
    listener.pauseOnData = true;
    const source = new StoredSource(listener, stored, 0, (status) => status, false, 'GET /r');
    source.start();
    expect([listener.chunks, listener.ended]).toEqual([['he'], false]);
    source.resume();
    expect([listener.chunks, listener.ended]).toEqual([['he', 'llo'], false]);
    source.resume();
    expect(listener.ended).toBe(true);
  });

  it('sends no body for a HEAD, and nothing at all once aborted', () => {
    const head = new Recorder();
    new StoredSource(head, stored, 0, (status) => status, true, 'HEAD /r').start();
    expect([head.head!.hasBody, head.chunks, head.ended]).toEqual([false, [], true]);

    const aborted = new Recorder();
    aborted.pauseOnData = true;
    const source = new StoredSource(aborted, stored, 0, (status) => status, false, 'GET /r');
    source.start();
    source.abort(new Error('client gone'));
    source.resume();
    expect([aborted.chunks, aborted.ended]).toEqual([['he'], false]);
  });

  it('uses the status the marking gives (a client’s validators answered 304)', () => {
    const listener = new Recorder();
    new StoredSource(listener, stored, 0, () => 304, false, 'GET /r').start();
    expect(listener.head!.status).toBe(304);
    expect(listener.head!.hasBody).toBe(true);
  });
});
