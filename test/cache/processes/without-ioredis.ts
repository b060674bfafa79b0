// Run by optional-ioredis.test.ts in a process where `ioredis` cannot be resolved.
import path from 'node:path';
import { createProxy, isProxyError } from '../../../packages/core/src/index';

async function main(): Promise<void> {
  const memory = createProxy({ cache: true });
  await memory.close();
  // Files of the package itself (…/node_modules/…/ioredis/built/…), were any loaded.
  const loaded = Object.keys(require.cache).filter((file) => file.includes(`${path.sep}ioredis${path.sep}`));
  let refused: { code: string; option: string | undefined; message: string } | undefined;
  try {
    // Were ioredis loaded, this proxy would connect (and be closed at once).
    await createProxy({ cache: { store: { redis: 'redis://127.0.0.1:1' }, onError: () => {} } }).close();
  } catch (err) {
    if (isProxyError(err)) refused = { code: err.code, option: err.option, message: err.message };
  }
  process.stdout.write(JSON.stringify({ loaded, refused }));
}

void main();
