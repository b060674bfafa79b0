import { randomBytes } from 'node:crypto';
import type { ReceivedUpload, UploadedFile } from '@handoff/uploads';

/**
 * The fields the sidecar signs for each stored file, as `<field>.<name>` (`file.<name>` for a
 * raw body). A client's own field (or query parameter) ending in one of these is never passed
 * on: only the sidecar names them (RELIABILITY L47).
 */
export const SIGNED_SUFFIXES = ['name', 'size', 'sha256', 'md5', 'content_type', 'path', 'remote_url', 'remote_id'] as const;

/** Header the rewritten request carries: a JWT over exactly the signed fields. */
export const FIELDS_HEADER = 'handoff-upload-fields';
/** Header the authorize request carries: a JWT saying the sidecar sent it. */
export const AUTHORIZE_HEADER = 'handoff-upload-authorization';
/** Every header of this prefix a client sends is dropped, on every request (`_` read as `-`: see isReservedHeader). */
export const RESERVED_HEADER_PREFIX = 'handoff-upload-';

/**
 * Whether a client's header name is one only the sidecar sets: `handoff_upload_fields` too,
 * since CGI-style servers (PHP, Rack, WSGI) map `-` and `_` to the same `HTTP_HANDOFF_UPLOAD_FIELDS`.
 */
export function isReservedHeader(name: string): boolean {
  return name.toLowerCase().replace(/_/g, '-').startsWith(RESERVED_HEADER_PREFIX);
}

export type Fields = Array<[string, string]>;

/**
 * Whether a client's field name is one only the sidecar may set, in the bracket forms
 * frameworks (Rails, PHP, qs) parse into the same key too: `doc[path]` as `doc.path`, and
 * `[]` (an array of them) ignored, so `doc.path[]` and `doc[path][]` are `doc.path`.
 * `_` is not read as `.`: that would drop fields like `page_size`.
 */
export function isSignedFieldName(name: string): boolean {
  const plain = name.replace(/\[\]/g, '').replace(/\[([^\]]*)\]/g, '.$1');
  const dot = plain.lastIndexOf('.');
  return dot > 0 && (SIGNED_SUFFIXES as readonly string[]).includes(plain.slice(dot + 1));
}

/** The signed fields of one file, in a fixed order. */
export function fileFields(file: UploadedFile): Fields {
  const prefix = file.field ?? 'file';
  const fields: Fields = [
    [`${prefix}.name`, file.name],
    [`${prefix}.size`, String(file.size)],
    [`${prefix}.sha256`, file.sha256],
    [`${prefix}.md5`, file.md5],
    [`${prefix}.content_type`, file.contentType],
  ];
  if (file.path !== undefined) fields.push([`${prefix}.path`, file.path]);
  if (file.remoteUrl !== undefined) fields.push([`${prefix}.remote_url`, file.remoteUrl]);
  if (file.remoteId !== undefined) fields.push([`${prefix}.remote_id`, file.remoteId]);
  return fields;
}

/** The signed fields as the JWT's `fields` claim: a repeated name (two files in `files[]`) gives an array. */
export function fieldsClaim(fields: Fields): Record<string, string | string[]> {
  const claim: Record<string, string | string[]> = {};
  for (const [name, value] of fields) {
    const prior = claim[name];
    claim[name] = prior === undefined ? value : Array.isArray(prior) ? [...prior, value] : [prior, value];
  }
  return claim;
}

/** The client's non-file fields, minus any that imitates a signed field. */
export function clientFields(upload: ReceivedUpload): Fields {
  const out: Fields = [];
  for (const [name, value] of Object.entries(upload.fields)) {
    if (isSignedFieldName(name)) continue;
    for (const v of Array.isArray(value) ? value : [value]) out.push([name, v]);
  }
  return out;
}

/** `application/x-www-form-urlencoded`. */
export function urlEncoded(fields: Fields): { body: Buffer; contentType: string } {
  return { body: Buffer.from(new URLSearchParams(fields).toString()), contentType: 'application/x-www-form-urlencoded' };
}

/** `multipart/form-data`, every part a plain field (RFC 7578: names quoted, `"` and CR/LF escaped). */
export function multipartForm(fields: Fields): { body: Buffer; contentType: string } {
  const boundary = `handoff-${randomBytes(12).toString('hex')}`;
  const escape = (name: string) => name.replace(/"/g, '%22').replace(/\r/g, '%0D').replace(/\n/g, '%0A');
  const parts = fields.map(([name, value]) => `--${boundary}\r\ncontent-disposition: form-data; name="${escape(name)}"\r\n\r\n${value}\r\n`);
  return { body: Buffer.from(`${parts.join('')}--${boundary}--\r\n`), contentType: `multipart/form-data; boundary=${boundary}` };
}
