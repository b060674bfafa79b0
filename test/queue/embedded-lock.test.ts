// The embedded store serves one queue in one process: two PGlites on the same files lose
// committed jobs, so a second queue on the directory is refused, in this process as in another.
import fs from 'node:fs';
import path from 'node:path';
import { ProxyError } from '@handoff/core';
import { createQueue } from '@handoff/queue';
import { describeEmbedded, embeddedStore } from './helpers';

describeEmbedded('the embedded store directory', () => {
  it('refuses a second queue on the same dir in the same process; the first keeps its lock and its jobs; a stale lock of this pid is taken over', async () => {
    const store = embeddedStore();
    const dir = store.options.dir!;
    const first = createQueue({ dir, deliver: false });
    const second = createQueue({ dir, deliver: false });
    try {
      await first.start();
      const err = await second.start().catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ProxyError);
      expect(err).toMatchObject({ code: 'HANDOFF_INVALID_OPTIONS', option: 'dir' });
      expect((err as Error).message).toMatch(/in use by another queue in this process/);
      await expect(second.enqueue({ url: 'http://127.0.0.1:9/two', body: '2' })).rejects.toMatchObject({ code: 'HANDOFF_INVALID_OPTIONS' });
      await second.close();
      // The refused queue's close removed nothing: the lock is still the first queue's.
      expect(fs.readFileSync(path.join(dir, 'lock'), 'utf8')).toBe(String(process.pid));
      await expect(createQueue({ dir, deliver: false }).start()).rejects.toMatchObject({ code: 'HANDOFF_INVALID_OPTIONS' });
      await first.enqueue({ url: 'http://127.0.0.1:9/one', body: '1' });
      await first.close();
      expect(fs.existsSync(path.join(dir, 'lock'))).toBe(false);

      // A lock naming this pid that no queue here holds was left by an earlier process with
      // the same pid (a restarted container): it is taken over.
      fs.writeFileSync(path.join(dir, 'lock'), String(process.pid));
      const reopened = createQueue({ dir, deliver: false });
      await reopened.start();
      expect(await reopened.depth()).toMatchObject({ depth: 1 });
      await reopened.close();
    } finally {
      await first.close();
      await store.drop();
    }
  }, 60_000);

  it('says that dir is not a directory when a file is in the way', async () => {
    const store = embeddedStore();
    const file = path.join(store.options.dir!, 'a-file');
    fs.writeFileSync(file, 'x');
    const queue = createQueue({ dir: file, deliver: false });
    try {
      const err = await queue.start().catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ProxyError);
      expect(err).toMatchObject({ code: 'HANDOFF_INVALID_OPTIONS', option: 'dir' });
      expect((err as Error).message).toMatch(/is not a directory/);
    } finally {
      await queue.close();
      await store.drop();
    }
  });
});
