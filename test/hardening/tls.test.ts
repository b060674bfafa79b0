// RELIABILITY.md group C, case 17: TLS failures answer 502, TLS is verified by default,
// there is no insecure fallback, and repeated failures leave nothing behind.
// Certificates come from test/fixtures/tls (see test/fixtures/README.md).
import fs from 'node:fs';
import path from 'node:path';
import { Agent } from 'undici';
import type { ProxyOptions } from '@handoff/core';
import { request } from '../helpers/client';
import { engineGateway, type EngineGateway } from '../helpers/engine-gateway';
import { recordingUpstream, type RecordingUpstream } from '../helpers/recording-upstream';
import { until } from '../helpers/wait';

const fixture = (name: string) => fs.readFileSync(path.join(__dirname, '..', 'fixtures', 'tls', name));
const CA = fixture('ca.pem');
const SERVER = { key: fixture('server-key.pem'), cert: fixture('server.pem') };
const LOCALHOST_ONLY = { key: fixture('localhost-only-key.pem'), cert: fixture('localhost-only.pem') };
const EXPIRED = { key: fixture('expired-key.pem'), cert: fixture('expired.pem') };

let gw: EngineGateway | undefined;
let origin: RecordingUpstream | undefined;
let trusting: Agent | undefined;

afterEach(async () => {
  await gw?.close();
  await origin?.close();
  await trusting?.close();
  gw = origin = trusting = undefined;
});

/** An https upstream on 127.0.0.1 with `identity`, and a gateway proxying to it as https://127.0.0.1:port. */
async function through(identity: { key: Buffer; cert: Buffer }, options: ProxyOptions = {}) {
  origin = await recordingUpstream((_seen, res) => res.end('secret over tls'), identity);
  const target = `${origin.origin}/doc`;
  gw = await engineGateway(({ fetch }) => fetch(target), options);
  return gw.handles;
}

/** A caller-owned dispatcher that trusts the fixture CA (and verifies everything else as usual). */
function trustingAgent(): Agent {
  trusting = new Agent({ connect: { ca: CA } });
  return trusting;
}

describe('TLS upstreams (C17)', () => {
  it('refuses a certificate from an unknown CA with 502 HANDOFF_UPSTREAM_TLS by default, sending no request', async () => {
    const handles = await through(SERVER);
    const reply = await request(gw!.url);
    expect(reply.status).toBe(502);
    expect(reply.body.toString()).toBe('502 Bad Gateway\n');
    const { error, status } = await handles[0]!.done;
    expect(status).toBe(502);
    expect(error!.code).toBe('HANDOFF_UPSTREAM_TLS');
    expect((error!.cause as { code?: string }).code).toBe('UNABLE_TO_VERIFY_LEAF_SIGNATURE');
    // The handshake was attempted and abandoned: no request went over it, nor over any fallback.
    expect(origin!.connections).toBe(1);
    expect(origin!.requests).toHaveLength(0);
  });

  it('proxies the same upstream (200) through a caller-owned Agent that trusts the CA', async () => {
    const handles = await through(SERVER, { dispatcher: trustingAgent() });
    const reply = await request(gw!.url);
    expect(reply.status).toBe(200);
    expect(reply.body.toString()).toBe('secret over tls');
    expect((await handles[0]!.done).error).toBeUndefined();
    expect(origin!.requests.map((r) => r.url)).toEqual(['/doc']);
  });

  it('refuses a certificate whose names do not match the host (localhost-only, reached as 127.0.0.1) even with the CA trusted', async () => {
    const handles = await through(LOCALHOST_ONLY, { dispatcher: trustingAgent() });
    const reply = await request(gw!.url);
    expect(reply.status).toBe(502);
    const { error } = await handles[0]!.done;
    expect(error!.code).toBe('HANDOFF_UPSTREAM_TLS');
    expect((error!.cause as { code?: string }).code).toBe('ERR_TLS_CERT_ALTNAME_INVALID');
    expect(origin!.requests).toHaveLength(0);
  });

  it('refuses an expired certificate even with the CA trusted', async () => {
    const handles = await through(EXPIRED, { dispatcher: trustingAgent() });
    const reply = await request(gw!.url);
    expect(reply.status).toBe(502);
    const { error } = await handles[0]!.done;
    expect(error!.code).toBe('HANDOFF_UPSTREAM_TLS');
    expect((error!.cause as { code?: string }).code).toBe('CERT_HAS_EXPIRED');
    expect(origin!.requests).toHaveLength(0);
  });

  it('leaves nothing in flight and no connection open after 50 TLS failures in a row', async () => {
    const handles = await through(SERVER);
    for (let i = 0; i < 50; i++) {
      const reply = await request(gw!.url);
      expect(reply.status).toBe(502);
    }
    const outcomes = await Promise.all(handles.map((h) => h.done));
    expect(outcomes).toHaveLength(50);
    expect(new Set(outcomes.map((o) => o.error?.code))).toEqual(new Set(['HANDOFF_UPSTREAM_TLS']));
    const stats = () => gw!.proxy.stats;
    await until(() => stats().inFlight === 0 && stats().upstreamSockets === 0, 'slots and upstream sockets released');
    // Each failed handshake's connection was closed on the proxy side, not left to linger.
    await until(() => origin!.open === 0, 'upstream connections closed');
    expect(origin!.connections).toBe(50);
    expect(origin!.requests).toHaveLength(0);
    expect(stats().queued).toBe(0);
  });
});
