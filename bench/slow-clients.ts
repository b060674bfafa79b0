/**
 * `pnpm --filter handoff-bench slow-clients`: slowhttptest (Debian's package) against a
 * default Koa + handoff gateway on loopback, while a probe sends one normal request every
 * 250 ms: the share of those answered 200 within 2 s, per attack. Each attack is bounded
 * (slowhttptest -l, and a kill after its length + 15 s); every process it starts is killed
 * at the end. Writes bench/slow-clients.md.
 */
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { BENCH_DIR, int } from './config';
import { buildChildren, sourceRevision } from './lib/build';
import { firstMessage, killAll, start, startNode, stop } from './lib/children';
import { findExecutable } from './nginx/start';

const SECONDS = int('SLOW_SECONDS', 60);
const CONNECTIONS = int('SLOW_CONNECTIONS', 200);

interface Attack {
  name: string;
  /** slowhttptest arguments besides -c, -l and -u. */
  args: string[];
  path: string;
  /** Environment for the gateway (its options). */
  env?: Record<string, string>;
}

const LARGE_READ = ['-X', '-r', '200', '-w', '16', '-y', '32', '-n', '1', '-z', '32', '-k', '1'];

const ATTACKS: Attack[] = [
  // Slow body (R-U-Dead-Yet): POSTs declaring 8 KiB, sending 10 bytes every 3 s.
  { name: 'slow body (-B)', args: ['-B', '-i', '3', '-r', '200', '-s', '8192', '-x', '10', '-t', 'POST'], path: '/upload' },
  // Slow read of the small page, three times per connection (pipelined), 32 bytes a second through a tiny window.
  { name: 'slow read, 1 KiB page (-X)', args: ['-X', '-r', '200', '-w', '16', '-y', '32', '-n', '1', '-z', '32', '-k', '3'], path: '/' },
  // The same against a 4 MiB response: more than the proxy and the OS buffer, so the upstream stays paused.
  { name: 'slow read, 4 MiB response (-X)', args: LARGE_READ, path: '/large' },
  // And with that route's bodyTimeout at 10 s instead of the default 60 s.
  { name: 'slow read, 4 MiB, bodyTimeout 10 s (-X)', args: LARGE_READ, path: '/large', env: { SLOW_BODY_TIMEOUT: '10000' } },
];

interface Probe {
  sent: number;
  ok: number;
  latencies: number[];
}

/** One GET every 250 ms for `ms`, each given 2 s to be answered with a 200. */
async function probe(port: number, ms: number): Promise<Probe> {
  const result: Probe = { sent: 0, ok: 0, latencies: [] };
  const pending: Promise<void>[] = [];
  const until = Date.now() + ms;
  while (Date.now() < until) {
    result.sent++;
    const started = performance.now();
    pending.push(
      new Promise<void>((resolve) => {
        const req = http.get({ host: '127.0.0.1', port, path: '/ping', agent: false, timeout: 2_000 }, (res) => {
          res.resume();
          res.on('end', () => {
            const took = performance.now() - started;
            if (res.statusCode === 200 && took <= 2_000) {
              result.ok++;
              result.latencies.push(took);
            }
            resolve();
          });
          res.on('error', () => resolve());
        });
        req.on('timeout', () => req.destroy());
        req.on('error', () => resolve());
      }),
    );
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  await Promise.all(pending);
  return result;
}

function quantile(values: number[], q: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
}

async function main(): Promise<void> {
  const slowhttptest = findExecutable('slowhttptest');
  if (!slowhttptest) {
    console.log('slow-clients: slowhttptest is not installed (apt-get install slowhttptest); nothing measured.');
    return;
  }
  await buildChildren(['slow-clients/origin.ts', 'slow-clients/gateway.ts']);
  const rows: string[] = [];
  for (const attack of ATTACKS) {
    // A fresh origin and gateway per attack: one attack's leftovers never weigh on the next.
    const origin = startNode('origin', 'slow-clients/origin.ts');
    const { port: originPort } = await firstMessage<{ port: number }>(origin);
    const gateway = startNode('gateway', 'slow-clients/gateway.ts', { ORIGIN: `http://127.0.0.1:${originPort}`, ...attack.env });
    const { port } = await firstMessage<{ port: number }>(gateway);
    const url = `http://127.0.0.1:${port}${attack.path}`;
    const quiet = await probe(port, 3_000);
    const attacker = start('slowhttptest', slowhttptest, [...attack.args, '-c', String(CONNECTIONS), '-l', String(SECONDS), '-u', url]);
    const deadline = setTimeout(() => attacker.process.kill('SIGKILL'), (SECONDS + 15) * 1_000);
    // Let the attack open its connections, then probe for the rest of it.
    await new Promise((resolve) => setTimeout(resolve, 5_000));
    const during = await probe(port, (SECONDS - 8) * 1_000);
    await attacker.exited;
    clearTimeout(deadline);
    await stop(gateway);
    await stop(origin);
    const share = (p: Probe) => `${p.ok}/${p.sent} (${((100 * p.ok) / Math.max(1, p.sent)).toFixed(0)} %)`;
    const ms = (p: Probe) => `${quantile(p.latencies, 0.5).toFixed(1)} / ${quantile(p.latencies, 0.99).toFixed(1)}`;
    rows.push(`| ${attack.name} | ${share(quiet)} | ${share(during)} | ${ms(during)} |`);
    console.log(rows[rows.length - 1]);
  }
  const report = [
    `# Slow clients: slowhttptest against a default gateway`,
    '',
    `Sources at ${sourceRevision()}, Node ${process.version}, ${CONNECTIONS} attack connections for ${SECONDS} s each, on loopback.`,
    'A probe sends one GET every 250 ms through the same gateway; answered means a 200 within 2 s.',
    '',
    '| attack | probes answered before | probes answered during | p50 / p99 ms during |',
    '| --- | ---: | ---: | ---: |',
    ...rows,
    '',
  ].join('\n');
  fs.writeFileSync(path.join(BENCH_DIR, 'slow-clients.md'), report);
  console.log(`\nwrote ${path.join(BENCH_DIR, 'slow-clients.md')}`);
}

process.on('exit', killAll);
process.on('SIGINT', () => process.exit(130));
main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
