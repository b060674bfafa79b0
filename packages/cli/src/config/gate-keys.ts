/** The `gate.*` keys: the concurrency limit that sidecars share through Redis. */
import type { KeyDef } from './key-def';
import { choice, duration, nonEmpty, ConfigError } from './values';

/** The concurrency limit shared through Redis by every sidecar with the same key; redis '' keeps it per process. */
export interface GateConfig {
  redis: string;
  key: string;
  leaseTtl: number;
  whenDown: 'open' | 'closed';
}

function redisUrl(value: unknown): string {
  if (value === '' || value == null) return '';
  if (typeof value !== 'string' || !/^rediss?:\/\/\S+$/.test(value.trim())) {
    throw new ConfigError(`must be a redis:// or rediss:// URL, or empty for a limit per process, got ${JSON.stringify(value)}`);
  }
  return value.trim();
}

export const GATE_KEYS: readonly KeyDef[] = [
  {
    key: 'gate.redis',
    arg: 'url',
    fallback: '',
    help: 'Redis (redis://…) through which every sidecar with the same gate.key shares one concurrency limit; empty: the limit is per process',
    parse: redisUrl,
  },
  { key: 'gate.key', arg: 'name', fallback: 'handoff:gate', help: 'names the shared limit: sidecars with the same key share concurrency', parse: nonEmpty },
  {
    key: 'gate.leaseTtl',
    arg: 'duration',
    fallback: '10s',
    help: "how long a shared slot is leased (renewed while its transfer runs); a killed sidecar's slots come back within it (1s to 10m)",
    parse: (v) => {
      const ms = duration(v);
      if (ms < 1_000 || ms > 600_000) throw new ConfigError(`must be from 1s to 10m, got ${JSON.stringify(v)}`);
      return ms;
    },
  },
  {
    key: 'gate.whenDown',
    arg: 'open|closed',
    fallback: 'open',
    help: "Redis unreachable: 'open' admits against concurrency in each sidecar, 'closed' answers 503",
    parse: (v) => choice(v, ['open', 'closed'] as const),
  },
];
