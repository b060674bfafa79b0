import { Redis } from 'ioredis';
import { GATE_DEFAULTS, resolveGateOptions } from '../../../packages/core/src/gate/options';
import { resolveProxyOptions } from '../../../packages/core/src/options/resolve';
import type { ProxyOptions } from '../../../packages/core/src/types';
import { thrown } from '../helpers';

const gate = (value: unknown): ProxyOptions => ({ gate: value as ProxyOptions['gate'] });
const URL_OK = 'redis://127.0.0.1:6379';

describe('the gate option', () => {
  it('is off (the in-process gate) when not given', () => {
    expect(resolveProxyOptions().gate).toBeUndefined();
  });

  it('applies the defaults: a 10 s lease, open when Redis is down, 500 ms commands', () => {
    const resolved = resolveProxyOptions(gate({ redis: URL_OK, key: 'api' })).gate!;
    expect(resolved).toMatchObject({ redis: URL_OK, key: 'api', leaseTtl: 10_000, whenDown: 'open', timeout: 500 });
    expect(GATE_DEFAULTS).toEqual({ leaseTtl: 10_000, whenDown: 'open', timeout: 500 });
  });

  it('keeps the command timeout under a third of a short lease by default', () => {
    expect(resolveGateOptions({ redis: URL_OK, key: 'api', leaseTtl: 1_200 })!.timeout).toBe(400);
  });

  it("takes a caller's ioredis client as it is (not connected here)", () => {
    const client = new Redis(URL_OK, { lazyConnect: true });
    expect(resolveGateOptions({ redis: client, key: 'api', whenDown: 'closed' })).toMatchObject({ redis: client, whenDown: 'closed' });
  });

  it.each([
    ['a string', 'redis://x', 'gate', /gate must be an object \{ redis, key, leaseTtl\?, whenDown\? \}/],
    ['no redis', { key: 'api' }, 'gate.redis', /gate\.redis is required: a redis:\/\/ URL or an ioredis client/],
    ['an http URL', { redis: 'http://127.0.0.1', key: 'api' }, 'gate.redis', /gate\.redis must be a redis:\/\/ or rediss:\/\/ URL, got "http:\/\/127\.0\.0\.1"/],
    ['a URL that does not parse', { redis: 'redis://exa mple:99999', key: 'api' }, 'gate.redis', /gate\.redis is not a valid URL: "redis:\/\/exa mple:99999"/],
    ['not a client', { redis: {}, key: 'api' }, 'gate.redis', /gate\.redis must be a redis:\/\/ URL or an ioredis client/],
    ['no key', { redis: URL_OK }, 'gate.key', /gate\.key must be a non-empty string naming the shared limit, got undefined/],
    ['an empty key', { redis: URL_OK, key: '  ' }, 'gate.key', /gate\.key must be a non-empty string naming the shared limit, got "  "/],
    ['a ttl under 1 s', { redis: URL_OK, key: 'api', leaseTtl: 999 }, 'gate.leaseTtl', /gate\.leaseTtl must be from 1000 to 600000 ms, got 999/],
    ['a ttl over 10 min', { redis: URL_OK, key: 'api', leaseTtl: 600_001 }, 'gate.leaseTtl', /gate\.leaseTtl must be from 1000 to 600000 ms, got 600001/],
    ['a ttl not an integer', { redis: URL_OK, key: 'api', leaseTtl: '10s' }, 'gate.leaseTtl', /gate\.leaseTtl must be an integer >= 0, got 10s/],
    ['another whenDown', { redis: URL_OK, key: 'api', whenDown: 'fail' }, 'gate.whenDown', /gate\.whenDown must be 'open' or 'closed', got "fail"/],
    ['a timeout of 0', { redis: URL_OK, key: 'api', timeout: 0 }, 'gate.timeout', /gate\.timeout must be from 1 ms to a third of gate\.leaseTtl \(3333 ms\), got 0/],
    ['a timeout over a third of the ttl', { redis: URL_OK, key: 'api', leaseTtl: 3_000, timeout: 1_001 }, 'gate.timeout', /a third of gate\.leaseTtl \(1000 ms\), got 1001/],
    ['an onError not a function', { redis: URL_OK, key: 'api', onError: 'log' }, 'gate.onError', /gate\.onError must be a function/],
  ])('refuses %s, naming the option', (_what, value, option, message) => {
    const err = thrown(() => resolveProxyOptions(gate(value)));
    expect(err).toMatchObject({ code: 'HANDOFF_INVALID_OPTIONS', option });
    expect(err.message).toMatch(message);
  });
});
