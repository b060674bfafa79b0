import { createHash, type Hash } from 'node:crypto';

/** The size, SHA-256 and MD5 of a file, computed while it streams. */
export class Digest {
  #size = 0;
  readonly #sha256: Hash = createHash('sha256');
  readonly #md5: Hash = createHash('md5');

  update(chunk: Buffer): void {
    this.#size += chunk.length;
    this.#sha256.update(chunk);
    this.#md5.update(chunk);
  }

  get size(): number {
    return this.#size;
  }

  /** Hex digests; call once, at the end. */
  digest(): { size: number; sha256: string; md5: string } {
    return { size: this.#size, sha256: this.#sha256.digest('hex'), md5: this.#md5.digest('hex') };
  }
}
