import { ThrottleGroup, type Throttle } from 'stream-throttle';
import type { TransformCallback } from 'node:stream';

/**
 * A stream-throttle Throttle that stops between slices once destroyed.
 * stream-throttle keeps slicing a chunk after its stream is destroyed, which
 * leaves token-bucket timers running for up to chunk/rate seconds after a
 * client has gone; here the wait is at most one slice (a tenth of a second).
 */
export function createThrottle(rate: number): Throttle {
  // stream-throttle's default slice is rate/10, which is 0 below 10 B/s and would drop the bytes.
  const group = new ThrottleGroup({ rate, chunksize: Math.max(1, Math.floor(rate / 10)) });
  const throttle = group.throttle({ rate });
  const bucket = (throttle as unknown as { bucket: Bucket }).bucket;
  const size = (throttle as unknown as { chunksize: number }).chunksize;
  throttle._transform = function transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback) {
    const next = (pos: number): void => {
      if (this.destroyed) return done();
      if (pos >= chunk.length) return done();
      const slice = chunk.subarray(pos, pos + size);
      bucket.removeTokens(slice.length, (err) => {
        if (err) return done(err instanceof Error ? err : new Error(String(err)));
        if (this.destroyed) return done();
        this.push(slice);
        next(pos + slice.length);
      });
    };
    next(0);
  };
  return throttle;
}

interface Bucket {
  removeTokens(count: number, callback: (err: unknown) => void): void;
}
