// The sidecar performing each kind of offload instruction from its backend's responses,
// configured through the environment, as a spawned process.
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { request } from '../helpers/client';
import { upstream, type Running } from '../helpers/servers';
import { until } from '../helpers/wait';
import { sample } from './helpers/metrics';
import { startSidecar, tempDir, type SidecarProcess } from './helpers/sidecar-process';

describe('sidecar offload', () => {
  const tmp = tempDir();
  const root = path.join(tmp.dir, 'files');
  let files: Running;
  let elsewhere: Running;
  let store: Running;
  let backend: Running;
  let sidecar: SidecarProcess;
  const filesSeen: http.IncomingHttpHeaders[] = [];
  const storeSeen: string[] = [];
  const elsewhereSeen: string[] = [];

  beforeAll(async () => {
    fs.mkdirSync(root);
    fs.writeFileSync(path.join(root, 'report.txt'), 'the report from disk\n');
    files = await upstream((req, res) => {
      filesSeen.push(req.headers);
      res.writeHead(200, { 'content-type': 'application/pdf', 'x-origin': 'files' }).end(`file at ${req.url}`);
    });
    elsewhere = await upstream((req, res) => {
      elsewhereSeen.push(req.url!);
      res.end('should never be fetched');
    });
    store = await upstream((req, res) => {
      storeSeen.push(req.url!);
      res.writeHead(200, { 'content-type': 'text/plain' }).end(`stored ${req.url}`);
    });
    backend = await upstream((req, res) => {
      const common = { 'set-cookie': 'seen=1', 'x-app-secret': 'internal', 'cache-control': 'private' };
      switch (req.url) {
        case '/url':
          return res.writeHead(200, { ...common, 'offload-requested': 'true', 'offload-url': `${files.url}/files/a.pdf?sig=s3cret` }).end();
        case '/forbidden':
          return res.writeHead(200, { 'offload-requested': 'true', 'offload-url': `${elsewhere.url}/secret?sig=s3cret` }).end();
        case '/no-url':
          return res.writeHead(200, { 'offload-requested': 'true' }).end();
        case '/accel':
          return res.writeHead(200, { ...common, 'x-accel-redirect': '/internal/docs/a.txt' }).end('ignored body');
        case '/sendfile':
          return res.writeHead(200, { ...common, 'x-sendfile': path.join(root, 'report.txt') }).end();
        case '/sendfile-outside':
          return res.writeHead(200, { 'x-sendfile': '/etc/passwd' }).end();
        case '/sendfile-missing':
          return res.writeHead(200, { 'x-sendfile': path.join(root, 'nope.txt') }).end();
        default:
          return res.writeHead(404).end('no such route');
      }
    });
    sidecar = await startSidecar({
      env: {
        HANDOFF_BACKEND: backend.url,
        HANDOFF_OFFLOAD_ALLOW: files.url,
        HANDOFF_OFFLOAD_ACCEL: `/internal/=${store.url}/store/`,
        HANDOFF_OFFLOAD_SENDFILE_ROOTS: root,
      },
    });
  }, 60_000);

  afterAll(async () => {
    await sidecar?.kill();
    await Promise.all([files, elsewhere, store, backend].map((s) => s?.close()));
    tmp.cleanup();
  });

  it('fetches an Offload-Url from an allowed origin, keeping only the chosen backend headers', async () => {
    const reply = await request(sidecar.url, { path: '/url', headers: { cookie: 'session=abc', accept: 'application/pdf' } });
    expect(reply.status).toBe(200);
    expect(reply.body.toString()).toBe('file at /files/a.pdf?sig=s3cret');
    expect(reply.headers['content-type']).toBe('application/pdf');
    expect(reply.headers['set-cookie']).toEqual(['seen=1']);
    expect(reply.headers['cache-control']).toBe('private');
    expect(reply.headers['x-app-secret']).toBeUndefined();
    expect(Object.keys(reply.headers).filter((n) => n.startsWith('offload-'))).toEqual([]);
    // The cookie was for the backend, not for the file store.
    expect(filesSeen.at(-1)!.cookie).toBeUndefined();
    expect(filesSeen.at(-1)!.accept).toBe('application/pdf');
  });

  it('refuses an Offload-Url outside the allow-list with 403, fetching nothing, and logs the reason without the query', async () => {
    const reply = await request(sidecar.url, { path: '/forbidden' });
    expect(reply.status).toBe(403);
    expect(elsewhereSeen).toEqual([]);
    await until(() => sidecar.stderr().includes('HANDOFF_TARGET_FORBIDDEN'), 'the refusal to be logged', { every: 5 });
    expect(sidecar.stderr()).toMatch(/^handoff: GET \/forbidden 403 HANDOFF_TARGET_FORBIDDEN: .+$/m);
    expect(sidecar.stderr()).not.toContain('s3cret');
  });

  it('answers 502 for Offload-Requested without Offload-Url', async () => {
    expect((await request(sidecar.url, { path: '/no-url' })).status).toBe(502);
  });

  it('maps X-Accel-Redirect through its configured prefix', async () => {
    const reply = await request(sidecar.url, { path: '/accel' });
    expect(reply.status).toBe(200);
    expect(reply.body.toString()).toBe('stored /store/docs/a.txt');
    expect(reply.headers['x-accel-redirect']).toBeUndefined();
    expect(reply.headers['set-cookie']).toEqual(['seen=1']);
    expect(storeSeen).toEqual(['/store/docs/a.txt']);
  });

  it('serves X-Sendfile from a configured root, with ranges', async () => {
    const whole = await request(sidecar.url, { path: '/sendfile' });
    expect(whole.status).toBe(200);
    expect(whole.body.toString()).toBe('the report from disk\n');
    expect(whole.headers['x-sendfile']).toBeUndefined();
    const part = await request(sidecar.url, { path: '/sendfile', headers: { range: 'bytes=4-9' } });
    expect(part.status).toBe(206);
    expect(part.body.toString()).toBe('report');
  });

  it('refuses X-Sendfile outside the roots (403) and answers a missing file with 404', async () => {
    const outside = await request(sidecar.url, { path: '/sendfile-outside' });
    expect(outside.status).toBe(403);
    expect(outside.body.toString()).not.toContain('root:');
    expect((await request(sidecar.url, { path: '/sendfile-missing' })).status).toBe(404);
  });

  it('counts offloads by kind and refusals by reason', async () => {
    await until(() => sidecar.stderr().includes('HANDOFF_OFFLOAD_NOT_FOUND'), 'the last refusal to be logged', { every: 5 });
    const text = (await request(sidecar.metricsUrl, { path: '/metrics' })).body.toString();
    expect(sample(text, 'handoff_offloads_total{kind="url"}')).toBe(1);
    expect(sample(text, 'handoff_offloads_total{kind="accel"}')).toBe(1);
    // The whole file, the range, and the missing file (performed: the file's absence is its answer);
    // the refused path outside the roots is not counted.
    expect(sample(text, 'handoff_offloads_total{kind="sendfile"}')).toBe(3);
    expect(sample(text, 'handoff_errors_total{reason="HANDOFF_TARGET_FORBIDDEN"}')).toBe(1);
    expect(sample(text, 'handoff_errors_total{reason="HANDOFF_OFFLOAD_INVALID"}')).toBe(1);
    expect(sample(text, 'handoff_errors_total{reason="HANDOFF_OFFLOAD_FORBIDDEN"}')).toBe(1);
    expect(sample(text, 'handoff_errors_total{reason="HANDOFF_OFFLOAD_NOT_FOUND"}')).toBe(1);
    expect(sample(text, 'handoff_upstream_headers_seconds_count{kind="url"}')).toBe(1);
    // Observed for every backend head that was relayed or performed (refused instructions are errors).
    expect(sample(text, 'handoff_backend_headers_seconds_count')).toBe(5);
  });
});
