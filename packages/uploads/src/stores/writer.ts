import type { Dispatcher } from 'undici';
import type { ResolvedLimits } from '../options';

/** Where a file ended up. */
export interface StoredAt {
  path?: string;
  remoteUrl?: string;
  remoteId?: string;
}

/** What a writer is told about its file and the upload. */
export interface WriterContext {
  limits: ResolvedLimits;
  dispatcher: Dispatcher;
  /** `PUT /uploads/a`, for messages. */
  what: string;
  /** The declared length, when there is one. */
  size: number | undefined;
}

/**
 * One file on its way to a store. Failures are ProxyErrors (storage codes, or 413 when the
 * target cannot hold the file); after one, `abort()` removes whatever was stored.
 */
export interface FileWriter {
  /** Takes a chunk; returns a promise when the caller must wait before the next one (backpressure). */
  write(chunk: Buffer): Promise<void> | undefined;
  /** Completes the file (rename, finish the PUT, complete the multipart upload). */
  finish(file: { size: number; md5: string }): Promise<StoredAt>;
  /** Removes anything stored so far, including a finished file; never rejects. */
  abort(): Promise<void>;
}
