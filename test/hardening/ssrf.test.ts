// RELIABILITY.md group E, cases 26 and 27: user input in URLs, and the allow-list.
// Only loopback is ever connected to. Off-box addresses are either refused by the
// documented pre-connect check (proxy.fetch throws) or meet a caller-owned Agent whose
// connector records the attempt and fails it, so a missing check shows as a recorded
// attempt instead of real traffic.
import { Agent } from 'undici';
import { createProxy, isProxyError, type ProxyCallOptions, type ProxyError, type ProxyOptions } from '@handoff/core';
import { request } from '../helpers/client';
import { engineGateway, type EngineGateway, type GatewayCall, type Route } from '../helpers/engine-gateway';
import { recordingUpstream, type RecordingUpstream } from '../helpers/recording-upstream';

/** A caller-owned dispatcher that never connects: every attempt is recorded and failed. */
function recordingConnector(): { agent: Agent; attempts: string[] } {
  const attempts: string[] = [];
  const agent = new Agent({
    connect: (options, callback) => {
      attempts.push(options.hostname);
      callback(new Error('test connector: no connection is ever made'), null);
    },
  });
  return { agent, attempts };
}

/** A route that records what `proxy.fetch` threw (and rethrows it for the gateway to answer). */
function catchingRoute(target: (call: GatewayCall) => string, options: ProxyCallOptions = {}) {
  const thrown: unknown[] = [];
  const route: Route = (call) => {
    try {
      return call.fetch(target(call), options);
    } catch (err) {
      thrown.push(err);
      throw err;
    }
  };
  return { route, thrown };
}

function thrownBy(fn: () => unknown): ProxyError {
  try {
    fn();
  } catch (err) {
    if (isProxyError(err)) return err;
    throw err;
  }
  throw new Error('expected a ProxyError to be thrown');
}

let gw: EngineGateway | undefined;
let origin: RecordingUpstream | undefined;
let other: RecordingUpstream | undefined;
let agent: Agent | undefined;

afterEach(async () => {
  await gw?.close();
  await origin?.close();
  await other?.close();
  await agent?.close();
  gw = origin = other = agent = undefined;
});

const ok = (_seen: unknown, res: import('node:http').ServerResponse) => res.end('from origin');

describe('user input in a path cannot change the origin (E26)', () => {
  it.each([
    ['//evil.test', '/files///evil.test'],
    ['http://evil.test/', '/files/http://evil.test/'],
    ['@evil.test', '/files/@evil.test'],
    ['%2f%2fevil.test', '/files/%2f%2fevil.test'],
    ['../..', '/'],
    ['\\\\evil.test', '/files///evil.test'],
  ])('appending %j to `${origin}/files/` still reaches the origin, which sees the path %j', async (input, path) => {
    origin = await recordingUpstream(ok);
    gw = await engineGateway(({ fetch, query }) => fetch(`${origin!.url}/files/${String(query.name)}`));
    const reply = await request(gw.url, { path: `/?name=${encodeURIComponent(input)}` });
    expect(reply.status).toBe(200);
    expect(reply.body.toString()).toBe('from origin');
    expect((await gw.handles[0]!.done).error).toBeUndefined();
    expect(origin.requests).toHaveLength(1);
    expect(origin.requests[0]!.url).toBe(path);
    expect(origin.requests[0]!.headers.host).toBe(`127.0.0.1:${origin.port}`);
  });
});

describe('allow as a list of origins (E27)', () => {
  it('proxies to an origin that is listed, even on loopback', async () => {
    origin = await recordingUpstream(ok);
    gw = await engineGateway(({ fetch, path }) => fetch(`${origin!.url}${path}`), { allow: [origin.url] });
    const reply = await request(gw.url, { path: '/listed' });
    expect(reply.status).toBe(200);
    expect(reply.body.toString()).toBe('from origin');
    expect((await gw.handles[0]!.done).error).toBeUndefined();
    expect(origin.requests.map((r) => r.url)).toEqual(['/listed']);
  });

  it('refuses an unlisted origin with 403 HANDOFF_TARGET_FORBIDDEN thrown by proxy.fetch, and never connects to it', async () => {
    origin = await recordingUpstream(ok);
    other = await recordingUpstream(ok);
    const { route, thrown } = catchingRoute(({ path }) => `${other!.url}${path}`);
    gw = await engineGateway(route, { allow: [origin.url] });
    const reply = await request(gw.url, { path: '/secret' });
    // Thrown before the response was touched, so the gateway answered it as Koa's error handling does.
    expect(reply.status).toBe(403);
    expect(reply.body.toString()).toBe('Forbidden');
    expect(gw.handles).toHaveLength(0);
    expect(thrown).toHaveLength(1);
    const err = thrown[0] as ProxyError;
    expect(isProxyError(err)).toBe(true);
    expect(err.code).toBe('HANDOFF_TARGET_FORBIDDEN');
    expect(err.status).toBe(403);
    expect(err.message).toBe(`Upstream origin ${other.url} is not in the allow-list: GET ${other.url}/secret`);
    expect(gw.errors).toEqual([err]);
    expect(other.connections).toBe(0);
    expect(origin.connections).toBe(0);
    expect(gw.proxy.stats.inFlight).toBe(0);
  });

  it.each([
    [['not a url'], 'allow holds an invalid origin: "not a url"'],
    [['http://host/path'], `allow entries must be bare http(s) origins like 'https://host:port', got "http://host/path"`],
    [['ftp://x'], `allow entries must be bare http(s) origins like 'https://host:port', got "ftp://x"`],
    [42, 'allow must be an array of origins or a function (url) => boolean'],
  ])('rejects allow: %j at createProxy() with HANDOFF_INVALID_OPTIONS', (allow, message) => {
    const err = thrownBy(() => createProxy({ allow } as unknown as ProxyOptions));
    expect(err.code).toBe('HANDOFF_INVALID_OPTIONS');
    expect(err.message).toBe(message);
  });
});

