/**
 * RSS of the proxy process while a 1 GiB response streams to a client that
 * reads slowly (64 KiB every 2 ms, about 32 MiB/s, so each run takes ~35 s).
 * Prints baseline, peak and after-transfer RSS for both modes.
 * Usage: pnpm --filter handoff-bench memory   (SIZE=… to change the body size)
 */
import { fork, type ChildProcess } from 'node:child_process';
import http from 'node:http';
import path from 'node:path';

const SIZE = Number(process.env.SIZE ?? 1024 ** 3);
const READ = 64 * 1024;
const EVERY_MS = 2;
const MiB = 1024 * 1024;

function start(file: string, env: Record<string, string>): Promise<{ child: ChildProcess; port: number }> {
  const child = fork(path.join(__dirname, file), {
    // Children load the workspace sources through the root tsconfig's paths, as the parent does.
    env: { ...process.env, ...env, TSX_TSCONFIG_PATH: path.join(__dirname, '../../tsconfig.json') },
    execArgv: ['--import', 'tsx', '--expose-gc'],
  });
  return new Promise((resolve, reject) => {
    child.once('message', (m: { port: number }) => resolve({ child, port: m.port }));
    child.once('error', reject);
  });
}

function rss(child: ChildProcess): Promise<number> {
  return new Promise((resolve) => {
    child.once('message', (m: { rss: number }) => resolve(m.rss));
    child.send('rss');
  });
}

async function slowRead(port: number, mode: string, sample: () => Promise<void>): Promise<number> {
  return new Promise((resolve, reject) => {
    http.get({ host: '127.0.0.1', port, path: `/?mode=${mode}`, agent: false }, (res) => {
      let bytes = 0;
      res.pause();
      const timer = setInterval(() => {
        let chunk: Buffer | null;
        let budget = READ;
        while (budget > 0 && (chunk = res.read(Math.min(budget, res.readableLength || budget)) as Buffer | null)) {
          bytes += chunk.length;
          budget -= chunk.length;
        }
      }, EVERY_MS);
      const sampler = setInterval(() => void sample(), 500);
      res.on('end', () => {
        clearInterval(timer);
        clearInterval(sampler);
        resolve(bytes);
      });
      res.on('error', reject);
    }).on('error', reject);
  });
}

async function main() {
  const origin = await start('origin.ts', { SIZE: String(SIZE) });
  const gateway = await start('gateway.ts', { ORIGIN: `http://127.0.0.1:${origin.port}` });
  try {
    for (const mode of ['response', 'socket']) {
      const baseline = await rss(gateway.child);
      let peak = baseline;
      const started = performance.now();
      const bytes = await slowRead(gateway.port, mode, async () => {
        peak = Math.max(peak, await rss(gateway.child));
      });
      const seconds = (performance.now() - started) / 1000;
      const after = await rss(gateway.child);
      if (bytes !== SIZE) throw new Error(`${mode}: received ${bytes} of ${SIZE} bytes`);
      console.log(
        `${mode.padEnd(8)} ${(SIZE / MiB).toFixed(0)} MiB in ${seconds.toFixed(1)} s: ` +
          `RSS baseline ${(baseline / MiB).toFixed(1)} MiB, peak ${(peak / MiB).toFixed(1)} MiB ` +
          `(+${((peak - baseline) / MiB).toFixed(1)} MiB), after ${(after / MiB).toFixed(1)} MiB`,
      );
    }
  } finally {
    gateway.child.kill();
    origin.child.kill();
  }
}

void main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
