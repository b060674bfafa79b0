import { createHash, randomBytes } from 'node:crypto';
import { isProxyError } from '@handoff/core';
import { Digest } from '../../../packages/uploads/src/digest';
import { MAX_IN_FLIGHT, Md5Job, md5Thread } from '../../../packages/uploads/src/hash-worker';

const md5 = (...chunks: Buffer[]) => createHash('md5').update(Buffer.concat(chunks)).digest('hex');
const sha256 = (...chunks: Buffer[]) => createHash('sha256').update(Buffer.concat(chunks)).digest('hex');

describe('the MD5 worker thread', () => {
  it('gives the digests node:crypto gives, for files hashed at the same time', async () => {
    const a = Array.from({ length: 20 }, () => randomBytes(40_000));
    const b = Array.from({ length: 7 }, () => randomBytes(65_536));
    const x = new Digest();
    const y = new Digest();
    for (let i = 0; i < Math.max(a.length, b.length); i++) {
      if (a[i]) await x.update(a[i]!);
      if (b[i]) await y.update(b[i]!);
    }
    const [dx, dy] = await Promise.all([x.digest(), y.digest()]);
    expect(dx).toEqual({ size: 800_000, sha256: sha256(...a), md5: md5(...a) });
    expect(dy).toEqual({ size: 7 * 65_536, sha256: sha256(...b), md5: md5(...b) });
  });

  it('digests an empty file', async () => {
    expect(await new Digest().digest()).toEqual({ size: 0, sha256: sha256(), md5: md5() });
  });

  it('asks the caller to wait once more than MAX_IN_FLIGHT bytes are not hashed yet, and lets it go on once the worker has caught up', async () => {
    const job = new Md5Job();
    const chunk = randomBytes(1024 * 1024);
    const chunks: Buffer[] = [];
    let wait: Promise<void> | undefined;
    while (!wait) {
      chunks.push(chunk);
      wait = job.update(chunk);
      expect(chunks.length).toBeLessThanOrEqual(MAX_IN_FLIGHT / chunk.length + 1);
    }
    expect(md5Thread()!.inFlight).toBeGreaterThan(MAX_IN_FLIGHT);
    await wait;
    expect(md5Thread()!.inFlight).toBeLessThanOrEqual(MAX_IN_FLIGHT / 2);
    expect(await job.digest()).toBe(md5(...chunks));
  });

  it('fails the files being hashed with HANDOFF_STORAGE_ERROR when the worker dies, and starts a new one for the next file', async () => {
    const job = new Md5Job();
    const other = new Md5Job();
    await job.update(randomBytes(1000));
    const { worker } = md5Thread()!;
    await worker.terminate();
    const err = await job.digest().catch((e: unknown) => e);
    expect(isProxyError(err) && err.code).toBe('HANDOFF_STORAGE_ERROR');
    expect((err as Error).message).toMatch(/^Upload digest failed \(the hash worker exited with code 1\)/);
    await expect(other.update(Buffer.from('more'))).rejects.toBe(err);
    await expect(other.digest()).rejects.toBe(err);

    const next = new Digest();
    await next.update(Buffer.from('hello'));
    expect((await next.digest()).md5).toBe(md5(Buffer.from('hello')));
    expect(md5Thread()!.worker).not.toBe(worker);
  });

  it('a discarded file does not disturb the next one, and discard() after digest() changes nothing', async () => {
    const dropped = new Digest();
    await dropped.update(Buffer.from('never finished'));
    dropped.discard();
    const kept = new Digest();
    await kept.update(Buffer.from('kept'));
    const result = await kept.digest();
    kept.discard();
    expect(result.md5).toBe(md5(Buffer.from('kept')));
    const finished = new Md5Job();
    await finished.digest();
    const discarded = new Md5Job();
    discarded.discard();
    expect(() => finished.update(Buffer.from('late'))).toThrow('Md5Job.update() after digest() or discard()');
    expect(() => discarded.update(Buffer.from('late'))).toThrow('Md5Job.update() after digest() or discard()');
  });
});
