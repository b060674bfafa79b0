/** The two bodies every contender relays, written as static files that both origins serve. */
import fs from 'node:fs';
import path from 'node:path';
import { LARGE_BYTES, SMALL_BYTES, WORK_DIR } from '../config';

const SHM = '/dev/shm';

/**
 * In memory (tmpfs) when the machine has /dev/shm, for the length of the run: from the
 * page cache, the kernel may evict the 64 MiB file between two large-body runs (VMs
 * that reclaim proactively, such as DAMON's pageout, do it within seconds), and the
 * origin then reads it from disk in the middle of a measurement. Without swap, tmpfs
 * pages stay in memory.
 */
const onShm = (() => {
  try {
    fs.accessSync(SHM, fs.constants.W_OK);
    return fs.statSync(SHM).isDirectory();
  } catch {
    return false;
  }
})();

export const WWW_DIR = onShm ? path.join(SHM, `handoff-bench-www-${process.pid}`) : path.join(WORK_DIR, 'www');
export const SMALL_PATH = '/small';
export const LARGE_PATH = '/large';
/** The small file again, served with `Cache-Control: public, max-age=3600`: the cache-hit scenario. */
export const CACHED_PATH = '/cached';
export const CACHED_CONTROL = 'public, max-age=3600';

export function ensureBodies(): void {
  fs.mkdirSync(WWW_DIR, { recursive: true, mode: 0o755 });
  // Memory given back when the run ends, however it ends (the exit handlers of run.ts kill the origin first).
  if (onShm) process.once('exit', () => fs.rmSync(WWW_DIR, { recursive: true, force: true }));
  for (const [name, size] of [
    ['small', SMALL_BYTES],
    ['large', LARGE_BYTES],
  ] as const) {
    const file = path.join(WWW_DIR, name);
    if (fs.existsSync(file) && fs.statSync(file).size === size) continue;
    fs.writeFileSync(file, Buffer.alloc(size, 'x'));
  }
}
