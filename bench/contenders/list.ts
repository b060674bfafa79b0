/** The contenders, in table order. Each runs in its own process; see the files they name. */
export interface ContenderSpec {
  id: string;
  label: string;
  /** a Node contender: its file under bench/ (compiled by lib/build.ts) and its environment */
  file?: string;
  env?: Record<string, string>;
  /** the nginx proxy_pass contender */
  nginx?: true;
  /** the scenarios it runs in; default: all but `cache`, which only the contenders naming it run */
  scenarios?: readonly string[];
  /** runs only when BENCH_ONLY names it (it needs something the full run does not have, like Redis) */
  optIn?: true;
}

export const RELAY = 'relay';
export const FLOOR = 'floor';
export const DIRECT = 'direct';
export const EXPRESS_HANDOFF = 'handoff-express';
export const EXPRESS_FLOOR = 'floor-express';
export const FASTIFY_HANDOFF = 'handoff-fastify';
export const FASTIFY_FLOOR = 'floor-fastify';

export const CONTENDERS: ContenderSpec[] = [
  {
    id: 'handoff-response',
    label: 'handoff (response mode)',
    file: 'contenders/handoff.ts',
    env: { MODE: 'response' },
    scenarios: ['small', 'large', 'latency', 'streams', 'cache'],
  },
  { id: 'handoff-socket', label: 'handoff (socket mode)', file: 'contenders/handoff.ts', env: { MODE: 'socket' } },
  { id: RELAY, label: 'TCP relay (net pipe)', file: 'contenders/relay.ts' },
  { id: FLOOR, label: 'Koa + undici.stream (floor)', file: 'contenders/floor.ts' },
  { id: 'http-proxy', label: 'http-proxy', file: 'contenders/http-proxy.ts' },
  { id: 'koa-proxies', label: 'koa-proxies', file: 'contenders/koa-proxies.ts' },
  { id: 'reply-from', label: 'fastify + @fastify/reply-from', file: 'contenders/reply-from.ts' },
  { id: 'hpm-express', label: 'express + http-proxy-middleware', file: 'contenders/hpm-express.ts' },
  { id: EXPRESS_HANDOFF, label: 'express + handoff', file: 'contenders/handoff-express.ts' },
  { id: EXPRESS_FLOOR, label: 'Express + undici.stream (Express floor)', file: 'contenders/floor-express.ts' },
  { id: FASTIFY_HANDOFF, label: 'fastify + handoff', file: 'contenders/handoff-fastify.ts' },
  { id: FASTIFY_FLOOR, label: 'Fastify + hijack + undici.stream (Fastify floor)', file: 'contenders/floor-fastify.ts' },
  { id: 'nginx', label: 'nginx proxy_pass', nginx: true },
  { id: 'handoff-cache', label: 'handoff with cache: true', file: 'contenders/handoff-cache.ts', scenarios: ['cache'] },
  { id: 'undici-cache', label: 'undici cache interceptor (direct)', file: 'contenders/undici-cache.ts', scenarios: ['cache'] },
  // The shared gate's cost (docs/shared-gate.md): BENCH_ONLY=gate-local,gate-shared BENCH_SCENARIOS=latency, with REDIS_URL.
  { id: 'gate-local', label: 'handoff, local gate', file: 'contenders/handoff-gate.ts', env: { GATE: 'local' }, scenarios: ['latency'], optIn: true },
  { id: 'gate-shared', label: 'handoff, shared gate (Redis)', file: 'contenders/handoff-gate.ts', env: { GATE: 'shared' }, scenarios: ['latency'], optIn: true },
];

/** The origin hit directly: the reference for added latency, and the ceiling of origin + load generator. */
export const DIRECT_LABEL = 'origin, direct (reference)';
