// Streaming through the cache: a cacheable body streams to the first client while it is stored;
// too large or truncated bodies are never stored (RELIABILITY A9).
import type http from 'node:http';
import { openResponse, readBody } from '../helpers/client';
import { until } from '../helpers/wait';
import { cacheRig, hits, type CacheRig } from './helpers';

const CHUNK = Buffer.alloc(64 * 1024, 'x');

describe('streaming through the cache', () => {
  let rig: CacheRig;
  let open: http.ServerResponse | undefined;

  afterEach(async () => {
    open = undefined;
    await rig.close();
  });

  it('streams a large cacheable response to the first client while storing it, then serves it whole', async () => {
    rig = await cacheRig((_seen, res) => {
      res.writeHead(200, { 'cache-control': 'max-age=60', 'content-length': String(CHUNK.length * 16) });
      res.write(CHUNK);
      open = res;
    });
    const { res } = await openResponse(`${rig.gw.url}/big`);
    expect(res.headers['x-cache']).toBe('MISS');
    // The first bytes arrive while the origin has sent 1/16 of the body and is waiting.
    const first = await new Promise<Buffer>((resolve) => res.once('data', resolve));
    expect(first.length).toBeGreaterThan(0);
    for (let i = 1; i < 16; i++) open!.write(CHUNK);
    open!.end();
    const rest = await readBody(res);
    expect(rest.complete).toBe(true);
    expect(first.length + rest.body.length).toBe(CHUNK.length * 16);

    const again = await rig.get('/big');
    expect(again.headers['x-cache']).toBe('HIT');
    expect(again.body.equals(Buffer.concat(Array.from({ length: 16 }, () => CHUNK)))).toBe(true);
    expect(hits(rig.origin, '/big')).toBe(1);
  });

  it('streams a response larger than maxEntrySize without storing it', async () => {
    rig = await cacheRig(
      (_seen, res) => {
        res.writeHead(200, { 'cache-control': 'max-age=60' });
        for (let i = 0; i < 4; i++) res.write(CHUNK);
        res.end();
      },
      { cache: { maxEntrySize: CHUNK.length * 2 } },
    );
    const first = await rig.get('/huge');
    expect(first.body.length).toBe(CHUNK.length * 4);
    const second = await rig.get('/huge');
    expect(second.headers['x-cache']).toBe('MISS');
    expect(second.body.length).toBe(CHUNK.length * 4);
    expect(hits(rig.origin, '/huge')).toBe(2);
  });

  it('never stores a response the upstream cut short; the client sees the cut', async () => {
    let cut = true;
    rig = await cacheRig((_seen, res) => {
      res.writeHead(200, { 'cache-control': 'max-age=60', 'content-length': String(CHUNK.length * 2) });
      res.write(CHUNK);
      if (cut) setImmediate(() => res.socket!.destroy());
      else res.end(CHUNK);
    });
    const { res } = await openResponse(`${rig.gw.url}/cut`);
    const truncated = await readBody(res);
    expect(truncated.complete).toBe(false);
    cut = false;
    const next = await rig.get('/cut');
    expect(next.headers['x-cache']).toBe('MISS');
    expect(next.body.length).toBe(CHUNK.length * 2);
    expect(hits(rig.origin, '/cut')).toBe(2);
  });

  it('does not store a response whose client left mid-body, and frees the slot', async () => {
    rig = await cacheRig((_seen, res) => {
      res.writeHead(200, { 'cache-control': 'max-age=60', 'content-length': String(CHUNK.length * 2) });
      res.write(CHUNK);
      if (open) res.end(CHUNK);
      else open = res;
    });
    const { res, req } = await openResponse(`${rig.gw.url}/left`);
    await new Promise((resolve) => res.once('data', resolve));
    req.destroy();
    await until(() => rig.gw.proxy.stats.inFlight === 0, 'the transfer to end');
    const next = await rig.get('/left');
    expect(next.headers['x-cache']).toBe('MISS');
    expect(hits(rig.origin, '/left')).toBe(2);
  });
});
