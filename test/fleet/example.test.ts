// examples/fleet keeps working: three instances on one Redis, one origin fetch for a burst,
// the shared limit held. The example checks itself and exits 1 otherwise.
import { spawn } from 'node:child_process';
import path from 'node:path';
import { REDIS_URL, describeRedis } from './cache-fleet';

const ROOT = path.resolve(__dirname, '../..');

describeRedis('examples/fleet', () => {
  it('starts three instances, makes one origin fetch for a burst of 30 and keeps the origin within the shared limit', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, 'examples/fleet/src/main.ts')], {
      cwd: path.join(ROOT, 'examples/fleet'),
      env: { ...process.env, REDIS_URL, TSX_TSCONFIG_PATH: path.join(ROOT, 'tsconfig.json') },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    expect(output).toContain('origin fetches: 1\n');
    expect(output).toContain('distinct bodies: 1');
    expect(output).toMatch(/the origin answered at most [1-4] at once/);
    expect(code).toBe(0);
  }, 60_000);
});
