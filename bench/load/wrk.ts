/** wrk (one thread: the machine has two cores), its summary read through wrk-report.lua. */
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { start } from '../lib/children';
import type { LatencyResult, LoadGenerator, ThroughputResult } from './types';

interface WrkJson {
  requests: number;
  bytes: number;
  duration_us: number;
  connect: number;
  read: number;
  write: number;
  status: number;
  timeout: number;
  p50_us: number;
  p99_us: number;
}

async function run(binary: string, url: string, connections: number, seconds: number, delayMs?: number): Promise<WrkJson> {
  const args = ['-t1', `-c${connections}`, `-d${seconds}s`, '--timeout', '10s', '-s', path.join(__dirname, 'wrk-report.lua'), url];
  const child = start('wrk', binary, args, {
    env: delayMs != null ? { WRK_DELAY_MS: String(delayMs) } : {},
    captureStdout: true,
  });
  let stdout = '';
  child.process.stdout!.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
  // wrk stops itself after -d; this only bounds a wrk that hangs.
  const timer = setTimeout(() => child.process.kill('SIGKILL'), (seconds + 20) * 1000);
  const code = await child.exited;
  clearTimeout(timer);
  const line = stdout.split('\n').find((l) => l.startsWith('WRK_JSON '));
  if (code !== 0 || !line) throw new Error(`wrk ${args.join(' ')} failed (code ${code}):\n${stdout}\n${child.output()}`);
  return JSON.parse(line.slice('WRK_JSON '.length)) as WrkJson;
}

const errors = (r: WrkJson) => r.connect + r.read + r.write + r.status + r.timeout;

export function wrkGenerator(binary: string): LoadGenerator {
  let version = 'wrk';
  try {
    // `wrk -v` prints its version and exits 1
    execFileSync(binary, ['-v'], { encoding: 'utf8' });
  } catch (err) {
    version = String((err as { stdout?: string }).stdout ?? '').split(' [')[0]!.trim() || 'wrk';
  }
  return {
    name: version,
    latencyTool: `${version} (fixed rate through the script's delay())`,
    async throughput(url, connections, seconds): Promise<ThroughputResult> {
      const r = await run(binary, url, connections, seconds);
      return { requests: r.requests, bytes: r.bytes, seconds: r.duration_us / 1e6, errors: errors(r) };
    },
    async latency(url, rate, connections, seconds): Promise<LatencyResult> {
      // Each connection sends, waits for the response, then waits delay ms: the rate is
      // connections / (delay + latency), a little under `rate` when latency is not negligible.
      const r = await run(binary, url, connections, seconds, Math.max(1, Math.round((connections * 1000) / rate)));
      return { p50Ms: r.p50_us / 1000, p99Ms: r.p99_us / 1000, rate: r.requests / (r.duration_us / 1e6), errors: errors(r) };
    },
  };
}
