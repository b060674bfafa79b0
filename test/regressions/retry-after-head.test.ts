// The engine redesign's regression: an upstream reset that lands while an async onHeaders
// is running must not re-send the request (the client would get attempt 1's head with
// attempt 2's body). A response whose head arrived is never retried (undici's RetryHandler
// refuses it too): the client gets a clean 502, and onHeaders runs once.
import { request } from '../helpers/client';
import { scriptedUpstream, type ScriptedUpstream } from '../faults/scripted-upstream';
import { MODES } from '../helpers/modes';
import { passThrough, type EngineGateway } from '../helpers/engine-gateway';

describe('a reset after the head, while an async onHeaders runs', () => {
  let origin: ScriptedUpstream;
  let proxy: EngineGateway;

  afterEach(async () => {
    await proxy.close();
    await origin.close();
  });

  it.each(MODES)('is answered 502, never retried, with onHeaders run once (%s mode)', async (mode) => {
    origin = await scriptedUpstream((n) =>
      n === 0
        ? [{ request: true }, { send: 'HTTP/1.1 200 OK\r\nContent-Length: 10\r\nX-Attempt: 1\r\n\r\n' }, { wait: 30 }, { reset: true }]
        : [{ request: true }, { send: 'HTTP/1.1 200 OK\r\nContent-Length: 10\r\nX-Attempt: 2\r\n\r\nattempt-2!' }, { hang: true }],
    );
    const hooks: string[] = [];
    proxy = await passThrough(origin.url, {}, {
      mode,
      onHeaders: async (head) => {
        hooks.push(String(head.headers['x-attempt']));
        // Still running when the reset lands.
        await new Promise((resolve) => setTimeout(resolve, 100));
      },
    });
    const reply = await request(proxy.url, { path: '/x', timeout: 5_000 }).catch((err: Error) => err);
    expect(reply).not.toBeInstanceOf(Error);
    const { status, body, headers } = reply as Exclude<typeof reply, Error>;
    expect(status).toBe(502);
    expect(body.toString()).toBe('502 Bad Gateway\n');
    expect(headers['x-attempt']).toBeUndefined();
    expect(hooks).toEqual(['1']);
    expect(origin.requests).toHaveLength(1);
    const outcome = await proxy.handles[0]!.done;
    expect(outcome.status).toBe(502);
    expect(outcome.error!.status).toBe(502);
  });

  it('a reset before any head is still retried once, on a new connection', async () => {
    origin = await scriptedUpstream((n) =>
      n === 0 ? [{ request: true }, { reset: true }] : [{ request: true }, { send: 'HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok' }, { hang: true }],
    );
    proxy = await passThrough(origin.url);
    const reply = await request(proxy.url, { path: '/x' });
    expect([reply.status, reply.body.toString()]).toEqual([200, 'ok']);
    expect(origin.requests).toHaveLength(2);
  });
});
