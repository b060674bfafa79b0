/** Per-round measurements in, one row of medians per contender out. */
import { DIRECT } from '../contenders/list';
import type { LatencyResult } from '../load/types';
import type { StreamsResult } from '../scenarios/slow-streams';
import type { LargeResult, SmallResult } from '../scenarios/throughput';

export interface Measurements {
  small: SmallResult;
  large: LargeResult;
  latency: LatencyResult;
  streams: StreamsResult;
  /** cache-hit requests/s (scenarios/cache-hit.ts) */
  cache: SmallResult;
  failure: string;
}

export type RoundEntry = Partial<Omit<Measurements, 'failure'>> & { failures: string[] };

export interface Run {
  id: string;
  label: string;
  rounds: RoundEntry[];
}

export interface Row {
  id: string;
  label: string;
  smallRps: number;
  /** small cacheable responses per second once stored (NaN for contenders not in the cache scenario) */
  cacheRps: number;
  largeMBps: number;
  cpuPerGiB: number;
  /** latency at the fixed rate, and what it adds to the origin's own (same round) */
  p50Ms: number;
  p99Ms: number;
  p50AddedMs: number;
  p99AddedMs: number;
  latencyRate: number;
  kibPerStream: number;
  idleMiB: number;
  heldMiB: number;
  /** RSS once the streams are gone, minus the idle RSS: as left, and after a forced GC */
  afterMiB: number;
  afterGcMiB: number;
  /** fewest streams opened in any round */
  opened: number;
  streams: number;
  rounds: number;
  /** the same figures round by round (NaN where a round has none), for targets checked per round */
  byRound: { smallRps: number[]; largeMBps: number[]; p99AddedMs: number[]; kibPerStream: number[]; afterGcMiB: number[] };
  notes: string[];
}

export function median(values: number[]): number {
  const v = values.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (v.length === 0) return NaN;
  const mid = Math.floor(v.length / 2);
  return v.length % 2 ? v[mid]! : (v[mid - 1]! + v[mid]!) / 2;
}

const MiB = 1024 * 1024;

export function summarise(runs: Run[]): Row[] {
  const direct = runs.find((r) => r.id === DIRECT);
  return runs.map((run) => {
    const rs = run.rounds.filter(Boolean);
    const of = <T>(pick: (e: RoundEntry) => T | undefined) => rs.map(pick).filter((x): x is T => x !== undefined);
    const addedByRound = (key: 'p50Ms' | 'p99Ms') =>
      run.rounds.map((entry, i) => {
        const base = direct?.rounds[i]?.latency;
        return entry?.latency && base ? entry.latency[key] - base[key] : NaN;
      });
    const added = (key: 'p50Ms' | 'p99Ms') => median(addedByRound(key));
    const each = (pick: (e: RoundEntry) => number | undefined) => run.rounds.map((e) => (e ? (pick(e) ?? NaN) : NaN));
    const notes = new Set<string>();
    for (const [i, e] of rs.entries()) {
      for (const f of e.failures) notes.add(`round ${i + 1}: ${f}`);
      const errors = (e.small?.errors ?? 0) + (e.large?.errors ?? 0) + (e.latency?.errors ?? 0) + (e.cache?.errors ?? 0);
      if (errors > 0) {
        notes.add(
          `round ${i + 1}: ${errors} failed requests (small ${e.small?.errors ?? 0}, large ${e.large?.errors ?? 0}, latency ${e.latency?.errors ?? 0}, cache ${e.cache?.errors ?? 0})`,
        );
      }
      const s = e.streams;
      if (s && (s.opened < s.streams || s.lost > 0)) {
        notes.add(`round ${i + 1}: ${s.opened} of ${s.streams} slow streams opened (${s.failed} failed), ${s.lost} closed by the proxy while held`);
      }
    }
    const streams = of((e) => e.streams);
    return {
      id: run.id,
      label: run.label,
      smallRps: median(of((e) => e.small?.rps)),
      cacheRps: median(of((e) => e.cache?.rps)),
      largeMBps: median(of((e) => e.large?.mbps)),
      cpuPerGiB: run.id === DIRECT ? NaN : median(of((e) => e.large?.cpuPerGiB)),
      p50Ms: median(of((e) => e.latency?.p50Ms)),
      p99Ms: median(of((e) => e.latency?.p99Ms)),
      p50AddedMs: run.id === DIRECT ? NaN : added('p50Ms'),
      p99AddedMs: run.id === DIRECT ? NaN : added('p99Ms'),
      latencyRate: median(of((e) => e.latency?.rate)),
      kibPerStream: median(streams.map((s) => s.perStreamBytes / 1024)),
      idleMiB: median(streams.map((s) => s.idleRss / MiB)),
      heldMiB: median(streams.map((s) => s.heldRss / MiB)),
      afterMiB: median(streams.map((s) => (s.afterRss - s.idleRss) / MiB)),
      afterGcMiB: median(streams.map((s) => (s.afterGcRss - s.idleRss) / MiB)),
      opened: streams.length ? Math.min(...streams.map((s) => s.opened)) : NaN,
      streams: streams[0]?.streams ?? NaN,
      rounds: rs.length,
      byRound: {
        smallRps: each((e) => e.small?.rps),
        largeMBps: each((e) => e.large?.mbps),
        p99AddedMs: run.id === DIRECT ? [] : addedByRound('p99Ms'),
        kibPerStream: each((e) => e.streams && e.streams.perStreamBytes / 1024),
        afterGcMiB: each((e) => e.streams && (e.streams.afterGcRss - e.streams.idleRss) / MiB),
      },
      notes: [...notes],
    };
  });
}
