/**
 * The fallback generator: the autocannon CLI in its own process for throughput.
 * Latency comes from latency-probe.ts instead: autocannon's rate limit sends each
 * connection's quota in a burst at the start of every second, and its histogram
 * has whole-millisecond resolution, too coarse for a 2 ms target.
 */
import { createRequire } from 'node:module';
import { firstMessage, start, startNode } from '../lib/children';
import type { LatencyResult, LoadGenerator, ThroughputResult } from './types';

interface AutocannonJson {
  requests: { total: number };
  throughput: { total: number };
  duration: number;
  errors: number;
  timeouts: number;
  non2xx: number;
}

export function autocannonGenerator(): LoadGenerator {
  const require = createRequire(__filename);
  const cli = require.resolve('autocannon/autocannon.js');
  const { version } = require('autocannon/package.json') as { version: string };
  return {
    name: `autocannon ${version}`,
    latencyTool: 'latency-probe.ts (Node, fixed rate, µs timer)',
    async throughput(url, connections, seconds, bulk): Promise<ThroughputResult> {
      // autocannon counts a response's bytes only once it completes: over a fixed duration a
      // 64 MiB body makes the figure jump in 64 MiB steps. For those, a fixed number of
      // responses (two per connection) over the time they took.
      const until = bulk ? ['-a', String(2 * connections)] : ['-d', String(seconds)];
      const args = [cli, '-c', String(connections), ...until, '-t', '30', '-j', url];
      const child = start('autocannon', process.execPath, args, { captureStdout: true });
      let stdout = '';
      child.process.stdout!.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
      const timer = setTimeout(() => child.process.kill('SIGKILL'), (seconds + 40) * 1000);
      const code = await child.exited;
      clearTimeout(timer);
      let r: AutocannonJson;
      try {
        r = JSON.parse(stdout) as AutocannonJson;
      } catch {
        throw new Error(`autocannon ${args.slice(1).join(' ')} failed (code ${code}):\n${stdout}\n${child.output()}`);
      }
      return { requests: r.requests.total, bytes: r.throughput.total, seconds: r.duration, errors: r.errors + r.timeouts + r.non2xx };
    },
    async latency(url, rate, connections, seconds): Promise<LatencyResult> {
      const child = startNode('latency probe', 'load/latency-probe.ts', {
        URL: url,
        RATE: String(rate),
        CONNECTIONS: String(connections),
        SECONDS: String(seconds),
      });
      return firstMessage<LatencyResult>(child, (seconds + 30) * 1000);
    },
  };
}
