import http from 'node:http';
import { request } from '../helpers/client';
import { engineGateway, type EngineGateway } from '../helpers/engine-gateway';
import { recordingUpstream, type RecordingUpstream } from '../helpers/recording-upstream';
import { rawUpstream, type Running } from '../helpers/servers';
import { offloadApp, type OffloadApp } from './helpers';

/** Every bad instruction gets its own status and a logged reason, and reaches no origin. */
describe('bad offload instructions from a handler', () => {
  let target: RecordingUpstream;
  let app: OffloadApp;

  beforeAll(async () => {
    target = await recordingUpstream((_seen, res) => res.end('reached'));
  });

  afterAll(() => target.close());

  afterEach(async () => {
    await app?.close();
  });

  const url = () => target.url;

  it.each<[string, () => Record<string, string>, number, string, string]>([
    ['Offload-Requested without Offload-Url', () => ({}), 502, 'HANDOFF_OFFLOAD_INVALID', 'without an Offload-Url'],
    ['a relative Offload-Url', () => ({ 'Offload-Url': '/files/1' }), 502, 'HANDOFF_OFFLOAD_INVALID', 'not an absolute URL: "/files/1"'],
    ['a non-http scheme', () => ({ 'Offload-Url': 'file:///etc/passwd' }), 502, 'HANDOFF_OFFLOAD_INVALID', 'scheme file:'],
    ['an ftp URL', () => ({ 'Offload-Url': 'ftp://files.example/x' }), 502, 'HANDOFF_OFFLOAD_INVALID', 'scheme ftp:'],
    ['credentials in the URL', () => ({ 'Offload-Url': `http://user:pw@${url().slice(7)}/x` }), 502, 'HANDOFF_OFFLOAD_INVALID', 'carrying credentials'],
    ['a URL outside the allow-list', () => ({ 'Offload-Url': 'http://127.0.0.2:9/x' }), 403, 'HANDOFF_TARGET_FORBIDDEN', 'offload.allow'],
    ['cloud metadata', () => ({ 'Offload-Url': 'http://169.254.169.254/latest' }), 403, 'HANDOFF_TARGET_FORBIDDEN', 'not in the allow-list'],
    ['an unknown Offload-Method', () => ({ 'Offload-Url': `${url()}/x`, 'Offload-Method': 'DELETE' }), 502, 'HANDOFF_OFFLOAD_INVALID', 'Offload-Method "DELETE"'],
    ['a malformed Offload-Method', () => ({ 'Offload-Url': `${url()}/x`, 'Offload-Method': 'GE T' }), 502, 'HANDOFF_OFFLOAD_INVALID', 'allowed: GET, HEAD, POST'],
    [
      'Offload-Forward-Body with GET',
      () => ({ 'Offload-Url': `${url()}/x`, 'Offload-Forward-Body': '1' }),
      502,
      'HANDOFF_OFFLOAD_INVALID',
      'a body needs POST',
    ],
    ['Offload-X-Host', () => ({ 'Offload-Url': `${url()}/x`, 'Offload-X-Host': 'evil' }), 502, 'HANDOFF_OFFLOAD_INVALID', 'may not set the upstream header host'],
    [
      'Offload-X-Transfer-Encoding',
      () => ({ 'Offload-Url': `${url()}/x`, 'Offload-X-Transfer-Encoding': 'chunked' }),
      502,
      'HANDOFF_OFFLOAD_INVALID',
      'transfer-encoding',
    ],
    [
      'Offload-X-Content-Length',
      () => ({ 'Offload-Url': `${url()}/x`, 'Offload-X-Content-Length': '5' }),
      502,
      'HANDOFF_OFFLOAD_INVALID',
      'content-length',
    ],
    [
      'two instructions at once',
      () => ({ 'Offload-Url': `${url()}/x`, 'X-Sendfile': '/tmp/x' }),
      502,
      'HANDOFF_OFFLOAD_INVALID',
      'conflicting offload instructions: Offload-Requested and X-Sendfile',
    ],
  ])('%s → %i', async (_what, headers, status, code, reason) => {
    app = await offloadApp(
      (ctx) => {
        ctx.set('Offload-Requested', '1');
        for (const [name, value] of Object.entries(headers())) ctx.set(name, value);
        ctx.body = 'handler body';
      },
      { allow: [target.origin] },
    );
    const before = target.requests.length;
    const reply = await request(app.url);
    expect(reply.status).toBe(status);
    expect(reply.body.toString()).toBe(`${status} ${http.STATUS_CODES[status]}\n`);
    expect(reply.headers['cache-control']).toBe('no-store');
    expect(app.errors).toHaveLength(1);
    expect(app.errors[0]).toMatchObject({ code, status });
    expect(app.errors[0]!.message).toContain(reason);
    expect(app.errors[0]!.message).not.toContain('pw@');
    expect(target.requests.length).toBe(before);
  });
});

/** Values a Koa handler cannot even produce (Node refuses them), sent by a raw backend to the engine. */
describe('bad offload instructions from a raw backend (proxy.fetch with offload)', () => {
  let gw: EngineGateway;
  let backend: Running;
  let target: RecordingUpstream;

  beforeEach(async () => {
    target = await recordingUpstream((_seen, res) => res.end('reached'));
  });

  afterEach(async () => {
    await gw.close();
    await backend.close();
    await target.close();
  });

  async function backendSending(headerLines: string[]): Promise<void> {
    backend = await rawUpstream((socket, requestHead) => {
      void requestHead.then(() => socket.end(`HTTP/1.1 200 OK\r\n${headerLines.map((l) => `${l}\r\n`).join('')}content-length: 0\r\n\r\n`));
    });
    const rules = { allow: [target.origin], accel: { '/internal/': `${target.url}/` } };
    gw = await engineGateway(({ fetch }) => fetch(backend.url, { offload: rules }));
  }

  it('refuses a repeated X-Accel-Redirect (502)', async () => {
    await backendSending(['X-Accel-Redirect: /internal/a', 'X-Accel-Redirect: /internal/b']);
    expect((await request(gw.url)).status).toBe(502);
    expect((await gw.handles[0]!.done).error!.message).toContain('sent x-accel-redirect 2 times');
    expect(target.requests).toHaveLength(0);
  });

  it('refuses a repeated Offload-Url (502)', async () => {
    await backendSending(['Offload-Requested: 1', `Offload-Url: ${'http://a.invalid/'}`, `Offload-Url: ${'http://b.invalid/'}`]);
    expect((await request(gw.url)).status).toBe(502);
    expect((await gw.handles[0]!.done).error!.code).toBe('HANDOFF_OFFLOAD_INVALID');
  });

  it('never lets CR or LF inside an Offload-X value reach the target (502)', async () => {
    await backendSending(['Offload-Requested: 1', 'Offload-Url: http://127.0.0.1:1/', 'Offload-X-Note: a\rInjected: 1']);
    expect((await request(gw.url)).status).toBe(502);
    expect((await gw.handles[0]!.done).error!.code).toBe('HANDOFF_INVALID_RESPONSE');
    expect(target.requests).toHaveLength(0);
  });

  it('refuses an Offload-X name that is not a token (502)', async () => {
    await backendSending(['Offload-Requested: 1', `Offload-Url: ${'http://127.0.0.1:1/'}`, 'Offload-X-: empty']);
    expect((await request(gw.url)).status).toBe(502);
    const error = (await gw.handles[0]!.done).error!;
    expect(error.code).toBe('HANDOFF_OFFLOAD_INVALID');
    expect(error.message).toContain('invalid upstream header');
  });
});
