// RELIABILITY.md F30: file descriptors exhausted → 503, the process survives and recovers.
import { spawn, type ChildProcess } from 'node:child_process';
import http from 'node:http';
import path from 'node:path';
import { request } from '../helpers/client';
import { upstream, type Running } from '../helpers/servers';
import { until } from '../helpers/wait';

const ROOT = path.resolve(__dirname, '../..');

describe('file descriptors exhausted', () => {
  let origin: Running;
  let child: ChildProcess;
  let output = '';

  beforeAll(async () => {
    origin = await upstream((_req, res) => res.end('ok'));
    child = spawn('bash', ['-c', `ulimit -n 256 && exec node --import tsx ${path.join(__dirname, 'processes/fd-gateway.ts')}`], {
      cwd: ROOT,
      env: { ...process.env, ORIGIN: origin.url, TSX_TSCONFIG_PATH: path.join(ROOT, 'tsconfig.json') },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    child.stdout!.setEncoding('utf8');
    child.stdout!.on('data', (chunk: string) => (output += chunk));
    await until(() => /port \d+/.test(output), 'gateway started', { every: 5 });
  }, 30_000);

  afterAll(async () => {
    child.kill();
    await origin.close();
  });

  const port = () => Number(/port (\d+)/.exec(output)![1]);

  it('answers 503 when no descriptor is left for the upstream connection, survives, and recovers', async () => {
    // One keep-alive client connection carries every request, so the client side needs no new descriptor.
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    const get = (p: string) =>
      request(`http://127.0.0.1:${port()}`, { path: p, agent }).then((reply) => ({ status: reply.status, body: reply.body.toString() }));
    try {
      expect((await get('/x')).status).toBe(200);
      expect((await get('/hog')).body).toMatch(/hogged \d+ \(EMFILE\)/);
      const starved = await get('/x');
      expect(starved.status).toBe(503);
      await until(() => output.includes('error HANDOFF_RESOURCES_EXHAUSTED'), 'error reported', { every: 5 });
      expect((await get('/release')).body).toBe('released');
      expect((await get('/x')).status).toBe(200);
      expect(child.exitCode).toBeNull();
    } finally {
      agent.destroy();
    }
  }, 30_000);
});
