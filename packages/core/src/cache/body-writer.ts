import { Writable } from 'node:stream';

/**
 * The write stream a store hands to undici's cache handler: it collects the body
 * while it streams to the client and saves it only once the response has ended.
 *
 * - A body past `maxEntrySize` is dropped, but the stream is not destroyed: undici's
 *   cache handler resumes the upstream whenever its write stream closes or drains,
 *   even while the client side is paused (see its "TODO (fix): Should we resume even
 *   if was paused downstream?"), which would defeat the transfer's backpressure.
 * - For the same reason `write()` never reports backpressure: every chunk is taken
 *   synchronously, so the high-water mark is only a formality.
 * - A response that fails or is aborted destroys the stream, so `save` never runs
 *   and a truncated body is never stored.
 */
export function bodyWriter(maxEntrySize: number, save: (body: Buffer) => void | Promise<void>): Writable {
  let chunks: Buffer[] | undefined = [];
  let size = 0;
  return new Writable({
    highWaterMark: Number.MAX_SAFE_INTEGER,
    write(chunk: Buffer, _encoding, callback) {
      if (chunks) {
        size += chunk.length;
        if (size > maxEntrySize) chunks = undefined;
        else chunks.push(chunk);
      }
      callback();
    },
    final(callback) {
      if (!chunks) return callback();
      // Always a copy: undici's chunks are views into socket read buffers that would stay alive whole.
      const body = Buffer.concat(chunks, size);
      chunks = undefined;
      try {
        const saved = save(body);
        if (saved) saved.then(() => callback(), callback);
        else callback();
      } catch (err) {
        callback(err as Error);
      }
    },
    destroy(err, callback) {
      chunks = undefined;
      callback(err);
    },
  });
}
