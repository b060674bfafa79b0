// /metrics and /healthz on the sidecar's separate listener, after real traffic.
import { openResponse, readBody, request } from '../helpers/client';
import { upstream, type Running } from '../helpers/servers';
import { until } from '../helpers/wait';
import { sample } from './helpers/metrics';
import { startSidecar, type SidecarProcess } from './helpers/sidecar-process';

describe('sidecar metrics and health', () => {
  let backend: Running;
  let sidecar: SidecarProcess;
  let release: (() => void) | undefined;

  beforeAll(async () => {
    backend = await upstream((req, res) => {
      if (req.url === '/missing') return res.writeHead(404).end('nope');
      if (req.url === '/reset') return req.socket.destroy();
      if (req.url === '/hold') {
        res.writeHead(200, { 'content-type': 'text/plain' });
        res.write('started ');
        release = () => res.end('finished');
        return;
      }
      res.end('0123456789');
    });
    sidecar = await startSidecar({ args: ['--backend', backend.url] });
  }, 60_000);

  afterAll(async () => {
    await sidecar?.kill();
    await backend?.close();
  });

  const metrics = async () => (await request(sidecar.metricsUrl, { path: '/metrics' })).body.toString();

  it('answers /healthz with 200 while serving, and nothing else on that listener', async () => {
    const health = await request(sidecar.metricsUrl, { path: '/healthz' });
    expect(health.status).toBe(200);
    expect(health.body.toString()).toBe('ok\n');
    expect((await request(sidecar.metricsUrl, { path: '/other' })).status).toBe(404);
    expect((await request(sidecar.metricsUrl, { path: '/metrics', method: 'POST' })).status).toBe(405);
  });

  it('counts requests by status class and outcome, bytes, durations and errors by reason, with bounded labels', async () => {
    for (let i = 0; i < 5; i++) expect((await request(sidecar.url, { path: `/page/${i}?user=${i}` })).status).toBe(200);
    expect((await request(sidecar.url, { path: '/missing' })).status).toBe(404);
    expect((await request(sidecar.url, { path: '/reset' })).status).toBe(502);
    // Outcomes are recorded once each transfer settles, just after the client has its answer.
    await until(() => sidecar.stderr().includes('HANDOFF_UPSTREAM_RESET'), 'the failure to be logged', { every: 5 });

    const text = await metrics();
    const response = await request(sidecar.metricsUrl, { path: '/metrics' });
    expect(response.headers['content-type']).toMatch(/^text\/plain; version=0\.0\.4/);
    expect(sample(text, 'handoff_requests_total{status_class="2xx",outcome="ok"}')).toBe(5);
    expect(sample(text, 'handoff_requests_total{status_class="4xx",outcome="ok"}')).toBe(1);
    expect(sample(text, 'handoff_requests_total{status_class="5xx",outcome="error"}')).toBe(1);
    expect(sample(text, 'handoff_errors_total{reason="HANDOFF_UPSTREAM_RESET"}')).toBe(1);
    // 5 × 10 bytes, 4 bytes of the 404 and the proxy's own 502 body are all written to clients.
    expect(sample(text, 'handoff_response_bytes_total')).toBeGreaterThanOrEqual(54);
    expect(sample(text, 'handoff_request_duration_seconds_count')).toBe(7);
    expect(sample(text, 'handoff_in_flight')).toBe(0);
    expect(sample(text, 'handoff_queued')).toBe(0);
    expect(text).toContain('# TYPE handoff_upstream_headers_seconds histogram');
    expect(text).toContain('# TYPE handoff_offloads_total counter');
    expect(text).toContain('process_cpu_seconds_total');
    // No path, query or other request data ever becomes a label.
    expect(text).not.toMatch(/page|user=|missing/);
  });

  it('shows a transfer in flight while it streams', async () => {
    const { res } = await openResponse(`${sidecar.url}/hold`);
    await until(() => release !== undefined, 'the backend to hold the response', { every: 5 });
    expect(sample(await metrics(), 'handoff_in_flight')).toBe(1);
    release!();
    const { body, complete } = await readBody(res);
    expect(complete).toBe(true);
    expect(body.toString()).toBe('started finished');
    // The slot is released as the transfer settles, just after the client has the last byte.
    let text = '';
    await until(async () => sample((text = await metrics()), 'handoff_in_flight') === 0, 'the slot to be released');
    expect(sample(text, 'handoff_in_flight')).toBe(0);
  });
});
