import { createHash, type Hash } from 'node:crypto';
import { Md5Job } from './hash-worker';

/**
 * The size, SHA-256 and MD5 of a file, computed while it streams: SHA-256 on this thread,
 * MD5 on the shared hash worker (hash-worker.ts), in parallel with storing the bytes.
 */
export class Digest {
  #size = 0;
  readonly #sha256: Hash = createHash('sha256');
  readonly #md5 = new Md5Job();

  /** A promise when the caller should wait before giving more (the MD5 worker is behind). */
  update(chunk: Buffer): Promise<void> | undefined {
    this.#size += chunk.length;
    this.#sha256.update(chunk);
    return this.#md5.update(chunk);
  }

  get size(): number {
    return this.#size;
  }

  /** Hex digests; call once, at the end. */
  async digest(): Promise<{ size: number; sha256: string; md5: string }> {
    const md5 = await this.#md5.digest();
    return { size: this.#size, sha256: this.#sha256.digest('hex'), md5 };
  }

  /** The file will not be finished (its upload failed): lets the worker forget it. */
  discard(): void {
    this.#md5.discard();
  }
}
