/** The two bodies every contender relays, written once as static files that both origins serve. */
import fs from 'node:fs';
import path from 'node:path';
import { LARGE_BYTES, SMALL_BYTES, WORK_DIR } from '../config';

export const WWW_DIR = path.join(WORK_DIR, 'www');
export const SMALL_PATH = '/small';
export const LARGE_PATH = '/large';
/** The small file again, served with `Cache-Control: public, max-age=3600`: the cache-hit scenario. */
export const CACHED_PATH = '/cached';
export const CACHED_CONTROL = 'public, max-age=3600';

export function ensureBodies(): void {
  fs.mkdirSync(WWW_DIR, { recursive: true });
  for (const [name, size] of [
    ['small', SMALL_BYTES],
    ['large', LARGE_BYTES],
  ] as const) {
    const file = path.join(WWW_DIR, name);
    if (fs.existsSync(file) && fs.statSync(file).size === size) continue;
    fs.writeFileSync(file, Buffer.alloc(size, 'x'));
  }
}
