import busboy from 'busboy';
import { ProxyError } from '@handoff/core';
import type { UploadSession } from './session';

type Fields = Record<string, string | string[]>;

function malformed(session: UploadSession, reason: string, cause?: unknown): ProxyError {
  return new ProxyError('HANDOFF_REQUEST_BODY', `Malformed multipart/form-data (${reason}): ${session.what}`, cause === undefined ? undefined : { cause });
}

function tooMany(session: UploadSession, what: string): ProxyError {
  return new ProxyError('HANDOFF_REQUEST_TOO_LARGE', `Upload holds too many ${what}: ${session.what}`);
}

/**
 * A multipart/form-data body through busboy (the streaming parser Node's ecosystem relies on):
 * each file part streams to the store as it arrives, with backpressure (busboy holds a
 * write until its file stream is read); other fields are kept, bounded by the limits.
 * Parts with an empty filename (a file input left empty) are skipped.
 */
export async function receiveMultipart(session: UploadSession): Promise<Fields> {
  const { limits, body } = session;
  let parser: busboy.Busboy;
  try {
    // defParamCharset: filenames are UTF-8 in every browser's forms (busboy's default, latin1, garbles them).
    // maxFiles is counted below, not by busboy: an empty file input is skipped, and does not count.
    parser = busboy({
      headers: session.req.headers,
      defParamCharset: 'utf8',
      limits: { fields: limits.maxFields, fieldSize: limits.maxFieldSize },
    });
  } catch (err) {
    throw malformed(session, (err as Error).message, err);
  }
  const fields: Fields = Object.create(null) as Fields;
  const stored: Promise<void>[] = [];
  let files = 0;
  const closed = new Promise<void>((resolve) => parser.once('close', resolve));

  parser.on('file', (field, stream, info) => {
    // A destroyed parser errors its open file streams: heard here, reported through the body.
    stream.on('error', () => undefined);
    if (info.filename === '' || info.filename === undefined) return void stream.resume();
    if (files === limits.maxFiles) {
      stream.resume();
      return body.fail(tooMany(session, `files (maxFiles: ${limits.maxFiles})`));
    }
    const index = files++;
    const file = { field, name: info.filename, contentType: info.mimeType || 'application/octet-stream', size: undefined };
    stored.push(
      session.storeFile(file, index, stream).catch((err: unknown) => {
        stream.resume();
        body.fail(err as ProxyError);
      }),
    );
  });
  parser.on('field', (name, value, info) => {
    if (info.valueTruncated || info.nameTruncated) return body.fail(new ProxyError('HANDOFF_REQUEST_TOO_LARGE', `Upload field ${JSON.stringify(name.slice(0, 64))} is over maxFieldSize (${limits.maxFieldSize} bytes): ${session.what}`));
    const prior = fields[name];
    fields[name] = prior === undefined ? value : Array.isArray(prior) ? [...prior, value] : [prior, value];
  });
  parser.on('fieldsLimit', () => body.fail(tooMany(session, `fields (maxFields: ${limits.maxFields})`)));
  parser.on('error', (err: Error) => body.fail(malformed(session, err.message, err)));

  try {
    for await (const chunk of session.chunks()) {
      await body.guard(new Promise<void>((resolve) => parser.write(chunk, () => resolve())));
    }
    parser.end();
    await body.guard(closed);
    await body.guard(Promise.all(stored));
  } finally {
    parser.removeAllListeners('file');
    if (body.failure) parser.destroy();
  }
  // A store failure caught above was reported through body.fail: it is the upload's failure.
  if (body.failure) throw body.failure;
  if (files === 0) throw malformed(session, 'no file part');
  return fields;
}
