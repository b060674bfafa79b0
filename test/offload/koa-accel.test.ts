import http from 'node:http';
import { randomBytes } from 'node:crypto';
import { openResponse, readBody, request } from '../helpers/client';
import { recordingUpstream, type RecordingUpstream } from '../helpers/recording-upstream';
import { upstream, type Running } from '../helpers/servers';
import { until } from '../helpers/wait';
import { offloadApp, onlyOutcome, type OffloadApp } from './helpers';

describe('offload(): X-Accel-Redirect', () => {
  let files: RecordingUpstream;
  let app: OffloadApp;

  beforeEach(async () => {
    files = await recordingUpstream((seen, res) => {
      res.writeHead(200, { 'content-type': 'text/plain', 'x-accel-redirect': '/internal/loop' });
      res.end(`file at ${seen.url}`);
    });
  });

  afterEach(async () => {
    await app?.close();
    await files.close();
  });

  const rules = () => ({ accel: { '/internal/': `${files.url}/store/`, '/internal/big/': `${files.url}/bulk/` } });
  const accelTo = (path: string) => (ctx: { set(name: string, value: string): void; body: unknown }) => {
    ctx.set('X-Accel-Redirect', path);
    ctx.body = 'not sent';
  };

  it('maps the location prefix onto the configured upstream, nginx proxy_pass style, with its query', async () => {
    app = await offloadApp(accelTo('/internal/reports/7.pdf?v=2'), rules());
    const reply = await request(app.url);
    expect(reply.status).toBe(200);
    expect(reply.body.toString()).toBe('file at /store/reports/7.pdf?v=2');
    expect(reply.headers['x-accel-redirect']).toBeUndefined();
    expect(files.requests).toHaveLength(1);
    expect((await onlyOutcome(app)).offload).toBe('accel');
  });

  it('uses the longest matching prefix', async () => {
    app = await offloadApp(accelTo('/internal/big/archive.tar'), rules());
    expect((await request(app.url)).body.toString()).toBe('file at /bulk/archive.tar');
  });

  it('always uses GET without a body, forwarding the client\'s range and conditional fields', async () => {
    app = await offloadApp(accelTo('/internal/a.bin'), rules());
    await request(app.url, { method: 'POST', body: 'upload', headers: { range: 'bytes=5-', 'if-range': '"x"', cookie: 'c=1' } });
    const seen = files.requests[0]!;
    expect(seen).toMatchObject({ method: 'GET', body: '' });
    expect(seen.headers).toMatchObject({ range: 'bytes=5-', 'if-range': '"x"' });
    expect(seen.headers.cookie).toBeUndefined();
  });

  it('sends HEAD for a HEAD client', async () => {
    app = await offloadApp(accelTo('/internal/a.bin'), rules());
    const reply = await request(app.url, { method: 'HEAD' });
    expect(reply.status).toBe(200);
    expect(files.requests[0]!.method).toBe('HEAD');
  });

  it.each([
    ['/internal/../secret', 'dot segments'],
    ['/internal/%2e%2e/secret', 'encoded dot segments'],
    ['/internal/a/%2E%2E/%2E%2E/secret', 'upper-case encoded dot segments'],
    ['/internal/a\\..\\secret', 'backslashes'],
    ['/internal/a%5c..%5csecret', 'encoded backslashes'],
    ['/internal/./x', 'a single dot segment'],
  ])('refuses %s (%s) with 403 and a logged reason, reaching nothing', async (path) => {
    app = await offloadApp(accelTo(path), rules());
    const reply = await request(app.url);
    expect(reply.status).toBe(403);
    expect(app.errors[0]).toMatchObject({ code: 'HANDOFF_OFFLOAD_FORBIDDEN' });
    expect(app.errors[0]!.message).toContain('X-Accel-Redirect');
    expect(files.requests).toHaveLength(0);
  });

  it('answers 502 with a logged reason when no prefix matches', async () => {
    app = await offloadApp(accelTo('/private/x'), rules());
    const reply = await request(app.url);
    expect(reply.status).toBe(502);
    expect(app.errors[0]).toMatchObject({ code: 'HANDOFF_OFFLOAD_INVALID' });
    expect(app.errors[0]!.message).toContain('matches no offload.accel prefix');
    expect(files.requests).toHaveLength(0);
  });

  it('answers 502 when accel is not configured at all', async () => {
    app = await offloadApp(accelTo('/internal/x'), {});
    expect((await request(app.url)).status).toBe(502);
    expect(app.errors[0]!.message).toContain('no offload.accel prefixes are configured');
  });

  it.each(['no', 'yes'])('accepts X-Accel-Buffering: %s and streams without holding the body back', async (buffering) => {
    const held: http.ServerResponse[] = [];
    const slow = await upstream((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/octet-stream' });
      res.write('first part;');
      held.push(res);
    });
    try {
      app = await offloadApp(
        (ctx) => {
          ctx.set('X-Accel-Redirect', '/stream/x');
          ctx.set('X-Accel-Buffering', buffering);
        },
        { accel: { '/stream/': `${slow.url}/` } },
      );
      const { res } = await openResponse(app.url);
      expect(res.headers['x-accel-buffering']).toBeUndefined();
      // The first part reaches the client while the upstream still holds the rest: nothing buffers it.
      const first = await new Promise<Buffer>((resolve) => res.once('data', resolve));
      expect(first.toString()).toBe('first part;');
      const rest = readBody(res);
      held[0]!.end('rest');
      expect((await rest).body.toString()).toBe('rest');
      expect((await onlyOutcome(app)).error).toBeUndefined();
    } finally {
      for (const res of held) res.destroy();
      await slow.close();
    }
  });
});

