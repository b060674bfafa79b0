/**
 * The public types of @handoff/uploads. Type-only: validation lives in options.ts.
 * A target has the shape of the sidecar's authorize answer, so an app and a backend
 * behind the sidecar describe where a file goes the same way.
 */
import type { MinDataRate } from '@handoff/core';
import type { Dispatcher } from 'undici';

/** Store the file in this directory: written to a temp file there, renamed once complete, removed on failure. */
export interface LocalTarget {
  tempPath: string;
}

/** S3 multipart upload: one presigned UploadPart URL per part, then CompleteMultipartUpload (or AbortMultipartUpload). */
export interface MultipartTarget {
  /** Bytes per part (every part but the last is exactly this long; S3 wants at least 5 MiB). */
  partSize: number;
  /** Presigned UploadPart URLs, part 1 first: they bound the size to partSize × partUrls.length. */
  partUrls: readonly string[];
  /** Presigned CompleteMultipartUpload URL (POST). */
  completeUrl: string;
  /** Presigned AbortMultipartUpload URL (DELETE). */
  abortUrl: string;
}

/** Object storage: a presigned PUT, or an S3 multipart upload. */
export interface RemoteTarget {
  /** Presigned PutObject URL: one PUT with the whole file (a file of unknown length is buffered to a temp file first). */
  putUrl?: string;
  multipart?: MultipartTarget;
  /** Headers sent with every storage request (the ones the URLs were signed with). */
  headers?: Record<string, string>;
  /** What the app knows the object by (an S3 key); reported as `remoteId`. */
  id?: string;
  /** Where the object can be read; reported as `remoteUrl` (default: the PUT or completion URL without its query). */
  getUrl?: string;
  /**
   * Presigned DeleteObject URL: removes an object already stored whole when the upload fails
   * after it (an ETag that does not match the MD5, a later file of the form failing).
   */
  deleteUrl?: string;
}

export type UploadTarget = LocalTarget | { remote: RemoteTarget };

/** What is known of a file before its first byte is stored. */
export interface FileInfo {
  /** The form field of a multipart file part; undefined for a raw body. */
  field: string | undefined;
  /** The client's name for the file (a multipart part's filename, the raw upload's name). */
  name: string;
  contentType: string;
  /** Declared length, when the client declared one (a raw body with Content-Length). */
  size: number | undefined;
}

/** Where each file goes: one target for every file, or a function asked once per file. */
export type UploadStore = UploadTarget | ((file: FileInfo) => UploadTarget | Promise<UploadTarget>);

/** One stored file. */
export interface UploadedFile {
  /** The form field it came in (multipart), undefined for a raw body. */
  field: string | undefined;
  name: string;
  size: number;
  /** Hex digests of the bytes stored, computed while streaming. */
  sha256: string;
  md5: string;
  contentType: string;
  /** Local store: the file's path. */
  path?: string;
  /** Object storage: where the object is. */
  remoteUrl?: string;
  remoteId?: string;
}

/** A received upload: every file stored, and the non-file fields of a multipart form. */
export interface ReceivedUpload {
  files: UploadedFile[];
  /** Non-file multipart fields; a repeated name gives an array. Empty for a raw body. */
  fields: Record<string, string | string[]>;
}

/** Limits of one upload. Only `maxSize` is required. */
export interface UploadLimits {
  /** Largest request body, in bytes: a declared Content-Length over it is refused before reading, a body growing past it is cut. */
  maxSize: number;
  /** ms allowed without a byte from the client (time spent waiting on storage does not count); 0 disables. */
  bodyTimeout?: number;
  /** Minimum upload rate (only `request` and `grace` apply), as the proxy's `minDataRate`; false for none. */
  minDataRate?: MinDataRate | false;
  /** Most file parts in a multipart form (413 beyond). */
  maxFiles?: number;
  /** Most non-file fields in a multipart form (413 beyond). */
  maxFields?: number;
  /** Longest non-file field value, in bytes (413 beyond). */
  maxFieldSize?: number;
  /** Multipart parts uploaded at once. */
  partConcurrency?: number;
  /** ms a storage request may go without progress (connect, headers, body); 0 disables. */
  storageTimeout?: number;
  /** Where a file of unknown length bound for a single PUT is buffered first. */
  tempDir?: string;
}

export interface ReceiveOptions extends UploadLimits {
  store: UploadStore;
  /** The file's name for a raw body (default: the Content-Disposition filename, else the last path segment, else `upload`). */
  name?: string;
  /** An undici Dispatcher for storage requests (default: one shared Agent). */
  dispatcher?: Dispatcher;
  /** Aborting it abandons the upload (everything stored is removed) with HANDOFF_ABORTED. */
  signal?: AbortSignal;
}
