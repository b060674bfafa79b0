/**
 * What the shared gate adds to a request (docs/shared-gate.md), measured on the gate alone:
 * the time from `enter()` to `admit()` at a fixed 1,000 requests per second, each holding
 * its slot 5 ms (so about 5 in flight, never queued), for the in-process gate, for the
 * gate shared through Redis, and for a bare Redis PING per request (the floor of anything
 * that asks Redis), in interleaved rounds in one process.
 * `npx tsx --tsconfig ../tsconfig.json gate.ts` from bench/; REDIS_URL (default redis://127.0.0.1:6379),
 * ROUNDS (5), SECONDS (3), RATE (1000). The end-to-end figure through HTTP is the
 * gate-local/gate-shared contenders' latency run (bench/README.md).
 */
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import type { ConcurrencyGate, Waiter } from '../packages/core/src/gate/admission';
import { Gate } from '../packages/core/src/gate/gate';
import { resolveGateOptions } from '../packages/core/src/gate/options';
import { SharedGate } from '../packages/core/src/gate/shared-gate';

const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const ROUNDS = Number(process.env.ROUNDS ?? 5);
const SECONDS = Number(process.env.SECONDS ?? 3);
const RATE = Number(process.env.RATE ?? 1000);
const HOLD_MS = 5;

interface Result {
  p50: number;
  p99: number;
  max: number;
  admitted: number;
}

/** Sends RATE entries per second for SECONDS (a 1 ms tick sends what is due), each released HOLD_MS after its admission. */
function measure(gate: ConcurrencyGate): Promise<Result> {
  return new Promise((resolve, reject) => {
    const waits: number[] = [];
    let sent = 0;
    let settled = 0;
    const started = performance.now();
    const end = started + SECONDS * 1000;
    const finish = () => {
      const sorted = waits.sort((a, b) => a - b);
      const at = (p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
      resolve({ p50: at(50), p99: at(99), max: sorted[sorted.length - 1]!, admitted: sorted.length });
    };
    const enter = () => {
      const t0 = performance.now();
      sent++;
      const waiter: Waiter = {
        admit: () => {
          waits.push(performance.now() - t0);
          setTimeout(() => {
            gate.release();
            if (++settled === sent && performance.now() >= end) finish();
          }, HOLD_MS);
        },
        reject: (err) => reject(err),
        describe: () => 'bench',
      };
      if (gate.enter(waiter)) waiter.admit();
    };
    const timer = setInterval(() => {
      const now = performance.now();
      const due = Math.floor(((Math.min(now, end) - started) / 1000) * RATE);
      while (sent < due) enter();
      if (now >= end) clearInterval(timer);
    }, 1);
  });
}

/** Not a gate: admits each waiter when a PING to Redis has come back, to show what one round trip costs here. */
function pingFloor(client: Redis): ConcurrencyGate {
  return {
    inFlight: 0,
    queued: 0,
    enter: (waiter) => {
      client.ping().then(() => waiter.admit(), (err: Error) => waiter.reject(err as never));
      return false;
    },
    leave: () => false,
    release: () => {},
    rejectAll: () => {},
    close: async () => {},
  };
}

async function main(): Promise<void> {
  const key = `handoff-bench:gate:${randomUUID()}`;
  const local = new Gate(64, 256, 5_000);
  const shared = new SharedGate(64, 256, 5_000, resolveGateOptions({ redis: REDIS_URL, key })!);
  for (let i = 0; i < 200 && !shared.stats.redisUp; i++) await new Promise((r) => setTimeout(r, 10));
  if (!shared.stats.redisUp) throw new Error(`Redis at ${REDIS_URL} is not answering`);
  const pinger = new Redis(REDIS_URL);
  const ping = pingFloor(pinger);
  // Warm-up, discarded: the JIT and the script cache.
  await measure(local);
  await measure(shared);
  await measure(ping);
  const rows: string[] = [];
  const added: number[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    const contenders: [string, ConcurrencyGate][] = [['local', local], ['shared', shared], ['ping', ping]];
    const order = [...contenders.slice(round % 3), ...contenders.slice(0, round % 3)];
    const results = new Map<string, Result>();
    for (const [name, gate] of order) results.set(name, await measure(gate));
    const l = results.get('local')!;
    const s = results.get('shared')!;
    const p = results.get('ping')!;
    added.push(s.p99 - l.p99);
    const f = (n: number) => n.toFixed(3);
    rows.push(`| ${round + 1} | ${f(l.p50)} / ${f(l.p99)} | ${f(s.p50)} / ${f(s.p99)} (max ${f(s.max)}) | ${f(p.p50)} / ${f(p.p99)} | ${f(s.p99 - l.p99)} |`);
  }
  console.log(`enter → admit at ${RATE}/s for ${SECONDS} s per round, ${HOLD_MS} ms held, Redis ${REDIS_URL}\n`);
  console.log('| round | local gate p50 / p99 ms | shared gate p50 / p99 ms | one Redis PING p50 / p99 ms | shared p99 − local p99 ms |');
  console.log('| ---: | ---: | ---: | ---: | ---: |');
  for (const row of rows) console.log(row);
  const sorted = [...added].sort((a, b) => a - b);
  console.log(`\np99 added: ${sorted[0]!.toFixed(3)}–${sorted[sorted.length - 1]!.toFixed(3)} ms over ${ROUNDS} rounds (median ${sorted[Math.floor(sorted.length / 2)]!.toFixed(3)})`);
  await shared.close();
  await pinger.quit();
  const cleanup = new Redis(REDIS_URL);
  await cleanup.del(`{${key}}:holders`, `{${key}}:queue`, `{${key}}:tickets`, `{${key}}:seq`);
  await cleanup.quit();
}

void main().catch((err) => {
  console.error(err);
  process.exit(1);
});
