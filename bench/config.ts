/**
 * Settings of one benchmark run, read once from the environment.
 * BENCH_QUICK=1 gives a smoke run (1 round, short durations, fewer streams).
 */
import path from 'node:path';

export const BENCH_DIR = __dirname;
/** Scratch space (gitignored): body files, nginx configs, raw results. */
export const WORK_DIR = path.join(__dirname, '.work');

export const SMALL_BYTES = 1024;
export const LARGE_BYTES = 64 * 1024 * 1024;

export interface Settings {
  quick: boolean;
  rounds: number;
  /** small-body requests/s: keep-alive connections, warm-up and measured seconds */
  small: { connections: number; warmupSeconds: number; seconds: number };
  /** large-body MB/s (and CPU s/GiB): connections and measured seconds */
  large: { connections: number; seconds: number };
  /**
   * added latency: a fixed request rate over a few keep-alive connections. The rate
   * defaults to 1,000/s with wrk and 250/s with the fallbacks, where a Node origin and
   * a JavaScript load generator leave the proxy much less CPU. `warmupSeconds` of the
   * small-body load (discarded) come right before each measurement: the large-body runs
   * before it deoptimize Node's own stream code in every Node contender, and at 1,000 req/s
   * V8 takes longer than the measurement to optimize it again (bench/README.md).
   */
  latency: { rate: number; connections: number; warmupSeconds: number; seconds: number };
  /** RSS per concurrent slow stream */
  streams: { count: number; openWindow: number; openTimeoutMs: number; settleMs: number; afterMs: number };
  /** stop looking for nginx even when installed (BENCH_NO_WRK is read before the settings: it sets defaults) */
  noNginx: boolean;
  /** run only these contenders / scenarios (comma-separated ids), for development */
  only: string[] | null;
  scenarios: string[] | null;
  /** the whole run is killed past this many seconds */
  deadlineSeconds: number;
}

/** An integer ≥ 1 from the environment, or `fallback` when unset; anything else is refused with its name. */
export function int(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw == null || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 1) throw new Error(`${name} must be an integer >= 1, got ${JSON.stringify(raw)}`);
  return value;
}

export function flag(name: string): boolean {
  const raw = process.env[name];
  return raw != null && raw !== '' && raw !== '0' && raw !== 'false';
}

export function readSettings(fallbackLoad: boolean): Settings {
  const quick = flag('BENCH_QUICK');
  const list = (name: string) => process.env[name]?.split(',').map((x) => x.trim()) ?? null;
  return {
    quick,
    rounds: int('BENCH_ROUNDS', quick ? 1 : 3),
    small: { connections: 50, warmupSeconds: 1, seconds: quick ? 1 : 2 },
    large: { connections: 4, seconds: 2 },
    latency: { rate: int('BENCH_RATE', fallbackLoad ? 250 : 1000), connections: 10, warmupSeconds: 1, seconds: quick ? 1 : 3 },
    streams: {
      count: int('BENCH_STREAMS', quick ? 1000 : 5000),
      // Wider than 256 opens the streams in ~2/3 of the time: the kernel's TCP memory
      // (tcp_mem) fills with fewer bytes relayed first, which keeps the run under 10 minutes.
      // More streams are mid-read when they stall: every Node contender's KiB per stream is 6–8 higher.
      openWindow: 1024,
      openTimeoutMs: 30_000,
      settleMs: 400,
      afterMs: 500,
    },
    noNginx: flag('BENCH_NO_NGINX'),
    only: list('BENCH_ONLY'),
    scenarios: list('BENCH_SCENARIOS'),
    deadlineSeconds: int('BENCH_DEADLINE', quick ? 300 : 1800),
  };
}
