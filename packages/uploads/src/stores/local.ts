import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import { once } from 'node:events';
import path from 'node:path';
import { ProxyError } from '@handoff/core';
import type { FileWriter, StoredAt } from './writer';

/** A temp file's name: hidden, and marked as partial, until it is complete. */
export function tempName(dir: string): string {
  return path.join(dir, `.handoff-${randomBytes(12).toString('hex')}.part`);
}

/** Disk full or quota: the store may work again later (503); anything else is a failing store (502). */
export function diskError(err: unknown, action: string, file: string): ProxyError {
  const code = (err as NodeJS.ErrnoException).code ?? 'error';
  const busy = code === 'ENOSPC' || code === 'EDQUOT' || code === 'EMFILE' || code === 'ENFILE';
  return new ProxyError(busy ? 'HANDOFF_STORAGE_UNAVAILABLE' : 'HANDOFF_STORAGE_ERROR', `Could not ${action} ${file} (${code})`, { cause: err });
}

/**
 * Writes a file to `<dir>/.handoff-<random>.part`, renamed to `<dir>/<random>` once complete,
 * so a partial file never carries a final name; `abort()` removes either.
 */
export class TempFile implements FileWriter {
  readonly tempPath: string;
  readonly #stream: fs.WriteStream;
  #error: ProxyError | undefined;
  #finalPath: string | undefined;
  #closed: Promise<unknown>;

  constructor(private readonly dir: string) {
    this.tempPath = tempName(dir);
    this.#stream = fs.createWriteStream(this.tempPath, { flags: 'wx' });
    this.#closed = once(this.#stream, 'close').catch(() => undefined);
    this.#stream.on('error', (err) => (this.#error ??= diskError(err, 'write', this.tempPath)));
  }

  write(chunk: Buffer): Promise<void> | undefined {
    if (this.#error) throw this.#error;
    if (this.#stream.write(chunk)) return undefined;
    return this.#drained();
  }

  async #drained(): Promise<void> {
    await Promise.race([once(this.#stream, 'drain').catch(() => undefined), this.#closed]);
    if (this.#error) throw this.#error;
  }

  /** Ends the temp file (without renaming it): the bytes are all on disk. */
  async close(): Promise<void> {
    if (this.#error) throw this.#error;
    this.#stream.end();
    await this.#closed;
    if (this.#error) throw this.#error;
  }

  async finish(): Promise<StoredAt> {
    await this.close();
    const finalPath = path.join(this.dir, randomBytes(16).toString('hex'));
    try {
      await fs.promises.rename(this.tempPath, finalPath);
    } catch (err) {
      throw diskError(err, 'rename', this.tempPath);
    }
    this.#finalPath = finalPath;
    return { path: finalPath };
  }

  async abort(): Promise<void> {
    this.#stream.destroy();
    await this.#closed;
    await removeFile(this.tempPath);
    if (this.#finalPath) await removeFile(this.#finalPath);
  }
}

/** Removes a file if it is there (a handler may have moved it); never rejects. */
export async function removeFile(file: string): Promise<void> {
  await fs.promises.rm(file, { force: true }).catch(() => undefined);
}