describe('allow as a predicate (E27)', () => {
  it('lets the predicate admit a public name, which then reaches the connector (control for the cases below)', async () => {
    const connector = recordingConnector();
    agent = connector.agent;
    const { route } = catchingRoute(() => 'http://upstream.test/x');
    gw = await engineGateway(route, { allow: () => true, dispatcher: agent });
    const reply = await request(gw.url);
    expect(reply.status).toBe(502);
    expect(gw.handles).toHaveLength(1);
    expect(connector.attempts).toEqual(['upstream.test']);
  });

  it.each([
    ['loopback', (port: number) => `http://127.0.0.1:${port}/`, '127.0.0.1'],
    ['loopback in decimal form', (port: number) => `http://2130706433:${port}/`, '127.0.0.1'],
    ['loopback in octal form', (port: number) => `http://0177.0.0.1:${port}/`, '127.0.0.1'],
    ['loopback in short hex form', (port: number) => `http://0x7f.1:${port}/`, '127.0.0.1'],
    ['IPv4-mapped IPv6 loopback', (port: number) => `http://[::ffff:127.0.0.1]:${port}/`, '::ffff:7f00:1'],
    ['IPv6 loopback', (port: number) => `http://[::1]:${port}/`, '::1'],
    ['the link-local metadata address', () => 'http://169.254.169.254/latest/meta-data', '169.254.169.254'],
    ['a 10/8 private address', () => 'http://10.0.0.1/', '10.0.0.1'],
    ['a 192.168/16 private address', () => 'http://192.168.1.1/', '192.168.1.1'],
  ])('refuses %s with 403 before any connection, even though the predicate allows it', async (_what, target, address) => {
    origin = await recordingUpstream(ok);
    const connector = recordingConnector();
    agent = connector.agent;
    const seen: string[] = [];
    const url = target(origin.port);
    const { route, thrown } = catchingRoute(() => url);
    gw = await engineGateway(route, {
      dispatcher: agent,
      allow: (u) => {
        seen.push(u.href);
        return true;
      },
    });
    const reply = await request(gw.url);
    expect(reply.status).toBe(403);
    expect(reply.body.toString()).toBe('Forbidden');
    expect(seen).toHaveLength(1);
    expect(gw.handles).toHaveLength(0);
    const err = thrown[0] as ProxyError;
    expect(err.code).toBe('HANDOFF_TARGET_FORBIDDEN');
    expect(err.message).toContain(`Upstream address ${address} is in a private or reserved range`);
    expect(connector.attempts).toEqual([]);
    expect(origin.connections).toBe(0);
  });

  it('refuses a name that resolves to loopback (localhost) at connect time: 403 from handle.done, no connection made', async () => {
    origin = await recordingUpstream(ok);
    const { route, thrown } = catchingRoute(() => `http://localhost:${origin!.port}/x`);
    gw = await engineGateway(route, { allow: () => true });
    const reply = await request(gw.url);
    // The name passes the pre-connect check; the proxy's own lookup refuses its address.
    expect(thrown).toHaveLength(0);
    expect(gw.handles).toHaveLength(1);
    expect(reply.status).toBe(403);
    expect(reply.body.toString()).toBe('403 Forbidden\n');
    const outcome = await gw.handles[0]!.done;
    expect(outcome.status).toBe(403);
    expect(outcome.error!.code).toBe('HANDOFF_TARGET_FORBIDDEN');
    expect(outcome.error!.message).toMatch(/^Upstream host localhost resolved to (127\.0\.0\.1|::1), a private or reserved address/);
    expect(origin.connections).toBe(0);
    expect(origin.requests).toHaveLength(0);
  });

  it('refuses with 403 when the predicate returns false, passing it the parsed URL, before any connection', async () => {
    const connector = recordingConnector();
    agent = connector.agent;
    const seen: string[] = [];
    const { route, thrown } = catchingRoute(() => 'http://upstream.test/x?y=1');
    gw = await engineGateway(route, {
      dispatcher: agent,
      allow: (url) => {
        seen.push(url.href);
        return false;
      },
    });
    const reply = await request(gw.url);
    expect(reply.status).toBe(403);
    expect(seen).toEqual(['http://upstream.test/x?y=1']);
    const err = thrown[0] as ProxyError;
    expect(err.code).toBe('HANDOFF_TARGET_FORBIDDEN');
    expect(err.message).toBe('The allow predicate refused the upstream: GET http://upstream.test/x?y=1');
    expect(connector.attempts).toEqual([]);
  });

  it('refuses with 403 when the predicate throws, keeping what it threw as the cause, before any connection', async () => {
    const connector = recordingConnector();
    agent = connector.agent;
    const boom = new Error('predicate broke');
    const { route, thrown } = catchingRoute(() => 'http://upstream.test/x');
    gw = await engineGateway(route, {
      dispatcher: agent,
      allow: () => {
        throw boom;
      },
    });
    const reply = await request(gw.url);
    expect(reply.status).toBe(403);
    const err = thrown[0] as ProxyError;
    expect(err.code).toBe('HANDOFF_TARGET_FORBIDDEN');
    expect(err.message).toBe('The allow predicate threw: GET http://upstream.test/x');
    expect(err.cause).toBe(boom);
    expect(connector.attempts).toEqual([]);
  });
});
