// SIGTERM/SIGINT on the sidecar process: stop accepting, drain in-flight transfers until
// shutdownTimeout, report draining on /healthz, exit 0; a second signal exits at once.
import http from 'node:http';
import { openResponse, readBody, request } from '../helpers/client';
import { upstream, type Running } from '../helpers/servers';
import { until } from '../helpers/wait';
import { startSidecar, type SidecarProcess } from './helpers/sidecar-process';

/** Resolves with the error code of a request that could not connect, or 'connected'. */
function connectResult(url: string): Promise<string> {
  return new Promise((resolve) => {
    const req = http.get(url, { agent: false }, (res) => {
      res.resume();
      resolve('connected');
    });
    req.on('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? err.message));
  });
}

describe('sidecar shutdown', () => {
  let backend: Running;
  let sidecar: SidecarProcess | undefined;
  const held: Array<() => void> = [];

  beforeAll(async () => {
    backend = await upstream((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.write('first ');
      held.push(() => res.end('last'));
    });
  });

  afterEach(async () => {
    for (const finish of held.splice(0)) finish();
    await sidecar?.kill();
    sidecar = undefined;
  });

  afterAll(async () => {
    await backend.close();
  });

  it('drains: the in-flight transfer finishes, /healthz says 503, new connections are refused, exit 0', async () => {
    sidecar = await startSidecar({ args: ['--backend', backend.url, '--shutdown-timeout', '60s'] });
    const { res } = await openResponse(`${sidecar.url}/download`);
    const body = readBody(res);
    await until(() => held.length === 1, 'the backend to hold the response', { every: 5 });

    sidecar.child.kill('SIGTERM');
    await until(() => sidecar!.stdout().includes('SIGTERM: draining 1 in-flight'), 'the drain to start', { every: 5 });
    const health = await request(sidecar.metricsUrl, { path: '/healthz' });
    expect(health.status).toBe(503);
    expect(health.body.toString()).toBe('draining\n');
    expect(await connectResult(sidecar.url)).toBe('ECONNREFUSED');
    expect(sidecar.child.exitCode).toBeNull();

    held.shift()!();
    const { body: bytes, complete } = await body;
    expect(complete).toBe(true);
    expect(bytes.toString()).toBe('first last');
    expect(await sidecar.exited).toEqual({ code: 0, signal: null });
    expect(sidecar.stdout()).toContain('handoff: stopped');
  }, 60_000);

  it('cuts what is still running at shutdownTimeout, visibly, and exits 0', async () => {
    sidecar = await startSidecar({ args: ['--backend', backend.url, '--shutdown-timeout', '100ms'] });
    const { res } = await openResponse(`${sidecar.url}/download`);
    const body = readBody(res);
    await until(() => held.length === 1, 'the backend to hold the response', { every: 5 });

    sidecar.child.kill('SIGINT');
    const { body: bytes, complete } = await body;
    expect(complete).toBe(false);
    expect(bytes.toString()).toBe('first ');
    expect(await sidecar.exited).toEqual({ code: 0, signal: null });
    expect(sidecar.stderr()).toContain('HANDOFF_SHUTDOWN');
  }, 60_000);

  it('exits at once on a second signal', async () => {
    sidecar = await startSidecar({ args: ['--backend', backend.url, '--shutdown-timeout', '60s'] });
    const { res } = await openResponse(`${sidecar.url}/download`);
    const body = readBody(res);
    await until(() => held.length === 1, 'the backend to hold the response', { every: 5 });

    sidecar.child.kill('SIGTERM');
    await until(() => sidecar!.stdout().includes('SIGTERM: draining'), 'the drain to start', { every: 5 });
    sidecar.child.kill('SIGTERM');
    expect(await sidecar.exited).toEqual({ code: 143, signal: null });
    expect((await body).complete).toBe(false);
  }, 60_000);
});