describe('offload(): X-Accel-Limit-Rate', () => {
  const data = randomBytes(12 * 1024);
  let origin: Running;
  let app: OffloadApp;

  beforeEach(async () => {
    origin = await upstream((_req, res) => res.end(data));
  });

  afterEach(async () => {
    await app?.close();
    await origin.close();
  });

  const limited = (rate: string) => async () =>
    offloadApp(
      (ctx) => {
        ctx.set('X-Accel-Redirect', '/files/data.bin');
        ctx.set('X-Accel-Limit-Rate', rate);
      },
      { accel: { '/files/': `${origin.url}/` } },
    );

  it('throttles the offloaded response: bytes delivered never run ahead of the rate (slowness never fails it)', async () => {
    const rate = 8192;
    app = await limited(String(rate))();
    const started = performance.now();
    const { res } = await openResponse(app.url);
    let received = 0;
    let worst = -Infinity;
    res.on('data', (chunk: Buffer) => {
      received += chunk.length;
      // Sampled as the client reads: at most one second of burst (the bucket starts full)
      // plus one slice, then `rate` per second since the request was sent.
      const allowed = rate * (1 + (performance.now() - started) / 1000) + rate / 10;
      worst = Math.max(worst, received - allowed);
    });
    const { complete } = await readBody(res);
    expect(complete).toBe(true);
    expect(received).toBe(data.length);
    expect(worst).toBeLessThanOrEqual(0);
    expect((await onlyOutcome(app)).bytes).toBe(data.length);
  });

  it('treats 0 and off as no limit', async () => {
    for (const rate of ['0', 'off']) {
      await app?.close();
      app = await limited(rate)();
      expect((await request(app.url)).body.equals(data)).toBe(true);
    }
  });

  it('answers 502 for a malformed rate, naming the value', async () => {
    app = await limited('fast')();
    expect((await request(app.url)).status).toBe(502);
    expect(app.errors[0]).toMatchObject({ code: 'HANDOFF_OFFLOAD_INVALID' });
    expect(app.errors[0]!.message).toContain('X-Accel-Limit-Rate "fast"');
  });

  it('stops the throttle and frees the slot when the client leaves mid-transfer', async () => {
    app = await limited('2048')();
    const { res } = await openResponse(app.url);
    await new Promise((resolve) => res.once('data', resolve));
    res.destroy();
    const outcome = await onlyOutcomeWhenReady(app);
    expect(outcome.error!.code).toBe('HANDOFF_CLIENT_ABORTED');
    await until(() => app.middleware.proxy.stats.inFlight === 0, 'slot released');
  });
});

async function onlyOutcomeWhenReady(app: OffloadApp) {
  await until(() => app.handles.length === 1, 'handle recorded');
  return app.handles[0]!.done;
}
